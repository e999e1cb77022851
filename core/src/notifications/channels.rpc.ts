import { z } from 'zod';
import { defineMethod, secret } from '../rpc/registry.ts';

const level = z.enum(['info', 'success', 'warning', 'error']);

const lastError = z.object({ at: z.number(), message: z.string() }).nullable();
const common = {
  id: z.number(),
  name: z.string(),
  minLevel: level,
  createdAt: z.number(),
  lastDeliveredAt: z.number().nullable(),
  lastError,
};
const channel = z.discriminatedUnion('kind', [
  z.object({
    ...common,
    kind: z.literal('email'),
    server: z.string(),
    port: z.number(),
    security: z.enum(['starttls', 'tls', 'plain']),
    username: z.string().nullable(),
    from: z.string(),
    to: z.array(z.string()),
    passwordSet: z.boolean(),
  }),
  z.object({ ...common, kind: z.literal('webhook'), url: z.string(), accessTokenSet: z.boolean() }),
]);

export const channelMethods = [
  defineMethod({
    name: 'notification.channel.list',
    description:
      'List where notifications go besides the box: each mail or webhook channel with its settings (never its ' +
      'password or access token, only whether one is set), the least level it gets, when it last delivered and its last ' +
      'error.',
    access: 'admin',
    params: z.object({}).strict(),
    result: z.array(channel),
    handler: (_, ctx) => ctx.services.notificationChannels.list(),
  }),
  defineMethod({
    name: 'notification.channel.add',
    description:
      'Send notifications off the box: by mail (kind email: server, from, to; security starttls on 587 by default, ' +
      'tls on 465, or plain for a relay on your network; username and password to log in, only over TLS) or to a ' +
      'webhook (kind webhook: url, optional accessToken sent as a bearer token). A webhook gets a POST with the message ' +
      'as the body and Title, Priority and Tags headers, which ntfy (ntfy.sh or your own) takes as it is. Only ' +
      'notifications at or above minLevel go out (default warning: info and success stay on the box). Use ' +
      'notification.channel.test to check it.',
    access: 'admin',
    annotations: { readOnly: false },
    params: z
      .object({
        kind: z.enum(['email', 'webhook']),
        name: z
          .string()
          .trim()
          .min(1)
          .max(100)
          .optional()
          .describe('what to call it; default from where it sends'),
        minLevel: level.default('warning'),
        server: z
          .string()
          .trim()
          .min(1)
          .max(253)
          .optional()
          .describe('email: the mail server’s name or address'),
        port: z
          .number()
          .int()
          .min(1)
          .max(65535)
          .optional()
          .describe('email: default 587, 465 with tls, 25 with plain'),
        security: z.enum(['starttls', 'tls', 'plain']).optional().describe('email: default starttls'),
        username: z.string().min(1).max(256).optional().describe('email: to log in to the mail server'),
        password: secret(z.string().min(1).max(1024)).optional().describe('email: with username'),
        from: z.string().trim().max(254).optional().describe('email: the sender address'),
        to: z
          .array(z.string().trim().max(254))
          .min(1)
          .max(10)
          .optional()
          .describe('email: who gets the mail'),
        url: z
          .string()
          .trim()
          .max(2048)
          .optional()
          .describe('webhook: http or https, e.g. https://ntfy.sh/<topic>'),
        accessToken: secret(z.string().min(1).max(1024))
          .optional()
          .describe('webhook: sent as Authorization: Bearer'),
      })
      .strict(),
    result: channel,
    handler: (p, ctx) => ctx.services.notificationChannels.add(p),
  }),
  defineMethod({
    name: 'notification.channel.remove',
    description: 'Stop sending notifications to a channel and forget it (and its password or access token).',
    access: 'admin',
    annotations: { destructive: true, idempotent: true },
    params: z.object({ id: z.number().int() }).strict(),
    result: z.object({ ok: z.literal(true) }),
    handler: ({ id }, ctx) => {
      ctx.services.notificationChannels.remove(id);
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'notification.channel.test',
    description:
      'Send a test notification to a channel now, whatever its level, and answer what happened: delivered or ' +
      'not, what the other side said (or why it failed, with a code such as smtp_rejected, webhook_rejected, ' +
      'tls_failed, send_timeout, destination_refused) and how long it took.',
    access: 'admin',
    annotations: { readOnly: false, openWorld: true },
    params: z.object({ id: z.number().int() }).strict(),
    result: z.object({
      delivered: z.boolean(),
      detail: z.string(),
      code: z.string().optional(),
      ms: z.number(),
    }),
    handler: ({ id }, ctx) => ctx.services.notificationChannels.test(id),
  }),
];
