import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';
import { EVENT_KINDS } from './events.ts';

export const event = z.object({
  id: z.number(),
  at: z.number(),
  package: z.string().nullable(),
  kind: z.enum(EVENT_KINDS),
  detail: z.record(z.string(), z.json()),
});

export const eventMethods = [
  defineMethod({
    name: 'event.list',
    description:
      'What happened, newest first: operations on packages and how they ended, crashes, health checks ' +
      'changing, steps the box took by itself, checks failing and recovering. Kept eventRetentionDays days.',
    access: 'read',
    params: z
      .object({
        package: z.string().max(64).optional().meta({ description: 'only this package’s events' }),
        kinds: z.array(z.enum(EVENT_KINDS)).max(EVENT_KINDS.length).optional(),
        before: z
          .number()
          .int()
          .positive()
          .optional()
          .meta({ description: 'page back: events older than this id' }),
        since: z
          .number()
          .int()
          .min(0)
          .optional()
          .meta({ description: 'only events at or after this time (ms)' }),
        limit: z.number().int().min(1).max(1000).default(100),
      })
      .strict(),
    result: z.array(event),
    handler: (p, ctx) => ctx.services.events.list(p),
  }),
] as const;
