import { z } from 'zod';

/** The OS update's settings (update/), spread into the one table in settings.ts. */
export const UPDATE_SETTINGS = {
  updateFeedUrl: {
    schema: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
    default: '',
    env: 'HEARTH_UPDATE_FEED_URL',
    flag: '--update-feed-url',
    description:
      'Where the box looks for OS updates: the address of a signed feed.json (docs/updates.md). Empty: no checks.',
  },
  updateFeedKeys: {
    schema: z.string().transform((text, ctx) => {
      const keys = text
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      for (const k of keys) {
        if (!/^[A-Za-z0-9+/]{43}=$/.test(k))
          ctx.addIssue({ code: 'custom', message: `'${k}' is not an ed25519 public key` });
      }
      return keys;
    }),
    default: '',
    env: 'HEARTH_UPDATE_FEED_KEYS',
    flag: '--update-feed-keys',
    description: 'The ed25519 public keys (base64, comma-separated) whose update feeds the box takes.',
  },
  updateCheckHours: {
    schema: z.coerce
      .number()
      .int()
      .min(0)
      .max(24 * 30),
    default: 24,
    env: 'HEARTH_UPDATE_CHECK_HOURS',
    flag: '--update-check-hours',
    description: 'How often the box checks the feed for an OS update, in hours; 0: only when asked.',
  },
  raucBinary: {
    schema: z.string().min(1),
    default: 'rauc',
    env: 'HEARTH_RAUC_BINARY',
    flag: '--rauc-binary',
    description: 'RAUC, the A/B update engine (Debian’s rauc).',
  },
  raucConfig: {
    schema: z.string().min(1),
    default: '/etc/rauc/system.conf',
    env: 'HEARTH_RAUC_CONFIG',
    flag: '--rauc-config',
    description: 'RAUC’s system.conf: the slots, the keyring, the boot backend. Absent: OS updates are off.',
  },
} as const;
