import { z } from 'zod';
import { HearthError } from '../errors.ts';
import { LOG_LEVELS } from '../log/log.ts';
import { LAN_SETTINGS } from './lan-settings.ts';
import { REMOTE_SETTINGS } from './remote-settings.ts';
import type { SettingSpec } from './spec.ts';
import { UPDATE_SETTINGS } from './update-settings.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

/**
 * One table drives every way to configure the daemon: defaults, the config file
 * (`<root>/etc/hearth/config.json`), `HEARTH_*` environment variables and command-line
 * flags — in rising precedence — and the generated docs (docs/settings.md).
 */
export const SETTINGS = {
  root: {
    schema: z.string().min(1),
    default: '/',
    env: 'HEARTH_ROOT',
    flag: '--root',
    description:
      'Directory that every host path is relative to; a test runs a whole daemon inside a temp dir.',
  },
  dataDir: {
    schema: z.string(),
    default: '',
    env: 'HEARTH_DATA_DIR',
    flag: '--data-dir',
    description: 'Where durable state lives (the database, packages, keys). Empty: <root>/var/lib/hearth.',
  },
  runtimeDir: {
    schema: z.string(),
    default: '',
    env: 'HEARTH_RUNTIME_DIR',
    flag: '--runtime-dir',
    description: 'Sockets and the local CLI cookie. Empty: <root>/run/hearth.',
  },
  configFile: {
    schema: z.string(),
    default: '',
    env: 'HEARTH_CONFIG',
    flag: '--config',
    description: 'JSON file with settings by name. Empty: <root>/etc/hearth/config.json (optional).',
  },
  listen: {
    schema: z.string().min(1),
    default: '::',
    env: 'HEARTH_LISTEN',
    flag: '--listen',
    description: 'Address the HTTP server binds to (`::` is every address, IPv4 included).',
  },
  port: {
    schema: int(0, 65535),
    default: 80,
    env: 'HEARTH_PORT',
    flag: '--port',
    description: 'TCP port of the web UI and the API; 0 picks a free one (written to <runtime>/daemon.json).',
  },
  httpsPort: {
    schema: z.union([z.enum(['', 'off']), int(0, 65535)]),
    default: '',
    env: 'HEARTH_HTTPS_PORT',
    flag: '--https-port',
    description:
      'TCP port of the web UI and the API over HTTPS, with the box’s own CA, once set up; 0 picks a free one ' +
      '(written to <runtime>/daemon.json as httpsPort). Empty: 443, or none in development mode (--dev); off: none.',
  },
  ...LAN_SETTINGS,
  logLevel: {
    schema: z.enum(LOG_LEVELS),
    default: 'info',
    env: 'HEARTH_LOG_LEVEL',
    flag: '--log-level',
    description: 'Least severe level that is logged: debug, info, warn or error.',
  },
  allowedHosts: {
    schema: z.string().transform((text, ctx) => {
      const names = text
        .split(',')
        .map((n) => n.trim().toLowerCase())
        .filter(Boolean);
      for (const n of names) {
        if (
          !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(n)
        ) {
          ctx.addIssue({ code: 'custom', message: `'${n}' is not a host name` });
        }
      }
      return names;
    }),
    default: '',
    env: 'HEARTH_ALLOWED_HOSTS',
    flag: '--allowed-hosts',
    description:
      'More names the box answers to, comma-separated (e.g. the name your router gives it, hearth.fritz.box). ' +
      'Besides these it answers to its IP addresses, localhost, <hostname>.local and, once set up, other ' +
      '.local, .home.arpa and .internal names: a page of another site must not reach it under a name of its own.',
  },
  dev: {
    schema: bool,
    default: false,
    env: 'HEARTH_DEV',
    flag: '--dev',
    description:
      'Development mode: nothing touches the machine (no power off, no reboot; only loop devices can become the data drive).',
  },
  dbusAddress: {
    schema: z.string(),
    default: '',
    env: 'HEARTH_DBUS_ADDRESS',
    flag: '--dbus-address',
    description: 'D-Bus system bus address. Empty: the standard system bus.',
  },
  maxBodyBytes: {
    schema: int(1024, 1 << 30),
    default: 1 << 20,
    env: 'HEARTH_MAX_BODY_BYTES',
    flag: '--max-body-bytes',
    description: 'Largest JSON-RPC request body accepted, in bytes.',
  },
  maxUploadBytes: {
    schema: int(1 << 20, 2 ** 42),
    default: 8 * 2 ** 30,
    env: 'HEARTH_MAX_UPLOAD_BYTES',
    flag: '--max-upload-bytes',
    description: 'Largest file accepted by POST /upload or downloaded from a URL (a package), in bytes.',
  },
  stateHistory: {
    schema: int(1, 1_000_000),
    default: 1000,
    env: 'HEARTH_STATE_HISTORY',
    flag: '--state-history',
    description: 'How many state patches are kept for subscribers that resume; older ones get a full dump.',
  },
  sessionDays: {
    schema: int(1, 3650),
    default: 30,
    env: 'HEARTH_SESSION_DAYS',
    flag: '--session-days',
    description: 'A login session ends after this many days without use.',
  },
  loginMaxFailures: {
    schema: int(1, 1000),
    default: 5,
    env: 'HEARTH_LOGIN_MAX_FAILURES',
    flag: '--login-max-failures',
    description:
      'Password attempts (login, password change) one client address may make at once; they come back one by ' +
      'one over the login window. An IPv6 /64 counts as one address.',
  },
  loginWindowSeconds: {
    schema: int(1, 86_400),
    default: 60,
    env: 'HEARTH_LOGIN_WINDOW_SECONDS',
    flag: '--login-window-seconds',
    description: 'How long an address takes to get all its password attempts back, in seconds.',
  },
  loginAccountBurst: {
    schema: int(1, 100_000),
    default: 20,
    env: 'HEARTH_LOGIN_ACCOUNT_BURST',
    flag: '--login-account-burst',
    description:
      'Wrong passwords from all addresses together before password checks slow down to one per ' +
      'loginAccountIntervalSeconds (addresses with a live session are not slowed).',
  },
  loginAccountIntervalSeconds: {
    schema: int(1, 3600),
    default: 10,
    env: 'HEARTH_LOGIN_ACCOUNT_INTERVAL_SECONDS',
    flag: '--login-account-interval-seconds',
    description: 'Once slowed down, one password check from any address per this many seconds.',
  },
  callsPerMinute: {
    schema: int(1, 1_000_000),
    default: 600,
    env: 'HEARTH_CALLS_PER_MINUTE',
    flag: '--calls-per-minute',
    description:
      'Calls allowed per credential (API token, login session) per minute, over JSON-RPC, the WebSocket and MCP ' +
      'together (root on the box is not counted). Also read as mcpCallsPerMinute.',
    alias: { name: 'mcpCallsPerMinute', env: 'HEARTH_MCP_CALLS_PER_MINUTE', flag: '--mcp-calls-per-minute' },
  },
  anonymousCallsPerMinute: {
    schema: int(1, 1_000_000),
    default: 120,
    env: 'HEARTH_ANONYMOUS_CALLS_PER_MINUTE',
    flag: '--anonymous-calls-per-minute',
    description:
      'Calls allowed per minute from one client address without a credential (an IPv6 /64 counts as one).',
  },
  maxAnswerBytes: {
    schema: int(1024, 1 << 30),
    default: 8 << 20,
    env: 'HEARTH_MAX_ANSWER_BYTES',
    flag: '--max-answer-bytes',
    description: 'Largest answer to one JSON-RPC batch, in bytes; the answers past it are refused.',
  },
  auditRetentionDays: {
    schema: int(1, 3650),
    default: 90,
    env: 'HEARTH_AUDIT_RETENTION_DAYS',
    flag: '--audit-retention-days',
    description: 'Audit entries older than this are deleted.',
  },
  auditMaxEntries: {
    schema: int(100, 100_000_000),
    default: 200_000,
    env: 'HEARTH_AUDIT_MAX_ENTRIES',
    flag: '--audit-max-entries',
    description: 'At most this many audit entries are kept; the oldest go first.',
  },
  metricsIntervalSeconds: {
    schema: int(0, 86_400),
    default: 5,
    env: 'HEARTH_METRICS_INTERVAL_SECONDS',
    flag: '--metrics-interval-seconds',
    description:
      'How often the metrics summary in the state document is refreshed and a sample added to the last half ' +
      'hour’s history (server.metrics.history); 0 turns both off.',
  },
  reconcileIntervalSeconds: {
    schema: int(1, 3600),
    default: 5,
    env: 'HEARTH_RECONCILE_INTERVAL_SECONDS',
    flag: '--reconcile-interval-seconds',
    description: 'How often the containers are checked against what should run (and crashed ones restarted).',
  },
  healthAlertCommand: {
    schema: z.string().transform((text, ctx) => {
      if (text === '') return [] as string[];
      try {
        const argv: unknown = JSON.parse(text);
        if (Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string'))
          return argv as string[];
      } catch {}
      ctx.addIssue({ code: 'custom', message: 'a JSON array of strings: the program and its arguments' });
      return z.NEVER;
    }),
    default: '',
    env: 'HEARTH_HEALTH_ALERT_COMMAND',
    flag: '--health-alert-command',
    description:
      'A program run when a package health check starts failing, as a JSON argv array (no shell), with ' +
      'HEARTH_PACKAGE, HEARTH_CHECK and HEARTH_MESSAGE in its environment. Empty: none.',
  },
  acmeDirectoryUrl: {
    schema: z.url({ protocol: /^https?$/ }),
    default: 'https://acme-v02.api.letsencrypt.org/directory',
    env: 'HEARTH_ACME_DIRECTORY_URL',
    flag: '--acme-directory-url',
    description:
      'The ACME CA that issues certificates for custom domains: Let’s Encrypt by default; its staging CA, for ' +
      'trying things without its rate limits, is https://acme-staging-v02.api.letsencrypt.org/directory. ' +
      'Each directory has its own account.',
  },
  acmeEmail: {
    schema: z.union([z.literal(''), z.email()]),
    default: '',
    env: 'HEARTH_ACME_EMAIL',
    flag: '--acme-email',
    description:
      'The contact address given to the ACME CA (it may write about expiring certificates). Empty: none.',
  },
  acmeCaFile: {
    schema: z.string(),
    default: '',
    env: 'HEARTH_ACME_CA_FILE',
    flag: '--acme-ca-file',
    description:
      'A PEM file of CA certificates trusted for the ACME directory besides the system’s: for a private or ' +
      'test CA (pebble’s). Empty: only the system’s.',
  },
  notifyAllowSelf: {
    schema: bool,
    default: false,
    env: 'HEARTH_NOTIFY_ALLOW_SELF',
    flag: '--notify-allow-self',
    description:
      'Let notification channels send to the box itself (loopback and its own addresses), for a mail relay on ' +
      'the box, or a test. Link-local and cloud metadata addresses are refused whatever this says.',
  },
  minFreeSpaceMiB: {
    schema: int(0, 1 << 30),
    default: 1024,
    env: 'HEARTH_MIN_FREE_SPACE_MIB',
    flag: '--min-free-space-mib',
    description:
      'Space the data drive keeps free, in MiB: below it the free-space check fails, and installs and updates ' +
      'are refused if they would leave less (the check warns at twice this).',
  },
  checkIntervalSeconds: {
    schema: z.coerce.number().min(1).max(86_400),
    default: 300,
    env: 'HEARTH_CHECK_INTERVAL_SECONDS',
    flag: '--check-interval-seconds',
    description: "How often the box's checks run (server.check.list); they also run at start and when asked.",
  },
  eventRetentionDays: {
    schema: int(1, 3650),
    default: 30,
    env: 'HEARTH_EVENT_RETENTION_DAYS',
    flag: '--event-retention-days',
    description:
      'How long the event history (event.list) keeps what happened; at most 50 000 events are kept.',
  },
  notifyRetrySeconds: {
    schema: z.coerce.number().min(0.01).max(3600),
    default: 30,
    env: 'HEARTH_NOTIFY_RETRY_SECONDS',
    flag: '--notify-retry-seconds',
    description:
      'A notification that a channel could not take is tried again after this many seconds, then 4 and 16 ' +
      'times as long; after that the failure shows on the channel (notification.channel.list).',
  },
  ...UPDATE_SETTINGS,
  torBinary: {
    schema: z.string().min(1),
    default: '/usr/sbin/tor',
    env: 'HEARTH_TOR_BINARY',
    flag: '--tor-binary',
    description: 'The tor the daemon starts when an interface has an onion address (Debian’s tor).',
  },
  torExtraConfig: {
    schema: z.string(),
    default: '',
    env: 'HEARTH_TOR_EXTRA_CONFIG',
    flag: '--tor-extra-config',
    description:
      'A file of torrc lines added to the one the daemon writes; for tests that run a private Tor network (TestingTorNetwork, DirAuthority…). Empty: none.',
  },
  ...REMOTE_SETTINGS,
  bridge: {
    schema: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,14}$/, 'an interface name: up to 15 lower-case letters and digits'),
    default: 'hearth0',
    env: 'HEARTH_BRIDGE',
    flag: '--bridge',
    description: 'The bridge the service containers sit on (the daemon creates it).',
  },
  subnet: {
    schema: z.string().regex(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.0\/24$/, 'a private /24, like 10.73.0.0/24'),
    default: '10.73.0.0/24',
    env: 'HEARTH_SUBNET',
    flag: '--subnet',
    description: 'The containers’ IPv4 network: the box is .1, each package gets a fixed address in it.',
  },
  nftTable: {
    schema: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/),
    default: 'hearth',
    env: 'HEARTH_NFT_TABLE',
    flag: '--nft-table',
    description: 'The nftables table holding the containers’ NAT rules.',
  },
  dnsUpstream: {
    schema: z.string().transform((text, ctx) => {
      const servers = text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const s of servers) {
        if (!/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*)(#\d{1,5})?$/.test(s)) {
          ctx.addIssue({ code: 'custom', message: `'${s}' is not an address (with #port if not 53)` });
        }
      }
      return servers;
    }),
    default: '',
    env: 'HEARTH_DNS_UPSTREAM',
    flag: '--dns-upstream',
    description:
      'Where the containers’ DNS server (dnsmasq on the bridge) sends names outside .internal: addresses, ' +
      'comma-separated, `#port` when not 53 (127.0.0.5#5353). Empty: the resolvers in the host’s /etc/resolv.conf.',
  },
} satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
export type Settings = { [K in SettingName]: z.output<(typeof SETTINGS)[K]['schema']> };

