import { z } from 'zod';
import { LOG_LEVELS } from '../log/log.ts';
import { defineMethod, noParams, streamTo } from '../rpc/registry.ts';
import { hostnameSchema } from '../setup/setup.rpc.ts';

const ok = z.object({ ok: z.literal(true) });
const logEntry = z.object({
  time: z.number(),
  level: z.enum(LOG_LEVELS),
  scope: z.string(),
  message: z.string(),
});

export const systemMethods = [
  defineMethod({
    name: 'server.echo',
    description:
      'Answer with the message it was given. For checking that the box answers, and for benchmarks.',
    access: 'public',
    params: z.object({ message: z.string().max(65_536) }).strict(),
    result: z.object({ message: z.string() }),
    handler: ({ message }) => ({ message }),
  }),
  defineMethod({
    name: 'server.info',
    description:
      'Who this box is: Hearth version, hostname, CPU architecture, machine uptime and boot id, daemon uptime.',
    access: 'read',
    params: noParams,
    result: z.object({
      version: z.string(),
      commit: z.string(),
      hostname: z.string(),
      arch: z.string(),
      nodeVersion: z.string(),
      bootId: z.string(),
      uptimeSeconds: z.number(),
      daemonUptimeSeconds: z.number(),
    }),
    handler: (_, ctx) => ctx.services.system.info(),
  }),
  defineMethod({
    name: 'server.hostname.set',
    description:
      'Rename the box: it becomes <hostname>.local on the network (the old name stops answering). Pages ' +
      'opened at the old name must be opened again at the new one.',
    access: 'admin',
    annotations: { readOnly: false, idempotent: true },
    params: z.object({ hostname: hostnameSchema }).strict(),
    result: z.object({ hostname: z.string() }),
    handler: ({ hostname }, ctx) => {
      ctx.services.system.setHostname(hostname);
      return { hostname };
    },
  }),
  defineMethod({
    name: 'server.time',
    description: 'The box’s clock: now in ms since the epoch and ISO 8601, and its time zone.',
    access: 'read',
    params: noParams,
    result: z.object({ epochMs: z.number(), iso: z.string(), timeZone: z.string() }),
    handler: (_, ctx) => ctx.services.system.time(),
  }),
  defineMethod({
    name: 'server.metrics',
    description:
      'How the box is doing: CPU use and load, memory, space on the data drive, the hottest temperature ' +
      'sensor (null where the machine has none), and the daemon’s own memory.',
    access: 'read',
    params: noParams,
    result: z.object({
      cpu: z.object({
        usagePercent: z.number(),
        cores: z.number(),
        load: z.tuple([z.number(), z.number(), z.number()]),
      }),
      memory: z.object({ totalBytes: z.number(), availableBytes: z.number(), usedPercent: z.number() }),
      disk: z.object({
        path: z.string(),
        totalBytes: z.number(),
        availableBytes: z.number(),
        usedPercent: z.number(),
      }),
      temperatureCelsius: z.number().nullable(),
      network: z.object({ rxBytesPerSecond: z.number(), txBytesPerSecond: z.number() }).meta({
        description: 'through the box’s own interfaces since the previous reading (0 at the first)',
      }),
      daemon: z.object({ rssBytes: z.number(), heapUsedBytes: z.number(), heapTotalBytes: z.number() }).meta({
        description: 'the Hearth daemon’s own memory: resident, and its JavaScript heap used and total',
      }),
    }),
    handler: (_, ctx) => ctx.services.system.metrics(),
  }),
  defineMethod({
    name: 'server.metrics.history',
    description:
      'The box’s vitals over the last half hour, oldest first, one sample every metricsIntervalSeconds: CPU, ' +
      'memory and disk use in percent, the hottest temperature, network bytes per second in and out. The ' +
      'newest sample is also the state document’s `metrics`, which changes as new ones come.',
    access: 'read',
    annotations: { readOnly: true, idempotent: true },
    params: noParams,
    result: z.object({
      intervalSeconds: z.number().meta({ description: '0 when sampling is off' }),
      samples: z.array(
        z.object({
          at: z.number(),
          cpuPercent: z.number(),
          memoryPercent: z.number(),
          diskPercent: z.number(),
          temperatureCelsius: z.number().nullable(),
          rxBytesPerSecond: z.number(),
          txBytesPerSecond: z.number(),
        }),
      ),
    }),
    handler: (_, ctx) => ctx.services.system.history(),
  }),
  defineMethod({
    name: 'server.logs',
    description:
      'The Hearth daemon’s own log, newest last (from the journal on a real box). With `follow: true` — over ' +
      'the WebSocket /ws only — new entries keep arriving as `stream.data` notifications until `stream.cancel`.',
    access: 'read',
    params: z
      .object({
        lines: z.number().int().min(1).max(10_000).default(100),
        follow: z.boolean().default(false),
      })
      .strict(),
    result: z.object({
      source: z.enum(['journal', 'file']),
      entries: z.array(logEntry),
      stream: z.string().optional().describe('with follow: the id of the stream that carries new entries'),
    }),
    handler: async ({ lines, follow }, ctx) => ({
      source: ctx.services.system.logSource,
      entries: await ctx.services.system.logs(lines),
      ...(follow ? { stream: streamTo(ctx, (signal) => ctx.services.system.followLogs(signal)) } : {}),
    }),
  }),
  defineMethod({
    name: 'server.shutdown',
    description:
      'Power the box off. Every service stops; someone has to press the power button to start it again.',
    access: 'admin',
    annotations: { destructive: true },
    params: noParams,
    result: ok,
    handler: async (_, ctx) => {
      await ctx.services.system.shutdown();
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'server.restart',
    description: 'Reboot the box. Services are unreachable for a minute or two.',
    access: 'admin',
    annotations: { destructive: true },
    params: noParams,
    result: ok,
    handler: async (_, ctx) => {
      await ctx.services.system.restart();
      return { ok: true as const };
    },
  }),
];
