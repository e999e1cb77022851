import { z } from 'zod';
import { InvalidParams } from '../errors.ts';
import { defineMethod, noParams } from '../rpc/registry.ts';

export const stateMethods = [
  defineMethod({
    name: 'state.get',
    description:
      'The whole public state document (server, packages, notifications, metrics) with its revision number.',
    access: 'read',
    params: noParams,
    result: z.object({ revision: z.number(), state: z.unknown() }),
    handler: (_, ctx) => ctx.services.state.snapshot(),
  }),
  defineMethod({
    name: 'state.subscribe',
    description:
      'Over the WebSocket /ws: follow the state document. Give `since` (the revision you have) to resume; you ' +
      'get the missed RFC 6902 patches in order, or a full dump if you are too far behind, then every change ' +
      'as a `stream.data` notification carrying {kind: "patch", revision, patch} or {kind: "dump", revision, state}.',
    access: 'read',
    params: z.object({ since: z.number().int().nonnegative().optional() }).strict(),
    result: z.object({ stream: z.string(), revision: z.number() }),
    handler: ({ since }, ctx) => {
      if (!ctx.openStream) throw new InvalidParams('state.subscribe needs the WebSocket /ws');
      const stream = ctx.openStream();
      // The catch-up goes out right after this call's answer: /ws holds a new stream's data until then.
      const unsubscribe = ctx.services.state.subscribe(since, (m) => stream.send(m));
      stream.signal.addEventListener('abort', unsubscribe, { once: true });
      return { stream: stream.id, revision: ctx.services.state.revision };
    },
  }),
  defineMethod({
    name: 'stream.cancel',
    description:
      'Over the WebSocket /ws: stop a stream this connection opened (a log follow, a state subscription).',
    access: 'public',
    annotations: { readOnly: false, idempotent: true },
    params: z.object({ stream: z.string().max(64) }).strict(),
    result: z.object({ ok: z.literal(true) }),
    handler: ({ stream }, ctx) => {
      if (!ctx.cancelStream) throw new InvalidParams('streams exist only on the WebSocket /ws');
      ctx.cancelStream(stream);
      return { ok: true as const };
    },
  }),
];
