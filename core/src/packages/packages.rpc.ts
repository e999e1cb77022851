import { z } from 'zod';
import { boxPath, defineMethod, streamTo } from '../rpc/registry.ts';

const id = z.string().regex(/^[a-z][a-z0-9-]{1,62}$/, 'a package id: lower-case letters, digits and dashes');
const byId = z.object({ id }).strict();

const summary = z.object({
  id: z.string(),
  version: z.string(),
  title: z.string(),
  status: z.string(),
  desired: z.enum(['running', 'stopped']),
  address: z.string(),
  signer: z.string().nullable(),
  installedAt: z.number(),
});

export const packageMethods = [
  defineMethod({
    name: 'package.list',
    description:
      'The installed service packages: id, version, title, status (running, stopped, starting, installing, …), ' +
      'what it should be doing (desired), its address on the box’s network, who signed it.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.array(summary),
    handler: (_, ctx) => ctx.services.packages.summaries(),
  }),
  defineMethod({
    name: 'package.get',
    description:
      'One installed package in full: its summary, its manifest (interfaces, volumes, actions…) and health.',
    access: 'read',
    params: byId,
    result: summary.extend({ manifest: z.unknown(), health: z.unknown() }),
    handler: ({ id }, ctx) => ctx.services.packages.details(id),
  }),
  defineMethod({
    name: 'package.install',
    description:
      'Install a service package (.hpk) from a file on the box. Its signature and every member are checked ' +
      'before anything is unpacked; a package from a signer the box does not trust needs `allowUntrusted: true` ' +
      '(recorded in the audit log). Dependencies must be installed first. Starts it unless `start: false`.',
    access: 'admin',
    annotations: { readOnly: false },
    params: z
      .object({
        path: boxPath('the .hpk file on the box'),
        allowUntrusted: z.boolean().default(false),
        start: z.boolean().default(true),
      })
      .strict(),
    result: summary,
    handler: async (p, ctx) =>
      ctx.services.packages.summaryOf(await ctx.services.packages.install(p.path, p)),
  }),
  defineMethod({
    name: 'package.update',
    description:
      'Update an installed package to the version in a .hpk file on the box. Its volumes are snapshotted first; ' +
      'if the new version fails to start or its migration fails, the package goes back to the old version with ' +
      'the old data, and the error says why.',
    access: 'admin',
    annotations: { readOnly: false },
    params: z
      .object({
        path: boxPath('the .hpk file of the new version, on the box'),
        allowUntrusted: z.boolean().default(false),
      })
      .strict(),
    result: summary,
    handler: async (p, ctx) => ctx.services.packages.summaryOf(await ctx.services.packages.update(p.path, p)),
  }),
  defineMethod({
    name: 'package.start',
    description: 'Start a package (it then stays running, and is restarted if it crashes).',
    access: 'operate',
    annotations: { readOnly: false, idempotent: true },
    params: byId,
    result: summary,
    handler: async ({ id }, ctx) =>
      ctx.services.packages.summaryOf(await ctx.services.packages.setDesired(id, 'running')),
  }),
  defineMethod({
    name: 'package.stop',
    description: 'Stop a package (it then stays stopped until started, also across reboots).',
    access: 'operate',
    annotations: { readOnly: false, idempotent: true },
    params: byId,
    result: summary,
    handler: async ({ id }, ctx) =>
      ctx.services.packages.summaryOf(await ctx.services.packages.setDesired(id, 'stopped')),
  }),
  defineMethod({
    name: 'package.restart',
    description: 'Stop a package’s container and start it again.',
    access: 'operate',
    annotations: { readOnly: false },
    params: byId,
    result: summary,
    handler: async ({ id }, ctx) => ctx.services.packages.summaryOf(await ctx.services.packages.restart(id)),
  }),
  defineMethod({
    name: 'package.uninstall',
    description:
      'Remove a package: its container and files, and its data unless `keepData: true` (then reinstalling it ' +
      'finds the data again). A package others depend on needs `force: true`.',
    access: 'admin',
    annotations: { destructive: true },
    params: z
      .object({ id, keepData: z.boolean().default(false), force: z.boolean().default(false) })
      .strict(),
    result: z.object({ ok: z.literal(true) }),
    handler: async ({ id, ...o }, ctx) => {
      await ctx.services.packages.uninstall(id, o);
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'package.logs',
    description:
      'The last lines a package printed: its runtime’s messages and its daemons’ output. With `follow: true` ' +
      '— over the WebSocket /ws only — new lines keep arriving as `stream.data` notifications.',
    access: 'read',
    params: z
      .object({
        id,
        lines: z.number().int().min(1).max(10_000).default(100),
        follow: z.boolean().default(false),
      })
      .strict(),
    result: z.object({
      lines: z.array(z.string()),
      stream: z.string().optional().describe('with follow: the id of the stream that carries new lines'),
    }),
    handler: async ({ id, lines, follow }, ctx) => ({
      lines: await ctx.services.packages.logs(id, lines),
      ...(follow ? { stream: streamTo(ctx, (signal) => ctx.services.packages.followLogs(id, signal)) } : {}),
    }),
  }),
  defineMethod({
    name: 'package.stats',
    description:
      'What a package uses: CPU time, memory (and its limit), and disk space of its files and data.',
    access: 'read',
    params: byId,
    result: z.object({
      running: z.boolean(),
      cpuSeconds: z.number().nullable(),
      memoryBytes: z.number().nullable(),
      memoryLimitBytes: z.number().nullable(),
      diskBytes: z.number(),
    }),
    handler: ({ id }, ctx) => ctx.services.packages.stats(id),
  }),
  defineMethod({
    name: 'package.action.run',
    description:
      'Run one of a package’s actions (package.get lists them with their input schema), for example setting a ' +
      'password. Returns what the action answered.',
    access: 'operate',
    annotations: { readOnly: false },
    params: z.object({ id, action: z.string().min(1).max(64), input: z.unknown().optional() }).strict(),
    result: z.object({ result: z.unknown() }),
    handler: async (p, ctx) => ({
      result: await ctx.services.packages.runAction(p.id, p.action, p.input ?? {}),
    }),
  }),
];
