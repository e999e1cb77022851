import { z } from 'zod';
import { defineMethod, secret } from '../rpc/registry.ts';

const targetId = z
  .string()
  .regex(/^[0-9a-f]{8}$/)
  .meta({ description: 'the target’s id (backup.target.list)' });
const packageId = z.string().regex(/^[a-z][a-z0-9-]{1,62}$/);

const target = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['local', 'usb']),
  path: z.string().nullable(),
  uuid: z.string().nullable(),
  subdir: z.string().nullable(),
  ready: z.boolean(),
  lastBackupAt: z.number().nullable(),
  lastError: z.string().nullable(),
});

const runView = z.object({
  run: z.number(),
  phase: z.enum(['done', 'failed']),
  snapshots: z.array(
    z.object({
      of: z.string(),
      snapshot: z.string(),
      filesNew: z.number(),
      bytesAdded: z.number(),
      totalBytes: z.number(),
    }),
  ),
  failures: z.array(z.object({ of: z.string(), error: z.string() })),
});

export const backupMethods = [
  defineMethod({
    name: 'backup.target.list',
    description:
      'Where backups go: each target (a directory, or a USB disk by its filesystem UUID), its last backup and last error.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.array(target),
    handler: (_, ctx) => ctx.services.backup.listTargets(),
  }),
  defineMethod({
    name: 'backup.target.add',
    description:
      'Add a backup target and make its restic repository, encrypted with the box’s backup key (made at the first ' +
      'target; backup.kit shows it). path: a directory off the data drive. usb: a USB disk’s ext4 filesystem by UUID ' +
      '(disk.list shows them), mounted only while a backup uses it, with the directory on it (default hearth-backup).',
    access: 'admin',
    annotations: { readOnly: false },
    params: z
      .object({
        name: z.string().min(1).max(64),
        path: z.string().min(1).max(1024).optional(),
        usb: z
          .object({ uuid: z.string().min(4).max(64), subdir: z.string().min(1).max(512).optional() })
          .strict()
          .optional(),
      })
      .strict(),
    result: target,
    handler: (p, ctx) => ctx.services.backup.addTarget(p),
  }),
  defineMethod({
    name: 'backup.target.test',
    description:
      'Try a target now: ok with its free space, or what is wrong in plain words — not plugged in, unreachable, ' +
      'wrong key, no repository, no space, read-only.',
    access: 'read',
    annotations: { readOnly: true },
    params: z.object({ id: targetId }).strict(),
    result: z.union([
      z.object({ ok: z.literal(true), freeBytes: z.number() }),
      z.object({ ok: z.literal(false), code: z.string(), message: z.string(), hint: z.string().optional() }),
    ]),
    handler: ({ id }, ctx) => ctx.services.backup.testTarget(id),
  }),
  defineMethod({
    name: 'backup.target.remove',
    description: 'Forget a target. The backups on it stay where they are (the emergency kit opens them).',
    access: 'admin',
    annotations: { destructive: true },
    params: z.object({ id: targetId }).strict(),
    result: z.object({}),
    handler: ({ id }, ctx) => {
      ctx.services.backup.removeTarget(id);
      return {};
    },
  }),
  defineMethod({
    name: 'backup.kit',
    description:
      'The emergency kit: the backup key, the targets, and how to restore with plain restic if the box is gone. ' +
      'Keep it away from the box.',
    access: 'admin',
    annotations: { readOnly: true },
    params: z.object({}).strict(),
    result: z.object({
      key: secret(z.string()),
      targets: z.array(z.object({ name: z.string(), repository: z.string() })),
      instructions: z.string(),
    }),
    handler: (_, ctx) => ctx.services.backup.kit(),
  }),
  defineMethod({
    name: 'backup.run',
    description:
      'Back up now, to one target: the chosen packages (each one’s volumes taken consistently — its backup hook, or ' +
      'frozen for the copy — its package and its settings) and/or the box’s own state (the database, by SQLite’s ' +
      'online backup). One backup at a time; the call reports progress and answers with the snapshots made.',
    access: 'admin',
    annotations: { readOnly: false },
    params: z
      .object({
        target: targetId,
        packages: z.array(packageId).max(100).default([]),
        box: z.boolean().default(false),
      })
      .strict(),
    result: runView,
    handler: (p, ctx) =>
      ctx.services.backup.run({ ...p, ...(ctx.progress ? { progress: ctx.progress } : {}) }),
  }),
  defineMethod({
    name: 'backup.snapshot.list',
    description: 'The snapshots on a target made by this box, newest first; of one package if asked.',
    access: 'read',
    annotations: { readOnly: true },
    params: z.object({ target: targetId, package: packageId.optional() }).strict(),
    result: z.array(
      z.object({
        id: z.string(),
        shortId: z.string(),
        time: z.string(),
        package: z.string().nullable(),
        version: z.string().nullable(),
        box: z.boolean(),
      }),
    ),
    handler: (p, ctx) => ctx.services.backup.snapshots(p),
  }),
  defineMethod({
    name: 'backup.restore',
    description:
      'Put one package’s data back as it was in a snapshot. The package stops, its current data is set aside, the ' +
      'snapshot’s goes in, and it starts; once it is healthy the old data is removed — if it does not turn healthy, ' +
      'the old data comes back.',
    access: 'admin',
    annotations: { destructive: true },
    params: z
      .object({
        target: targetId,
        package: packageId,
        snapshot: z
          .string()
          .regex(/^[0-9a-f]{8,64}$/)
          .meta({ description: 'a snapshot id or its first 8+ hex digits' }),
      })
      .strict(),
    result: runView,
    handler: (p, ctx) =>
      ctx.services.backup.restore({ ...p, ...(ctx.progress ? { progress: ctx.progress } : {}) }),
  }),
];