export class InvalidSetting extends HearthError {
  constructor(name: string, source: string, problem: string) {
    super('invalid_setting', `setting ${name} from ${source} is invalid: ${problem}`, {
      hint: `see \`hearth settings\` for what ${name} accepts`,
    });
  }
}

export interface SettingSources {
  /** Values from the config file, by setting name. */
  file?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Values from flags, by setting name (already split by the argv parser). */
  flags?: Record<string, unknown>;
}

/** Merges the sources in precedence order and validates every value. */
export function resolveSettings(sources: SettingSources): Settings {
  const out: Record<string, unknown> = {};
  const aliases = new Set(Object.values(SETTINGS as Record<string, SettingSpec>).map((s) => s.alias?.name));
  for (const key of Object.keys(sources.file ?? {})) {
    if (!(key in SETTINGS) && !aliases.has(key))
      throw new InvalidSetting(key, 'the config file', 'no such setting');
  }
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec][]) {
    const a = spec.alias;
    const candidates: [string, unknown][] = [
      ['the command line', sources.flags?.[name]],
      ...(a ? ([['the command line', sources.flags?.[a.name]]] as [string, unknown][]) : []),
      [`$${spec.env}`, sources.env?.[spec.env]],
      ...(a ? ([[`$${a.env}`, sources.env?.[a.env]]] as [string, unknown][]) : []),
      ['the config file', sources.file?.[name]],
      ...(a ? ([['the config file', sources.file?.[a.name]]] as [string, unknown][]) : []),
    ];
    const [source, raw] = candidates.find(([, v]) => v !== undefined) ?? ['the default', spec.default];
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      throw new InvalidSetting(name, source, parsed.error.issues.map((i) => i.message).join('; '));
    }
    out[name] = parsed.data;
  }
  return out as Settings;
}

