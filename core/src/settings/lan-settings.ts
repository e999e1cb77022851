import { z } from 'zod';

/** The LAN ports' settings (lan/), spread into the one table in settings.ts. */
export const LAN_SETTINGS = {
  lanPorts: {
    schema: z.string().transform((text, ctx) => {
      const [from, to] = (/^(\d{4,5})-(\d{4,5})$/.exec(text.trim()) ?? []).slice(1).map(Number);
      if (from && to && from >= 1024 && to <= 65535 && from <= to) return { from, to };
      ctx.addIssue({ code: 'custom', message: 'a range of ports like 20000-20999, within 1024-65535' });
      return z.NEVER;
    }),
    default: '20000-20999',
    env: 'HEARTH_LAN_PORTS',
    flag: '--lan-ports',
    description:
      'Ports for packages’ interfaces on the LAN, one each, kept across restarts, updates and restores (even outside a range changed later).',
  },
  lanProxyTimeoutSeconds: {
    schema: z.coerce.number().int().min(1).max(3600),
    default: 60,
    env: 'HEARTH_LAN_PROXY_TIMEOUT_SECONDS',
    flag: '--lan-proxy-timeout-seconds',
    description:
      'How long the LAN ports wait for a package to answer (then 504), and keep an idle connection.',
  },
} as const;
