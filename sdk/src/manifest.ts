import { z } from 'zod';
import { ManifestInvalid } from './errors.ts';
import { compareVersions, isRange, isVersion } from './semver.ts';

/**
 * The package manifest: what a package is (metadata), what its code declares (daemons,
 * health checks, actions, backup, migrations, hooks) and what `pack` built (images).
 * `manifest.json` in an `.hpk` holds it; `sdk/manifest.schema.json` is its JSON Schema,
 * generated from these zod schemas (`node sdk/scripts/generate.ts`).
 */

/**
 * The manifest format this SDK writes and reads.
 *
 * @example
 * if (json.manifestVersion !== MANIFEST_VERSION) console.error('made by a newer SDK');
 */
export const MANIFEST_VERSION = 1;

/**
 * CPU architectures a box can have; also the folder names under `images/`.
 *
 * @example
 * const arch = ARCHITECTURES.find((a) => a === (process.arch === 'x64' ? 'x86_64' : process.arch));
 */
export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
/**
 * A CPU architecture of a box: `x86_64` or `arm64`.
 *
 * @example
 * const arch: Architecture = 'arm64';
 */
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * Package statuses an action can be allowed in. The host maps its own life cycle onto
 * these names.
 *
 * @example
 * defineAction({ …, allowedStatuses: ['running', 'stopped'] });
 */
export const PACKAGE_STATUSES = [
  'stopped',
  'starting',
  'running',
  'stopping',
  'backing-up',
  'restoring',
  'updating',
  'failed',
] as const;
/**
 * One of {@link PACKAGE_STATUSES}.
 *
 * @example
 * const whenAllowed: PackageStatus[] = ['running'];
 */
export type PackageStatus = (typeof PACKAGE_STATUSES)[number];

