import { spawn } from 'node:child_process';
import { planMigrations } from '#sdk/migrations.ts';
import type { BackupCommand, PackageDefinition } from '#sdk/package.ts';
import { HearthError } from '../errors.ts';
import { createLogger, formatFields, type Logger, type LogLevel, type LogSink } from '../log/log.ts';
import { VERSION } from '../version.ts';
import { Daemons, forwardLines, processOptions, readEtc } from './daemons.ts';
import { Health } from './health.ts';
import { HostLink } from './host-link.ts';
import { effectsOver, loadPackageCode, packageError } from './package-code.ts';
import { startingGraceMs } from './plan.ts';
import { killGroup } from './probes.ts';
import {
  CONTAINER_CODE,
  CONTAINER_SOCKET,
  checkedHandlers,
  RUNTIME,
  type RuntimeHandlers,
  type RuntimeManifest,
} from './protocol.ts';

/**
 * `hearth container-runtime`: the process inside every service container, the child of
 * LXC's static init (PID 1). It connects to the host's socket and registers; the answer
 * names the daemons and health checks from the package's manifest, which it then runs,
 * and it answers the host's `runtime.*` requests, loading the package's code the first
 * time one needs it (an action, a hook, a migration). The container's console is the package's log: daemon lines go
 * there as `[<daemon>] <line>`, the runtime's own as `hearth: <message>`.
 * The protocol is protocol.ts; the spec for package authors docs/effects.md.
 */

const HOOK_TIMEOUT_S = 600;
/** How long each daemon gets to stop after SIGTERM when the runtime itself is told to stop. */
export const SIGNAL_STOP_TIMEOUT_MS = 10_000;

export class HookCommandFailed extends HearthError {
  constructor(hook: string, message: string) {
    super('hook_command_failed', `the ${hook} command ${message}`);
  }
}

export class ActionNotFound extends HearthError {
  constructor(packageId: string, actionId: string) {
    super('action_not_found', `${packageId} has no action '${actionId}'`);
  }
}

export interface ContainerRuntimeOptions {
  /** The package's code bundle, loaded when a hook or an action first needs it. */
  codeFile: string;
  socketPath: string;
  log: Logger;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /**
   * The host that shut the daemons down went away before it stopped the container, and a
   * host registered the runtime again (see onRegistered): the process should end.
   */
  onOrphaned?: () => void;
  /** The daemons from the manifest cannot run (a `requires` cycle): the process should end. */
  onUnrunnable?: (error: unknown) => void;
}

export class ContainerRuntime {
  readonly #o: ContainerRuntimeOptions;
  readonly #link: HostLink;
  /** Made at the first register, from the manifest the host sends. */
  #daemons: Daemons | null = null;
  #health: Health | null = null;
  /** runtime.shutdown came before there were daemons: none may start. */
  #shutDown = false;
  #code: PackageDefinition | null = null;

