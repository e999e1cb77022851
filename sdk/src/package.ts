import { z } from 'zod';
import type { Effects } from './effects.ts';
import { ManifestInvalid, PackFailed, SdkError } from './errors.ts';
import {
  type DeclaredManifest,
  type declaredManifestSchema,
  formatIssues,
  type HealthCheck,
  type PackageStatus,
  type ProbeInput,
  parseDeclaredManifest,
} from './manifest.ts';
import { SDK_VERSION } from './version.ts';

/**
 * The package author's API: `definePackage` takes the package's metadata and what its
 * code does, checks all of it at once, and returns the object that `hearth.package.ts`
 * default-exports. `hearth-sdk pack` bundles that file (CommonJS, `code/index.js` in the
 * `.hpk`) and derives the manifest from it; the container runtime loads the same bundle
 * and calls the handlers.
 */

/**
 * What an action returns to the person who ran it.
 *
 * @example
 * return { message: 'A new password was set.', value: { text: password, copyable: true, masked: true } };
 */
export interface ActionResult {
  /** A sentence shown after the action ran. */
  message?: string;
  /** A value to show (a password, a URL, a pairing code). */
  value?: {
    text: string;
    /** Offer a copy button. */
    copyable?: boolean;
    /** Show it as a QR code too. */
    qr?: boolean;
    /** Hide it until the person asks to see it. */
    masked?: boolean;
  };
}

/**
 * An action: a named operation the owner (or an agent over MCP) can run on the package.
 *
 * @example
 * const reset: ActionDefinition = defineAction({ id: 'reset', name: 'Reset', description: 'Starts over', input: z.object({}), allowedStatuses: ['stopped'], handler: async () => ({ message: 'done' }) });
 */
export interface ActionDefinition<S extends z.ZodObject = z.ZodObject> {
  id: string;
  name: string;
  description: string;
  /** The input, a zod object; the owner fills in a form generated from its JSON Schema. */
  input: S;
  /** The package statuses in which the action may run. */
  allowedStatuses: PackageStatus[];
  handler: (
    input: z.output<S>,
    effects: Effects,
  ) => Promise<ActionResult | undefined> | ActionResult | undefined;
}

/**
 * Marks a field of an action's input as a secret (a password, a key): the box never
 * writes it to its audit log or its logs, and forms ask for it without showing it. In
 * the manifest, the field's JSON Schema carries `writeOnly: true` and `x-secret: true`.
 *
 * @example
 * input: z.object({ user: z.string(), password: secret(z.string().min(8).describe('At least 8 characters')) }),
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ writeOnly: true, 'x-secret': true }) as T;
}

/**
 * Declares an action; a function so that TypeScript infers the handler's input from the
 * zod schema.
 *
 * @example
 * const setGreeting = defineAction({
 *   id: 'set-greeting',
 *   name: 'Set greeting',
 *   description: 'Changes the text on the start page.',
 *   input: z.object({ greeting: z.string().min(1).max(100) }),
 *   allowedStatuses: ['running', 'stopped'],
 *   handler: async ({ greeting }, effects) => {
 *     await fs.promises.writeFile('/data/greeting.txt', greeting);
 *     await effects.notify({ level: 'info', title: 'Greeting changed', message: greeting });
 *     return { message: `The page now says “${greeting}”.` };
 *   },
 * });
 */
export function defineAction<S extends z.ZodObject>(action: ActionDefinition<S>): ActionDefinition<S> {
  return action;
}

/**
 * A command run inside the package's container for a backup (e.g. a database dump).
 *
 * @example
 * const dump: BackupCommand = { command: ['pg_dump', '-U', 'app', '-f', '/data/db/dump.sql', 'app'], user: 'postgres', timeoutSeconds: 600 };
 */
export interface BackupCommand {
  /** argv, never a shell string (use `['sh', '-c', '…']` if you need one). */
  command: string[];
  /** The image to run it in; may be left out when the package has one image. */
  image?: string;
  user?: string;
  env?: Record<string, string>;
  timeoutSeconds?: number;
}

/**
 * Which volumes a backup holds, and commands that quiesce or dump before, and clean up after.
 *
 * @example
 * backup: { volumes: ['db', 'files'], pre: { command: ['pg_dump', '-f', '/data/db/dump.sql', 'app'] }, post: { command: ['rm', '/data/db/dump.sql'] } }
 */
export interface BackupDefinition {
  volumes: string[];
  /** Runs before the volumes are read, e.g. `pg_dump` into a volume. */
  pre?: BackupCommand;
  /** Runs after the volumes were read (also when the backup failed), e.g. removing the dump. */
  post?: BackupCommand;
}

/**
 * A hook that runs package code with the host's effects.
 *
 * @example
 * init: async (effects) => { await effects.notify({ level: 'info', title: 'Welcome', message: 'Open the web UI to finish setup.' }); }
 */
export type Hook = (effects: Effects) => Promise<void> | void;