const ID_RE = /^[a-z][a-z0-9-]{0,62}$/;
const PACKAGE_ID_RE = /^[a-z][a-z0-9-]{1,62}$/;
// SPDX license identifiers and simple expressions (`MIT`, `GPL-3.0-or-later`,
// `Apache-2.0 OR MIT`, `LicenseRef-Proprietary`).
const SPDX_RE = /^\(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?(?: (?:AND|OR|WITH) \(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?)*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

/** A short identifier unique within its list (a volume, interface, daemon, check, action, image). */
export const idSchema = z
  .string()
  .regex(ID_RE, "must be 1-63 lowercase letters, digits and '-', starting with a letter");

/** A package id: 2-63 lowercase letters, digits and `-`, starting with a letter. */
export const packageIdSchema = z
  .string()
  .regex(PACKAGE_ID_RE, "must be 2-63 lowercase letters, digits and '-', starting with a letter")
  .meta({ description: 'Package id: also its container and DNS name on the box.' });

/** A semver version (`1.2.3`, `2.0.0-rc.1`). */
export const versionSchema = z
  .string()
  .refine(isVersion, 'must be a semantic version such as 1.2.3')
  .meta({ description: 'Semantic version (semver 2.0.0).' });

/** A version range (`^1.2`, `~1.2.3`, `>=1.0.0 <2.0.0`, `1.2.3`). */
export const versionRangeSchema = z
  .string()
  .refine(isRange, "must be a version range such as '^1.2', '~1.2.3' or '>=1.0.0 <2.0.0'");

const urlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const portSchema = z
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');
const argvSchema = z
  .array(z.string().max(4096, 'an argument may be at most 4096 characters'))
  .min(1, 'must name a program: a non-empty argv array such as ["/usr/bin/app", "--serve"]')
  .max(256);
const envSchema = z
  .record(z.string().regex(ENV_NAME_RE, 'environment variable names are letters, digits and _'), z.string())
  .default({});
const seconds = (min: number, max: number) =>
  z.number().min(min, `must be at least ${min} s`).max(max, `must be at most ${max} s`);

export const architectureSchema = z.enum(ARCHITECTURES, {
  error: `must be one of ${ARCHITECTURES.join(', ')}`,
});
export const packageStatusSchema = z.enum(PACKAGE_STATUSES, {
  error: `must be one of ${PACKAGE_STATUSES.join(', ')}`,
});

const absolutePath = z
  .string()
  .regex(/^\/(?:[^/\0]+\/?)*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), "must not contain '..'");

export const volumeSchema = z
  .strictObject({
    id: idSchema,
    name: text(64),
    description: text(500),
    mountPath: absolutePath
      .refine((p) => p !== '/', 'must not be the root')
      .optional()
      .meta({ description: 'Where the volume appears in the container; /data/<id> by default.' }),
  })
  .transform((v) => ({ ...v, mountPath: v.mountPath ?? `/data/${v.id}` }));

export const interfaceSchema = z
  .strictObject({
    id: idSchema,
    name: text(64),
    description: text(500),
    protocol: z.enum(['http', 'https', 'tcp', 'udp'], { error: 'must be one of http, https, tcp, udp' }),
    port: portSchema.meta({ description: 'The port the service listens on inside its container.' }),
    kind: z.enum(['ui', 'api', 'p2p', 'mcp'], { error: 'must be one of ui, api, p2p, mcp' }),
    tls: z
      .enum(['none', 'box'], { error: 'must be none or box' })
      .optional()
      .meta({
        description:
          "A tcp interface on the LAN: 'box' — clients speak TLS to the box, which answers with its own CA's " +
          "certificate and passes plain bytes to the container (MQTT over TLS, say); 'none' (the default) — " +
          'bytes pass through as they come.',
      }),
  })
  .refine((i) => !(i.kind === 'ui' || i.kind === 'mcp') || i.protocol === 'http' || i.protocol === 'https', {
    message: 'a ui or mcp interface must speak http or https',
    path: ['protocol'],
  })
  .refine((i) => i.tls === undefined || i.protocol === 'tcp', {
    message: 'tls is for tcp interfaces (http ones get TLS from the box anyway, https ones bring their own)',
    path: ['tls'],
  });

export const dependencySchema = z.strictObject({
  id: packageIdSchema,
  versionRange: versionRangeSchema,
  requireRunning: z.boolean().default(false),
});

export const resourcesSchema = z.strictObject({
  memoryMiB: z
    .int('must be a whole number')
    .min(16, 'must be at least 16')
    .max(1 << 20),
  cpus: z.number().gt(0, 'must be more than 0').max(256),
});

const tcpProbe = { kind: z.literal('tcp'), port: portSchema };
const httpProbe = {
  kind: z.literal('http'),
  url: urlSchema.meta({
    description: 'Fetched from inside the container, e.g. http://127.0.0.1:8080/health',
  }),
  expectStatus: z.int().min(100).max(599).default(200),
};
const commandProbe = {
  kind: z.literal('command'),
  command: argvSchema,
  expectExitCode: z.int().min(0).max(255).default(0),
};

/** How the runtime tests a daemon or a check: a TCP port listening, an HTTP status, a command's exit code. */
export const probeSchema = z.discriminatedUnion(
  'kind',
  [z.strictObject(tcpProbe), z.strictObject(httpProbe), z.strictObject(commandProbe)],
  { error: 'kind must be one of tcp, http, command' },
);

const checkCommon = {
  id: idSchema,
  name: text(64),
  intervals: z
    .strictObject({
      startingSeconds: seconds(1, 3600).default(2),
      healthySeconds: seconds(1, 86400).default(30),
    })
    .default({ startingSeconds: 2, healthySeconds: 30 })
    .meta({ description: 'How often the check runs while the package starts, and once it is healthy.' }),
  timeoutSeconds: seconds(1, 3600).default(5),
};

export const healthCheckSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ ...checkCommon, ...tcpProbe }),
    z.strictObject({ ...checkCommon, ...httpProbe }),
    z.strictObject({ ...checkCommon, ...commandProbe }),
  ],
  { error: 'kind must be one of tcp, http, command' },
);

export const daemonSchema = z.strictObject({
  id: idSchema,
  image: idSchema.optional().meta({
    description: 'The image whose root the daemon runs in; may be left out when there is one image.',
  }),
  command: argvSchema,
  env: envSchema,
  user: z
    .string()
    .regex(
      /^(?:[a-z_][a-z0-9_-]{0,31}|\d{1,10})(?::(?:[a-z_][a-z0-9_-]{0,31}|\d{1,10}))?$/,
      'must be a user name or uid, optionally :group',
    )
    .optional(),
  workdir: absolutePath.optional(),
  requires: z
    .array(idSchema)
    .default([])
    .meta({ description: 'Daemons that must be ready before this one starts.' }),
  ready: probeSchema
    .optional()
    .meta({ description: 'When the daemon counts as ready; without it, once it has started.' }),
  startTimeoutSeconds: seconds(1, 3600).default(60),
});