/** `{ root: { type: 'string' }, … }` for node:util parseArgs. */
export function settingFlagOptions(): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(
    (Object.entries(SETTINGS) as [string, SettingSpec][]).flatMap(([, spec]) =>
      [spec.flag, ...(spec.alias ? [spec.alias.flag] : [])].map((flag) => [
        flag.slice(2),
        // A yes/no setting is a flag without a value: `--dev`.
        { type: spec.schema === bool ? 'boolean' : 'string' },
      ]),
    ),
  ) as Record<string, { type: 'string' | 'boolean' }>;
}

/** Maps parsed flag values (by flag name) back to setting names (an alias's to the alias). */
export function flagsToSettings(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    (Object.entries(SETTINGS) as [string, SettingSpec][])
      .flatMap(([name, spec]) => [
        [name, values[spec.flag.slice(2)]] as const,
        ...(spec.alias ? [[spec.alias.name, values[spec.alias.flag.slice(2)]] as const] : []),
      ])
      .filter(([, v]) => v !== undefined),
  );
}

/** The generated reference, docs/settings.md. */
export function renderSettingsDocs(): string {
  const rows = Object.entries(SETTINGS).map(
    ([name, spec]) =>
      `| \`${name}\` | \`${spec.flag}\` | \`${spec.env}\` | \`${JSON.stringify(spec.default)}\` | ${spec.description} |`,
  );
  return [
    '# Daemon settings',
    '',
    '<!-- Generated from core/src/settings/settings.ts by `make docs`; do not edit. -->',
    '',
    'Each setting comes from, in rising precedence: its default, the config file',
    '(`<root>/etc/hearth/config.json`, an object keyed by setting name), its environment',
    'variable, and its command-line flag. Every value is validated at start-up; a bad one',
    'stops the daemon with a message naming the setting and where it came from.',
    '',
    '| setting | flag | environment | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
