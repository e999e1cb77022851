import { z } from 'zod';
import { defineMethod, noParams, secret } from '../rpc/registry.ts';

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
      'Whether this box has been set up yet, its hostname and Hearth version. Answers anyone, always.',
    access: 'public',
    params: noParams,
    result: z.object({ setupComplete: z.boolean(), hostname: z.string(), version: z.string() }),
    handler: (_, ctx) => ctx.services.setup.status(),
  }),
  defineMethod({
    name: 'setup.execute',
    description:
      'Finish the first-run setup: name the box (it becomes <hostname>.local) and set the owner’s password ' +
      '(at least 12 characters). Only works once, while the box is in setup mode; starts a login session.',
    access: 'setup',
    annotations: { readOnly: false },
    params: z
      .object({
        hostname: hostnameSchema,
        password: secret(z.string().min(1).max(1024)),
      })
      .strict(),
    result: z.object({ sessionId: z.string(), token: secret(z.string()), expiresAt: z.number() }),
    handler: async (p, ctx) => {
      const s = await ctx.services.setup.execute(p, ctx);
      ctx.sessionCookie?.set(s.token, s.expiresAt);
      return { sessionId: s.id, token: s.token, expiresAt: s.expiresAt };
    },
  }),
];