/**
 * A JSON Schema object describing an action's input (generated from its zod schema).
 * Fields marked `writeOnly: true` (the SDK's `secret()`, which adds `x-secret: true`)
 * are secrets: the box redacts them wherever it records a call.
 */
const jsonSchemaObject = z
  .record(z.string(), z.unknown())
  .refine((s) => s['type'] === 'object', 'must be a JSON Schema of type object')
  .meta({
    description:
      'A JSON Schema of type object. Properties with writeOnly: true (and x-secret: true, from the SDK’s ' +
      'secret()) are secrets: the box never records their values.',
  });

export const actionSchema = z.strictObject({
  id: idSchema,
  name: text(64),
  description: text(1000),
  input: jsonSchemaObject,
  allowedStatuses: z.array(packageStatusSchema).min(1, 'must list at least one status'),
});

export const backupSchema = z.strictObject({
  volumes: z.array(idSchema).min(1, 'must list at least one volume'),
  hasPre: z.boolean(),
  hasPost: z.boolean(),
});

export const migrationSchema = z.strictObject({
  version: versionSchema.meta({
    description: 'The version whose data format this migration produces: `up` runs when updating across it.',
  }),
  down: z.boolean().meta({ description: 'Whether the migration can be undone (a downgrade across it).' }),
});

export const imageSchema = z.strictObject({
  name: idSchema,
  architectures: z.array(architectureSchema).min(1),
});

/** The fields the package author declares (metadata and code); `manifestOf` yields these. */
const declaredShape = {
  id: packageIdSchema,
  version: versionSchema,
  title: text(64),
  description: z.strictObject({
    short: text(80).meta({ description: 'One line for lists: at most 80 characters.' }),
    long: text(10000),
  }),
  license: z
    .string()
    .regex(SPDX_RE, "must be an SPDX license identifier or expression such as 'MIT' or 'Apache-2.0 OR MIT'"),
  upstreamRepo: urlSchema,
  packageRepo: urlSchema,
  icon: z.enum(['icon.png', 'icon.svg'], { error: "must be 'icon.png' or 'icon.svg'" }),
  architectures: z.array(architectureSchema).min(1, 'must list at least one architecture'),
  minHearthVersion: versionSchema.optional().meta({
    description:
      'The oldest Hearth that can run this package (what it relies on appeared then); an older box refuses ' +
      'to install it and says so. Without it, any Hearth.',
  }),
  volumes: z.array(volumeSchema).default([]),
  interfaces: z.array(interfaceSchema).default([]),
  dependencies: z.array(dependencySchema).default([]),
  resources: resourcesSchema,
  daemons: z.array(daemonSchema).min(1, 'must declare at least one daemon'),
  healthChecks: z.array(healthCheckSchema).default([]),
  actions: z.array(actionSchema).default([]),
  backup: backupSchema.optional(),
  migrations: z.array(migrationSchema).default([]),
  hasInit: z.boolean().default(false),
  hasUninit: z.boolean().default(false),
};

type Ctx = z.core.$RefinementCtx;

function uniqueIds(ctx: Ctx, list: readonly { id: string }[], field: string) {
  const seen = new Set<string>();
  list.forEach((item, i) => {
    if (seen.has(item.id))
      ctx.addIssue({ code: 'custom', path: [field, i, 'id'], message: `'${item.id}' is used twice` });
    seen.add(item.id);
  });
}