/**
 * A data migration, named by the version whose data format it produces. Updating from
 * A to B runs `up` of every migration with A < version ≤ B, oldest first; a downgrade runs
 * `down` of the same ones, newest first, and is refused if one has no `down`.
 *
 * @example
 * migrations: [
 *   { version: '2.0.0', up: async () => convertConfig('v1', 'v2'), down: async () => convertConfig('v2', 'v1') },
 * ]
 */
export interface MigrationDefinition {
  version: string;
  up: Hook;
  down?: Hook;
}

type DeclaredInput = z.input<typeof declaredManifestSchema>;
type Metadata = Omit<
  DeclaredInput,
  'actions' | 'backup' | 'migrations' | 'hasInit' | 'hasUninit' | 'healthChecks'
>;

/**
 * A health check: a probe (`tcp`, `http` or `command`) with a name, intervals and timeout.
 *
 * @example
 * healthChecks: [{ id: 'api', name: 'API', kind: 'http', url: 'http://127.0.0.1:3000/health', expectStatus: 200, intervals: { startingSeconds: 1, healthySeconds: 60 } }]
 */
export type HealthCheckInput = ProbeInput & {
  id: string;
  name: string;
  intervals?: { startingSeconds?: number; healthySeconds?: number };
  timeoutSeconds?: number;
};

/**
 * Everything `definePackage` takes: metadata, daemons and checks (data), and handlers (code).
 *
 * @example
 * const input: PackageInput = { id: 'hello-world', version: '1.0.0', …, daemons: [{ id: 'web', command: ['/usr/bin/hello'] }] };
 * export default definePackage(input);
 */
export interface PackageInput extends Metadata {
  healthChecks?: HealthCheckInput[];
  // biome-ignore lint/suspicious/noExplicitAny: each action keeps its own input type.
  actions?: ActionDefinition<any>[];
  backup?: BackupDefinition;
  migrations?: MigrationDefinition[];
  /** Runs once when the package is installed, before its daemons first start. */
  init?: Hook;
  /** Runs once when the package is uninstalled, after its daemons stopped. */
  uninit?: Hook;
}

/**
 * What `hearth.package.ts` exports and the container runtime drives. Plain data plus
 * functions, no classes: the runtime and `pack` may load a different copy of the SDK than
 * the one bundled into the package code, so nothing here relies on `instanceof`.
 *
 * @example
 * // In the container runtime:
 * const definition = require('/package/code/index.js').default as PackageDefinition;
 * const result = await definition.runAction('set-greeting', { greeting: 'hi' }, effects);
 */
export interface PackageDefinition {
  readonly kind: 'hearth-package';
  /** The shape of this object; the runtime refuses a definition version it does not know. */
  readonly definitionVersion: 1;
  readonly sdkVersion: string;
  /** The author-declared part of the manifest, checked, with defaults filled in. */
  readonly manifest: DeclaredManifest;
  readonly backup: { readonly pre?: BackupCommand; readonly post?: BackupCommand };
  /**
   * Validates `input` against the action's schema and runs its handler. Throws an error
   * with `code: 'action_not_found'` or `'action_input_invalid'`.
   */
  runAction(id: string, input: unknown, effects: Effects): Promise<ActionResult>;
  /** Runs one migration in one direction (the host plans the steps with `planMigrations`). */
  runMigration(version: string, direction: 'up' | 'down', effects: Effects): Promise<void>;
  runInit(effects: Effects): Promise<void>;
  runUninit(effects: Effects): Promise<void>;
}

/**
 * An action that does not exist, or input that does not fit its schema.
 *
 * @example
 * catch (e) { if ((e as { code?: string }).code === 'action_input_invalid') … }
 */
export class ActionFailed extends SdkError {}

/**
 * Defines a package. Checks metadata, daemons, checks, actions, backup and migrations
 * together and throws {@link ManifestInvalid} naming every field at fault.
 *
 * @example
 * import { definePackage, defineAction } from '@hearth/sdk';
 * import { z } from 'zod';
 *
 * export default definePackage({
 *   id: 'hello-world',
 *   version: '1.0.0',
 *   title: 'Hello World',
 *   description: { short: 'Says hello on your network', long: 'A web page that says hello.' },
 *   license: 'MIT',
 *   upstreamRepo: 'https://example.org/hello',
 *   packageRepo: 'https://example.org/hello-package',
 *   icon: 'icon.svg',
 *   architectures: ['x86_64', 'arm64'],
 *   volumes: [{ id: 'data', name: 'Data', description: 'The greeting' }],
 *   interfaces: [{ id: 'web', name: 'Web page', description: 'The greeting page', protocol: 'http', port: 8080, kind: 'ui' }],
 *   resources: { memoryMiB: 32, cpus: 0.5 },
 *   daemons: [{ id: 'web', command: ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/srv/www'], ready: { kind: 'tcp', port: 8080 } }],
 *   healthChecks: [{ id: 'web', name: 'Web page', kind: 'http', url: 'http://127.0.0.1:8080/', expectStatus: 200 }],
 *   backup: { volumes: ['data'] },
 * });
 */
