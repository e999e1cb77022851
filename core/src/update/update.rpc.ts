import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';

const phase = z.enum(['idle', 'downloading', 'verifying', 'writing', 'written', 'trial']);
const status = z.object({
  supported: z.boolean().meta({ description: 'false on a system without A/B slots (a development machine)' }),
  version: z.string().meta({ description: 'the Hearth version running now' }),
  slot: z.enum(['A', 'B']).nullable().meta({ description: 'the root slot this boot runs from' }),
  phase: phase.meta({
    description:
      'idle; downloading, verifying, writing (an apply under way); written; trial (set, waiting for the restart, or on its trial boot)',
  }),
  applying: z.string().nullable(),
  available: z.object({ version: z.string(), size: z.number(), notes: z.string() }).nullable(),
  checkedAt: z.number().nullable(),
  checkError: z.string().nullable(),
  last: z
    .object({
      outcome: z.enum(['updated', 'fell-back', 'failed']),
      version: z.string().nullable(),
      error: z.string().nullable(),
      at: z.number(),
    })
    .nullable()
    .meta({
      description: 'the last apply’s outcome: updated, fell back to the old version (and why), or failed',
    }),
});

export const updateMethods = [
  defineMethod({
    name: 'server.update.status',
    description:
      'The OS update: the version and slot running, an update the feed offers (with its notes), an apply under way ' +
      'and the outcome of the last one — updated, or fell back to the previous version after a failed start, and why.',
    access: 'read',
    params: z.object({}).strict(),
    result: status,
    handler: (_, ctx) => ctx.services.update.status(),
  }),
  defineMethod({
    name: 'server.update.check',
    description:
      'Read the update feed now (its signature checked against the trusted keys). A version newer than the one ' +
      'running becomes `available` and a notification.',
    access: 'admin',
    annotations: { readOnly: false, idempotent: true, openWorld: true },
    params: z.object({}).strict(),
    result: status,
    handler: (_, ctx) => ctx.services.update.check(),
  }),
  defineMethod({
    name: 'server.update.apply',
    description:
      'Update Hearth itself: from the feed (the newest, or the version named by `release`), an upload (POST /upload, then upload) or a ' +
      'bundle file on the box (path). The bundle’s signature, its platform, its version (older only with ' +
      '`allowDowngrade`) and every block are checked before the idle slot is written; then the slot is set to be ' +
      'tried at the next start. With `reboot: true` the box restarts into it right away; otherwise at the next ' +
      'restart (server.update.reboot). If the new version does not start properly the box goes back to this one ' +
      'by itself. Progress over the WebSocket: download, verify, write, prepare-boot.',
    access: 'admin',
    annotations: { readOnly: false, destructive: true, openWorld: true },
    params: z
      .object({
        release: z
          .string()
          .max(64)
          .optional()
          .meta({ description: 'the version to apply from the feed (the CLI keeps --version for itself)' }),
        upload: z.string().max(100).optional(),
        path: z.string().min(1).max(4096).optional(),
        allowDowngrade: z.boolean().default(false),
        reboot: z.boolean().default(false),
      })
      .strict()
      .refine((p) => [p.upload, p.path, p.release].filter((x) => x !== undefined).length <= 1, {
        message: 'give at most one of release (from the feed), upload or path',
      }),
    result: status,
    handler: (p, ctx) =>
      ctx.services.update.apply(
        p.upload !== undefined
          ? { upload: p.upload }
          : p.path !== undefined
            ? { path: p.path }
            : { feed: true, ...(p.release !== undefined ? { version: p.release } : {}) },
        { allowDowngrade: p.allowDowngrade, reboot: p.reboot, progress: ctx.progress },
      ),
  }),
  defineMethod({
    name: 'server.update.reboot',
    description: 'Restart now into the update that was applied and waits for a restart (its trial boot).',
    access: 'admin',
    annotations: { readOnly: false, destructive: true },
    params: z.object({}).strict(),
    result: status,
    handler: (_, ctx) => ctx.services.update.reboot(),
  }),
];