function checkDeclared(m: z.output<z.ZodObject<typeof declaredShape>>, ctx: Ctx) {
  for (const field of [
    'volumes',
    'interfaces',
    'dependencies',
    'daemons',
    'healthChecks',
    'actions',
  ] as const) {
    uniqueIds(ctx, m[field], field);
  }
  new Set(m.architectures).size !== m.architectures.length &&
    ctx.addIssue({ code: 'custom', path: ['architectures'], message: 'lists an architecture twice' });

  m.dependencies.forEach((d, i) => {
    if (d.id === m.id)
      ctx.addIssue({
        code: 'custom',
        path: ['dependencies', i, 'id'],
        message: 'a package cannot depend on itself',
      });
  });

  // Interfaces share the container's ports: tcp, http and https all take a TCP port.
  const ports = new Map<string, string>();
  m.interfaces.forEach((itf, i) => {
    const key = `${itf.protocol === 'udp' ? 'udp' : 'tcp'}/${itf.port}`;
    const other = ports.get(key);
    if (other)
      ctx.addIssue({
        code: 'custom',
        path: ['interfaces', i, 'port'],
        message: `${key} is also used by interface '${other}'`,
      });
    ports.set(key, itf.id);
  });

  const daemonIds = new Set(m.daemons.map((d) => d.id));
  m.daemons.forEach((d, i) => {
    d.requires.forEach((r, j) => {
      if (r === d.id)
        ctx.addIssue({
          code: 'custom',
          path: ['daemons', i, 'requires', j],
          message: 'a daemon cannot require itself',
        });
      else if (!daemonIds.has(r))
        ctx.addIssue({ code: 'custom', path: ['daemons', i, 'requires', j], message: `no daemon '${r}'` });
    });
  });
  const cycle = findCycle(m.daemons);
  if (cycle)
    ctx.addIssue({
      code: 'custom',
      path: ['daemons'],
      message: `requires form a cycle: ${cycle.join(' → ')}`,
    });

  const mounts = new Map<string, string>();
  m.volumes.forEach((v, i) => {
    const other = mounts.get(v.mountPath);
    if (other)
      ctx.addIssue({
        code: 'custom',
        path: ['volumes', i, 'mountPath'],
        message: `is also where volume '${other}' is mounted`,
      });
    mounts.set(v.mountPath, v.id);
  });
  const volumeIds = new Set(m.volumes.map((v) => v.id));
  m.backup?.volumes.forEach((v, i) => {
    if (!volumeIds.has(v))
      ctx.addIssue({ code: 'custom', path: ['backup', 'volumes', i], message: `no volume '${v}'` });
  });

  const versions = m.migrations.map((x) => x.version);
  versions.forEach((v, i) => {
    if (!isVersion(v) || !isVersion(m.version)) return;
    if (i > 0 && isVersion(versions[i - 1]!) && compareVersions(versions[i - 1]!, v) >= 0)
      ctx.addIssue({
        code: 'custom',
        path: ['migrations', i, 'version'],
        message: 'migrations must be in ascending version order, each version once',
      });
    if (compareVersions(v, m.version) > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['migrations', i, 'version'],
        message: `is later than the package version ${m.version}`,
      });
  });
}

function findCycle(daemons: readonly { id: string; requires: readonly string[] }[]): string[] | null {
  const requires = new Map(daemons.map((d) => [d.id, d.requires]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const r of requires.get(id) ?? []) {
      if (r === id) continue;
      const found = visit(r);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const d of daemons) {
    const found = visit(d.id);
    if (found) return found;
  }
  return null;
}

/** What the author declares: `definePackage` checks it and `manifestOf` returns it. */
export const declaredManifestSchema = z.strictObject(declaredShape).superRefine(checkDeclared);

/**
 * The whole manifest, as in `manifest.json`.
 *
 * @example
 * const result = manifestSchema.safeParse(JSON.parse(text)); // prefer safeParseManifest: it names the fields
 */
export const manifestSchema = z
  .strictObject({
    manifestVersion: z.literal(MANIFEST_VERSION, {
      error: `must be ${MANIFEST_VERSION} (this SDK's manifest format)`,
    }),
    sdkVersion: versionSchema.meta({ description: 'The SDK version that packed the package.' }),
    ...declaredShape,
    images: z.array(imageSchema).min(1, 'must list at least one image'),
  })
  .superRefine((m, ctx) => {
    checkDeclared(m, ctx);
    uniqueIds(
      ctx,
      m.images.map((i) => ({ id: i.name })),
      'images',
    );
    const names = new Set(m.images.map((i) => i.name));
    m.images.forEach((img, i) => {
      const missing = m.architectures.filter((a) => !img.architectures.includes(a));
      const extra = img.architectures.filter((a) => !m.architectures.includes(a));
      if (missing.length)
        ctx.addIssue({
          code: 'custom',
          path: ['images', i, 'architectures'],
          message: `has no build for ${missing.join(', ')}, which the package supports`,
        });
      if (extra.length)
        ctx.addIssue({
          code: 'custom',
          path: ['images', i, 'architectures'],
          message: `lists ${extra.join(', ')}, which the package's architectures do not`,
        });
    });
    m.daemons.forEach((d, i) => {
      if (d.image === undefined && m.images.length > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['daemons', i, 'image'],
          message: 'must name an image: the package has several',
        });
      if (d.image !== undefined && !names.has(d.image))
        ctx.addIssue({ code: 'custom', path: ['daemons', i, 'image'], message: `no image '${d.image}'` });
    });
  });