  constructor(options: ContainerRuntimeOptions) {
    this.#o = options;
    this.#link = new HostLink({
      socketPath: options.socketPath,
      handlers: checkedHandlers(RUNTIME, this.#handlers()),
      register: () => ({ runtimeVersion: VERSION, pid: process.pid }),
      // The first answer to register is the host's go-ahead: it runs init or migrations first.
      onRegistered: (info, first) => {
        if (!first && this.stopping) {
          // Shut down for a stop, restart or update whose host died before it stopped the
          // container: the host now registering believes the package runs, and nothing here
          // would start its daemons again. Ending the runtime ends the container, which the
          // host sees and puts back as the package should be (found by the fault test).
          options.log.warn('registered again after the daemons were shut down: ending the container');
          options.onOrphaned?.();
          return;
        }
        if (!first || this.stopping) return;
        let daemons: Daemons;
        try {
          daemons = this.#run(info.manifest);
        } catch (e) {
          options.onUnrunnable?.(e);
          return;
        }
        if (info.startDaemons === false) {
          options.log.info('the host holds the daemons: this container runs package code only');
          return;
        }
        daemons.start();
        this.#health?.start();
      },
      log: options.log.child('host'),
    });
  }

  /** The daemons, once the host has said which (at the first register). */
  get daemons(): Daemons | null {
    return this.#daemons;
  }

  get stopping(): boolean {
    return this.#shutDown || (this.#daemons?.stopping ?? false);
  }

  start(): void {
    this.#o.log.info('starting', { version: VERSION, socket: this.#o.socketPath });
    this.#link.start();
  }

  /** Stops the daemons in reverse order and closes the channel. */
  async stop(timeoutMs: number): Promise<void> {
    this.#shutDown = true;
    this.#health?.stop();
    await this.#daemons?.shutdown(timeoutMs);
    await this.#link.close();
  }

  /** The daemons and checks of the manifest, made once; a `requires` cycle throws here. */
  #run(manifest: RuntimeManifest): Daemons {
    const daemons = new Daemons({
      daemons: manifest.daemons,
      stdout: this.#o.stdout,
      stderr: this.#o.stderr,
      log: this.#o.log.child('daemons'),
      onState: (e) => {
        void this.#link.report(`daemon:${e.daemonId}`, 'effects.daemonState', {
          daemonId: e.daemonId,
          state: e.state,
          ...(e.exitCode === undefined ? {} : { exitCode: e.exitCode }),
          ...(e.message === undefined ? {} : { message: e.message }),
        });
        // A crash shows in the health at once, not at the next scheduled probe.
        if (e.state === 'failed') this.#health?.recheck();
      },
    });
    this.#health = new Health({
      checks: manifest.healthChecks,
      graceMs: startingGraceMs(manifest.daemons),
      onChange: (r) =>
        void this.#link.report(`health:${r.checkId}`, 'effects.setHealth', {
          checkId: r.checkId,
          status: r.status,
          message: r.message,
        }),
    });
    this.#daemons = daemons;
    return daemons;
  }

  /**
   * The package's code, loaded at the first call that runs it: an idle container that
   * never runs an action or a hook never holds it (nor the SDK and zod inside it).
   */
  #definition(): PackageDefinition {
    if (!this.#code) {
      try {
        this.#code = loadPackageCode(this.#o.codeFile);
      } catch (e) {
        this.#o.log.error(
          (e as Error).message,
          e instanceof HearthError && e.hint ? { hint: e.hint } : undefined,
        );
        throw e;
      }
    }
    return this.#code;
  }

  #handlers(): RuntimeHandlers {
    const effects = effectsOver(() => this.#link);
    const guarded = async <T>(f: () => Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (e) {
        throw packageError(e);
      }
    };
    const ok = { ok: true as const };
    return {
      'runtime.status': () => ({
        daemons: this.#daemons?.status() ?? [],
        health: this.#health?.results() ?? [],
      }),
      'runtime.action.run': async ({ actionId, input }) => {
        const definition = this.#definition();
        // The code's own manifest: the host may ask before it has answered register.
        const { id, actions } = definition.manifest;
        if (!actions.some((a) => a.id === actionId)) throw new ActionNotFound(id, actionId);
        const result = await guarded(() => definition.runAction(actionId, input, effects));
        return { result };
      },
      'runtime.backup.pre': async () => {
        const { pre } = this.#definition().backup;
        if (pre) await this.#hook('backup-pre', pre);
        return ok;
      },
      'runtime.backup.post': async () => {
        const { post } = this.#definition().backup;
        if (post) await this.#hook('backup-post', post);
        return ok;
      },
      'runtime.migrate': async ({ from, to }) => {
        const definition = this.#definition();
        const steps = await guarded(async () => planMigrations(definition.manifest.migrations, from, to));
        for (const step of steps) {
          this.#o.log.info('migration', { version: step.version, direction: step.direction });
          await guarded(() => definition.runMigration(step.version, step.direction, effects));
        }
        return ok;
      },
      'runtime.init': async () => {
        const definition = this.#definition();
        await guarded(() => definition.runInit(effects));
        return ok;
      },
      'runtime.uninit': async () => {
        const definition = this.#definition();
        await guarded(() => definition.runUninit(effects));
        return ok;
      },
      'runtime.shutdown': async ({ timeoutSeconds }) => {
        this.#shutDown = true;
        this.#health?.stop();
        await this.#daemons?.shutdown(timeoutSeconds * 1000);
        return ok;
      },
    };
  }

  /** A backup command: its output to the console, a non-zero exit or the timeout an error. */
  #hook(name: string, cmd: BackupCommand): Promise<void> {
    const timeoutMs = (cmd.timeoutSeconds ?? HOOK_TIMEOUT_S) * 1000;
    return new Promise((resolve, reject) => {
      let last = '';
      const child = spawn(cmd.command[0]!, cmd.command.slice(1), {
        ...processOptions(cmd, readEtc()),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      forwardLines(child.stdout, `[${name}] `, this.#o.stdout);
      forwardLines(child.stderr, `[${name}] `, this.#o.stderr, (line) => {
        if (line.trim()) last = line.trim();
      });
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new HookCommandFailed(name, `cannot run: ${e.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(
            new HookCommandFailed(
              name,
              `${signal ? `was killed by ${signal}` : `exited with ${code}`}${last ? `: ${last.slice(0, 300)}` : ''}`,
            ),
          );
      });
    });
  }
}

/** `hearth: [warn] message k=v` on the console, beside the daemons' `[id] …` lines. */
function consoleSink(stream: NodeJS.WritableStream): LogSink {
  return (r) => {
    const level = r.level === 'info' ? '' : `[${r.level}] `;
    stream.write(`hearth: ${level}${r.scope ? `${r.scope}: ` : ''}${r.msg}${formatFields(r.fields)}\n`);
  };
}

/**
 * The entry point (main.ts): HEARTH_SOCKET and HEARTH_CODE override where the host's
 * socket and the package code are. SIGTERM or SIGINT stop the daemons in order, then the
 * runtime exits 0. Daemons that cannot run (a `requires` cycle) are exit 1 with the reason
 * on the console; code that cannot be loaded is the error of the call that needed it.
 */
export function containerRuntimeMain(env: NodeJS.ProcessEnv = process.env): void {
  const level = (['debug', 'info', 'warn', 'error'] as LogLevel[]).find((l) => l === env['HEARTH_LOG_LEVEL']);
  const log = createLogger({ level: level ?? 'info', sinks: [consoleSink(process.stderr)] });
  process.title = 'hearth-runtime';
  const runtime = new ContainerRuntime({
    codeFile: env['HEARTH_CODE'] || CONTAINER_CODE,
    socketPath: env['HEARTH_SOCKET'] || CONTAINER_SOCKET,
    log,
    stdout: process.stdout,
    stderr: process.stderr,
    onOrphaned: () => stop('orphaned'),
    onUnrunnable: (e) => {
      log.error((e as Error).message);
      process.exit(1);
    },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    runtime.stop(SIGNAL_STOP_TIMEOUT_MS).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('stop failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The console may go away under us (EIO, EPIPE): losing log lines must not stop the service.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  // A stray rejected promise of package code is its bug, not a reason to stop the service.
  process.on('unhandledRejection', (error) => log.error('unhandled rejection', { error }));
  // A runtime that dies leaves no daemons unsupervised: init then has nothing left and
  // the container stops, which the host sees and acts on.
  process.on('uncaughtException', (error) => {
    log.error('runtime failed', { error });
    runtime.daemons?.killAll();
    process.exit(1);
  });
  runtime.start();
}
