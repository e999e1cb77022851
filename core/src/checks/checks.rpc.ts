import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';

export const finding = z.object({
  check: z.string(),
  subject: z.string().nullable(),
  package: z.string().optional(),
  severity: z.enum(['warning', 'error']),
  message: z.string(),
  hint: z.string().optional(),
  fixup: z.string().optional(),
  since: z.number(),
});

const checkResult = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['ok', 'failing', 'unknown', 'not-run']),
  reason: z.string().optional(),
  lastRun: z.number().nullable(),
  findings: z.array(finding),
  fixups: z.array(z.object({ id: z.string(), title: z.string() })),
});

const name = z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/);

export const checkMethods = [
  defineMethod({
    name: 'server.check.list',
    description:
      'The box’s checks (free space, the data drive, packages that keep crashing, the clock…): how each did ' +
      'when it last ran, what it found in plain words, and the fixups that may repair it.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.array(checkResult),
    handler: (_, ctx) => ctx.services.checks.list(),
  }),
  defineMethod({
    name: 'server.check.run',
    description: 'Run the checks now (or the one named) and answer how they did.',
    access: 'operate',
    annotations: { readOnly: false, idempotent: true },
    params: z.object({ id: name.optional() }).strict(),
    result: z.array(checkResult),
    handler: ({ id }, ctx) => ctx.services.checks.run(id),
  }),
  defineMethod({
    name: 'server.fixup.run',
    description:
      'Run the fixup a finding offers (server.check.list names it), for that finding’s subject, then run its ' +
      'check again. Answers what the fixup did and how the check does now.',
    access: 'operate',
    annotations: { readOnly: false },
    params: z
      .object({
        fixup: name,
        subject: z.string().max(128).nullable().default(null).meta({ description: 'the finding’s subject' }),
      })
      .strict(),
    result: z.object({ did: z.string(), check: checkResult }),
    handler: ({ fixup, subject }, ctx) => ctx.services.checks.fix(fixup, subject),
  }),
] as const;