/**
 * A parsed `manifest.json`, defaults filled in.
 *
 * @example
 * const manifest: Manifest = parseManifest(JSON.parse(text));
 * console.log(manifest.interfaces.map((i) => i.port));
 */
export type Manifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
/**
 * The author-declared part of a manifest: everything but the format fields and images.
 *
 * @example
 * const declared: DeclaredManifest = manifestOf(definition);
 */
export type DeclaredManifest = z.output<typeof declaredManifestSchema>;
export type Volume = z.output<typeof volumeSchema>;
export type Interface = z.output<typeof interfaceSchema>;
export type Dependency = z.output<typeof dependencySchema>;
export type Probe = z.output<typeof probeSchema>;
export type ProbeInput = z.input<typeof probeSchema>;
export type HealthCheck = z.output<typeof healthCheckSchema>;
export type Daemon = z.output<typeof daemonSchema>;
export type ManifestAction = z.output<typeof actionSchema>;
export type ManifestImage = z.output<typeof imageSchema>;
export type ManifestMigration = z.output<typeof migrationSchema>;

/**
 * Turns zod issues into `field.path: message` lines a person can act on.
 *
 * @example
 * formatIssues(result.error); // ["description.short: must be at most 80 characters"]
 */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (acc, key) =>
        typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key),
      '',
    );
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

// A missing field says so, instead of zod's "expected string, received undefined".
const requiredError = (issue: z.core.$ZodRawIssue): string | undefined =>
  issue.input === undefined && issue.code === 'invalid_type' ? 'is required' : undefined;

/**
 * Validates a manifest object (e.g. parsed `manifest.json`) and returns it with defaults
 * filled in; `{ ok: false, issues }` names every field at fault.
 *
 * @example
 * const r = safeParseManifest(JSON.parse(text));
 * if (!r.ok) console.error(r.issues.join('\n'));
 */
export function safeParseManifest(
  value: unknown,
): { ok: true; manifest: Manifest } | { ok: false; issues: string[] } {
  const r = manifestSchema.safeParse(value, { error: requiredError });
  return r.success ? { ok: true, manifest: r.data } : { ok: false, issues: formatIssues(r.error) };
}

/**
 * Validates a manifest object; throws {@link ManifestInvalid} naming every field at fault.
 *
 * @example
 * const manifest = parseManifest(JSON.parse(fs.readFileSync('manifest.json', 'utf8')));
 */
export function parseManifest(value: unknown, source?: string): Manifest {
  const r = safeParseManifest(value);
  if (!r.ok) throw new ManifestInvalid(r.issues, source ? { source } : {});
  return r.manifest;
}

/**
 * Validates the author-declared part of a manifest (no images, no format fields).
 *
 * @example
 * const declared = parseDeclaredManifest({ id: 'hello', version: '1.0.0', ... });
 */
export function parseDeclaredManifest(value: unknown, source?: string): DeclaredManifest {
  const r = declaredManifestSchema.safeParse(value, { error: requiredError });
  if (!r.success) throw new ManifestInvalid(formatIssues(r.error), source ? { source } : {});
  return r.data;
}

/**
 * The JSON Schema of `manifest.json` (draft 2020-12), as written to
 * `sdk/manifest.schema.json`. Checks that JSON Schema cannot say (semver validity,
 * cross references between fields) are only in {@link parseManifest}.
 *
 * @example
 * fs.writeFileSync('manifest.schema.json', JSON.stringify(manifestJsonSchema(), null, 2));
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return {
    $schema: schema['$schema'],
    title: 'Hearth package manifest (manifest.json), version 1',
    ...schema,
  };
}
