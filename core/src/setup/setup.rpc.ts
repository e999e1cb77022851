import { z } from 'zod';
import { newPasswordSchema } from '../auth/passwords.ts';
import { type CallContext, defineMethod, noParams, secret } from '../rpc/registry.ts';

export const hostnameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    message: 'a hostname is 1–63 letters, digits and inner hyphens, like "hearth" or "home-server"',
  });

export const setupMethods = [
  defineMethod({
    name: 'setup.status',
    description:
      'Whether this box has been set up yet, its hostname and Hearth version. Answers anyone, always — also in ' +
      'limited mode (the data drive missing or unreadable), when `limited` says what is wrong and what to do.',
    access: 'public',
    params: noParams,
    result: z.object({
      setupComplete: z.boolean(),
      hostname: z.string(),
      version: z.string(),
      limited: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
    }),
    handler: (_, ctx) => ctx.services.setup.status(),
  }),
  defineMethod({
    name: 'setup.execute',
    description:
      'Finish the first-run setup: name the box (it becomes <hostname>.local) and set the owner’s password ' +
      '(at least 12 characters). With dataDrive (a path from disk.list) the box keeps its data on that drive: ' +
      'it is partitioned and formatted (erase: true is needed when it holds anything), or, with attach: true, ' +
      'the Hearth data already on it becomes this box’s; the state moves onto it and the daemon starts again ' +
      'in place, keeping this session. Choosing the boot disk uses the image’s own data partition. Progress ' +
      'over /ws: partition, format, check, mount, copy, finish, switch. Only works once, while the box is in ' +
      'setup mode; starts a login session.',
    access: 'setup',
    annotations: { readOnly: false, destructive: true },
    params: z
      .object({
        hostname: hostnameSchema,
        password: newPasswordSchema(),
        dataDrive: z
          .string()
          .min(1)
          .max(4096)
          .optional()
          .meta({ description: 'the drive to keep the data on, as disk.list names it (/dev/sda)' }),
        erase: z
          .boolean()
          .optional()
          .meta({ description: 'yes, erase everything on dataDrive (needed when it is not empty)' }),
        attach: z
          .boolean()
          .optional()
          .meta({ description: 'use the Hearth data already on dataDrive instead of erasing it' }),
      })
      .strict(),
    result: z.object({ sessionId: z.string(), token: secret(z.string()), expiresAt: z.number() }),
    handler: async (p, ctx) => {
      const s = await ctx.services.setup.execute(p, ctx);
      ctx.sessionCookie?.set(s.token, s.expiresAt);
      return { sessionId: s.id, token: s.token, expiresAt: s.expiresAt };
    },
  }),
  defineMethod({
    name: 'server.reset',
    description:
      'Factory reset: erase everything Hearth keeps — the owner’s password and second factor, sessions, API ' +
      'tokens, every package with all its data, the audit log, notifications, settings — and start again in ' +
      'setup mode. The operating system stays; a data drive stays the box’s, emptied. Cannot be undone: call ' +
      'with dryRun: true first to see what would be erased. The daemon starts again right after answering.',
    access: 'admin',
    annotations: { destructive: true },
    params: z
      .object({
        dryRun: z
          .boolean()
          .describe('true: only say what would be erased and kept; false: erase (there is no default)'),
      })
      .strict(),
    result: z.object({
      erases: z.array(z.string()),
      keeps: z.array(z.string()),
      packages: z.array(z.object({ id: z.string(), title: z.string() })),
      done: z.boolean().describe('false for a dry run; true when the box is starting again in setup mode'),
    }),
    handler: async ({ dryRun }, ctx) => ({
      ...(dryRun
        ? await ctx.services.setup.resetPlan()
        : await ctx.services.setup.factoryReset(describeCaller(ctx))),
      done: !dryRun,
    }),
  }),
];

/** Who asked, for the log: the caller and where from. */
const describeCaller = (ctx: CallContext): string =>
  `${ctx.caller.kind}${ctx.caller.kind === 'token' ? ` '${ctx.caller.name}'` : ''} from ${ctx.address} over ${ctx.surface}`;
