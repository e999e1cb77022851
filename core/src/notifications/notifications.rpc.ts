import { z } from 'zod';
import { type CallContext, defineMethod } from '../rpc/registry.ts';

/** Who left a notification: the token's name, or the kind of caller. */
const sourceOf = (ctx: CallContext): string =>
  ctx.caller.kind === 'token' ? `token:${ctx.caller.name}` : ctx.caller.kind;

const notification = z.object({
  id: z.number(),
  at: z.number(),
  level: z.enum(['info', 'success', 'warning', 'error']),
  title: z.string(),
  message: z.string(),
  source: z.string(),
  seen: z.boolean(),
});

export const notificationMethods = [
  defineMethod({
    name: 'notification.list',
    description: 'List notifications, newest first: what happened on the box that the owner should know.',
    access: 'read',
    params: z
      .object({
        unseenOnly: z.boolean().default(false),
        limit: z.number().int().min(1).max(1000).default(100),
      })
      .strict(),
    result: z.array(notification),
    handler: (p, ctx) => ctx.services.notifications.list(p),
  }),
  defineMethod({
    name: 'notification.create',
    description:
      'Leave a notification for the owner, for example from a script or an agent that finished a job. It shows ' +
      'in the web UI and in the state document.',
    access: 'operate',
    annotations: { readOnly: false },
    params: z
      .object({
        level: z.enum(['info', 'success', 'warning', 'error']).default('info'),
        title: z.string().trim().min(1).max(200),
        message: z.string().max(4000).default(''),
      })
      .strict(),
    result: notification,
    handler: (p, ctx) => ctx.services.notifications.create({ ...p, source: sourceOf(ctx) }),
  }),
  defineMethod({
    name: 'notification.mark-seen',
    description: 'Mark notifications as seen: give their ids, or `all: true`.',
    access: 'operate',
    annotations: { idempotent: true },
    params: z
      .object({
        ids: z.array(z.number().int()).max(1000).optional(),
        all: z.boolean().optional(),
      })
      .strict()
      .refine((p) => (p.ids === undefined) !== (p.all !== true), { message: 'give either ids or all: true' }),
    result: z.object({ changed: z.number() }),
    handler: (p, ctx) => ({ changed: ctx.services.notifications.markSeen(p.all ? 'all' : (p.ids ?? [])) }),
  }),
  defineMethod({
    name: 'notification.remove',
    description: 'Delete one notification by id.',
    access: 'operate',
    annotations: { destructive: true, idempotent: true },
    params: z.object({ id: z.number().int() }).strict(),
    result: z.object({ ok: z.literal(true) }),
    handler: ({ id }, ctx) => {
      ctx.services.notifications.remove(id);
      return { ok: true as const };
    },
  }),
];