export function definePackage(input: PackageInput): PackageDefinition {
  const actions = input.actions ?? [];
  const migrations = [...(input.migrations ?? [])];
  const issues: string[] = [];
  const actionEntries = actions.map((a, i) => {
    let schema: Record<string, unknown> = { type: 'object' };
    // Duck-typed: the author's zod may be another copy than the SDK's.
    if ((a.input as { _zod?: { def?: { type?: string } } } | undefined)?._zod?.def?.type !== 'object') {
      issues.push(`actions[${i}].input: must be a zod object schema (z.object({...}))`);
    } else {
      try {
        schema = z.toJSONSchema(a.input, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
      } catch (e) {
        issues.push(`actions[${i}].input: cannot be expressed as JSON Schema (${(e as Error).message})`);
      }
    }
    if (typeof a.handler !== 'function') issues.push(`actions[${i}].handler: must be a function`);
    return {
      manifest: {
        id: a.id,
        name: a.name,
        description: a.description,
        input: schema,
        allowedStatuses: a.allowedStatuses,
      },
      action: a,
    };
  });
  migrations.forEach((m, i) => {
    if (typeof m.up !== 'function') issues.push(`migrations[${i}].up: must be a function`);
    if (m.down !== undefined && typeof m.down !== 'function')
      issues.push(`migrations[${i}].down: must be a function`);
  });
  if (issues.length) throw new ManifestInvalid(issues);

  const { actions: _a, backup, migrations: _m, init, uninit, healthChecks, ...metadata } = input;
  const declared = {
    ...metadata,
    healthChecks: healthChecks ?? [],
    actions: actionEntries.map((e) => e.manifest),
    ...(backup ? { backup: { volumes: backup.volumes, hasPre: !!backup.pre, hasPost: !!backup.post } } : {}),
    migrations: migrations.map((m) => ({ version: m.version, down: m.down !== undefined })),
    hasInit: init !== undefined,
    hasUninit: uninit !== undefined,
  };
  const manifest = parseDeclaredManifest(declared);
  for (const [i, cmd] of [backup?.pre, backup?.post].entries()) {
    if (cmd && (!Array.isArray(cmd.command) || cmd.command.length === 0))
      throw new ManifestInvalid([
        `backup.${i === 0 ? 'pre' : 'post'}.command: must be a non-empty argv array`,
      ]);
  }

  const byId = new Map(actionEntries.map((e) => [e.action.id, e.action]));
  const byVersion = new Map(migrations.map((m) => [m.version, m]));

  return Object.freeze({
    kind: 'hearth-package',
    definitionVersion: 1,
    sdkVersion: SDK_VERSION,
    manifest,
    backup: Object.freeze({
      ...(backup?.pre ? { pre: backup.pre } : {}),
      ...(backup?.post ? { post: backup.post } : {}),
    }),
    async runAction(id: string, raw: unknown, effects: Effects): Promise<ActionResult> {
      const action = byId.get(id);
      if (!action) throw new ActionFailed('action_not_found', `${manifest.id} has no action '${id}'`);
      const parsed = action.input.safeParse(raw);
      if (!parsed.success) {
        throw new ActionFailed(
          'action_input_invalid',
          `input of '${id}': ${formatIssues(parsed.error).join('; ')}`,
        );
      }
      return (await action.handler(parsed.data, effects)) ?? {};
    },
    async runMigration(version: string, direction: 'up' | 'down', effects: Effects): Promise<void> {
      const m = byVersion.get(version);
      const hook = direction === 'up' ? m?.up : m?.down;
      if (!hook)
        throw new ActionFailed(
          'migration_not_found',
          `${manifest.id} has no ${direction} migration for ${version}`,
        );
      await hook(effects);
    },
    async runInit(effects: Effects): Promise<void> {
      await init?.(effects);
    },
    async runUninit(effects: Effects): Promise<void> {
      await uninit?.(effects);
    },
  });
}

/**
 * The author-declared part of the manifest of a definition — including one loaded from
 * a bundle built against another copy of the SDK. Throws {@link PackFailed} if `value` is
 * not a package definition.
 *
 * @example
 * const { default: definition } = await import('./hearth.package.ts');
 * console.log(manifestOf(definition).interfaces);
 */
export function manifestOf(value: unknown): DeclaredManifest {
  const def = value as Partial<PackageDefinition> | null;
  if (typeof def !== 'object' || def === null || def.kind !== 'hearth-package') {
    throw new PackFailed('the package entry does not export a package definition', {
      hint: 'hearth.package.ts must `export default definePackage({ … })`',
    });
  }
  if (def.definitionVersion !== 1) {
    throw new PackFailed(
      `the package was defined with an SDK whose definition format (${def.definitionVersion}) this SDK does not know`,
    );
  }
  return parseDeclaredManifest(def.manifest, 'package definition');
}

export { type MigrationStep, planMigrations } from './migrations.ts';
export type { HealthCheck };
