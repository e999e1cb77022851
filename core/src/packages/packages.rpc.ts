import { z } from 'zod';
import { boxPath, type CallContext, defineMethod, streamTo } from '../rpc/registry.ts';

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

/**
 * Where a .hpk comes from: exactly one of a path on the box, an upload (`POST /upload`)
 * or a URL the box downloads it from (with an optional SHA-256 to check).
 */
const packageFile = {
  path: boxPath('the .hpk file on the box (the CLI uploads a local file when it talks to another box)', {
    uploadAs: 'upload',
  }).optional(),
  upload: z
    .string()
    .max(100)
    .optional()
    .meta({ description: 'the id POST /upload answered with; an upload is used once' }),
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// address' })
    .max(4096)
    .optional()
    .meta({ description: 'an http(s) address the box downloads the .hpk from' }),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'a SHA-256: 64 hex digits')
    .optional()
    .meta({ description: 'with url: the expected SHA-256 of the file; a download that differs is refused' }),
  allowUntrusted: z.boolean().default(false),
};

function oneSource(
  p: {
    path?: string | undefined;
    upload?: string | undefined;
    url?: string | undefined;
    sha256?: string | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const given = (['path', 'upload', 'url'] as const).filter((k) => p[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        given.length === 0
          ? 'say where the package is: path, upload or url'
          : `give only one of ${given.join(', ')}`,
    });
  }
  if (p.sha256 !== undefined && p.url === undefined) {
    ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'sha256 goes with url' });
  }
}

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
      'Install a service package (.hpk) from a file on the box (path), an upload (POST /upload, then upload) ' +
      'or an http(s) address (url). Its signature and every member are checked before anything is unpacked; ' +
      'a package from a signer the box does not trust needs `allowUntrusted: true` (recorded in the audit ' +
      'log). Dependencies must be installed first. Starts it unless `start: false`. Over the WebSocket the ' +
      'call reports its progress (download, verify, unpack, start).',
    access: 'admin',
    annotations: { readOnly: false, openWorld: true },
    params: z
      .object({
        ...packageFile,
        start: z.boolean().default(true),
      })
      .strict()
      .superRefine(oneSource),
    result: summary,
    handler: (p, ctx) =>
      withPackageFile(p, ctx, async (file) =>
        ctx.services.packages.summaryOf(
          await ctx.services.packages.install(file, { ...p, progress: ctx.progress }),
        ),
      ),
  }),
  defineMethod({
    name: 'package.update',
    description:
      'Update an installed package to the version in a .hpk file (path on the box, upload or url, as for ' +
      'package.install). Its volumes are snapshotted first; if the new version fails to start or its ' +
      'migration fails, the package goes back to the old version with the old data, and the error says why.',
    access: 'admin',
    annotations: { readOnly: false, openWorld: true },
    params: z.object(packageFile).strict().superRefine(oneSource),
    result: summary,
    handler: (p, ctx) =>
      withPackageFile(p, ctx, async (file) =>
        ctx.services.packages.summaryOf(
          await ctx.services.packages.update(file, { ...p, progress: ctx.progress }),
        ),
      ),
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
      lines: await ctx.services.packages.views.logs(id, lines),
      ...(follow
        ? { stream: streamTo(ctx, (signal) => ctx.services.packages.views.followLogs(id, signal)) }
        : {}),
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
    handler: ({ id }, ctx) => ctx.services.packages.views.stats(id),
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
    // The input's secret fields, as the package declared them, stay out of the audit log.
    dynamicSchemas: (p, services) => {
      const schema = services.packages.actionInputSchema(p['id'], p['action']);
      return schema ? { input: schema } : undefined;
    },
    handler: async (p, ctx) => ({
      result: await ctx.services.packages.runAction(p.id, p.action, p.input ?? {}),
    }),
  }),
];

/** Runs `use` on the package file the params name; an upload or a download is deleted after. */
async function withPackageFile<T>(
  p: {
    path?: string | undefined;
    upload?: string | undefined;
    url?: string | undefined;
    sha256?: string | undefined;
  },
  ctx: CallContext,
  use: (file: string) => Promise<T>,
): Promise<T> {
  const source =
    p.path !== undefined
      ? { path: p.path }
      : p.upload !== undefined
        ? { upload: p.upload }
        : { url: p.url!, sha256: p.sha256 };
  const { file, release } = await ctx.services.uploads.open(source, ctx.progress);
  try {
    return await use(file);
  } finally {
    await release();
  }
}
