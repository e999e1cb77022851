import { z } from 'zod';
import { finding } from '../checks/checks.rpc.ts';
import { event } from '../events/events.rpc.ts';
import { defineMethod } from '../rpc/registry.ts';

export const statusMethods = [
  defineMethod({
    name: 'server.status',
    description:
      'What needs worrying about, in one answer: packages not as they should be (drift), packages that keep ' +
      'crashing, what the checks found, and the newest events. `summary` is ok, attention (warnings) or trouble.',
    access: 'read',
    params: z.object({ recent: z.number().int().min(0).max(200).default(20) }).strict(),
    result: z.object({
      summary: z.enum(['ok', 'attention', 'trouble']),
      headline: z.string(),
      packages: z.object({ installed: z.number(), running: z.number() }),
      drift: z.array(
        z.object({
          id: z.string(),
          title: z.string(),
          desired: z.enum(['running', 'stopped']),
          status: z.string(),
          health: z.enum(['healthy', 'unhealthy', 'starting', 'unknown']),
          problem: z.string(),
        }),
      ),
      crashLoops: z.array(z.object({ id: z.string(), title: z.string(), crashes: z.number() })),
      findings: z.array(finding),
      recentEvents: z.array(event),
      at: z.number(),
    }),
    handler: ({ recent }, ctx) => ctx.services.status.status(recent),
  }),
  defineMethod({
    name: 'server.ps',
    description:
      'Every container on the box now: Hearth’s, with uptime, memory and CPU time, and others’ (made with the ' +
      'lxc tools), listed as ignored — Hearth never touches those.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.array(
      z.object({
        name: z.string(),
        package: z.string().nullable(),
        state: z.string(),
        ignored: z.boolean(),
        lxcPath: z.string(),
        ipv4: z.array(z.string()),
        pid: z.number().nullable(),
        uptimeSeconds: z.number().nullable(),
        memoryBytes: z.number().nullable(),
        memoryLimitBytes: z.number().nullable(),
        cpuSeconds: z.number().nullable(),
      }),
    ),
    handler: (_, ctx) => ctx.services.status.ps(),
  }),
] as const;
