import path from 'node:path';
import type { RunningDaemon } from './daemon.ts';

/**
 * The multi-call entry point of the `hearth` binary: invoked as `hearthd` it is the
 * daemon; otherwise the first word decides (`hearth daemon`, `hearth server info`, …).
 * Only argv and signals are handled here.
 *
 * Each role is imported when it is chosen, never at the top: the bundle (build/bundle.ts)
 * then wraps every module in a function run at its first import, so the container runtime
 * in each service container does not load the daemon, the CLI, their schemas and libraries
 * (ARCHITECTURE.md, "Memory"). build/bundle.ts refuses a bundle where that no longer holds.
 */
const invokedAs = path.basename(process.argv0);
const args = process.argv.slice(2);
const argv = invokedAs === 'hearthd' ? ['daemon', ...args] : args;

/**
 * The one line for an error that ends the process, in the CLI's words — said by the role's
 * own `describe` when it has one: in the binary each role is a bundle of its own, and only
 * the bundle whose classes made the error knows it for one of ours.
 */
function fail(err: unknown, describe?: (e: unknown) => string): void {
  (describe ? Promise.resolve(describe) : import('./cli/cli.ts').then((m) => m.describeError))
    .then(
      (d) => process.stderr.write(`${d(err)}\n`),
      () =>
        process.stderr.write(`hearth: internal error: ${err instanceof Error ? err.message : String(err)}\n`),
    )
    .finally(() => process.exit(1));
}

if (argv[0] === 'daemon') {
  // Signals are trapped before the daemon starts: one that arrives while it starts (it may
  // already have written daemon.json) stops it as soon as it is up, cleanly.
  let daemon: RunningDaemon | undefined;
  let requested: string | undefined;
  const stop = (signal: string) => {
    requested ??= signal;
    if (!daemon) return;
    daemon.log.info('signal', { signal: requested });
    daemon.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  import('./cli/daemon-command.ts').then(
    (m) =>
      m.startDaemonFromArgs(argv.slice(1)).then(
        (started) => {
          daemon = started;
          if (requested) stop(requested);
        },
        (err: unknown) => fail(err, m.describeError),
      ),
    (err: unknown) => fail(err),
  );
} else if (argv[0] === 'container-runtime') {
  // Inside a service container (runtime/container-runtime.ts): it reports its own errors on
  // the console; only one that escapes its start comes here, and it costs no CLI to print.
  import('./runtime/container-runtime.ts').then(
    (m) => m.containerRuntimeMain(),
    (err: unknown) => {
      process.stderr.write(`hearth: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  import('./cli/cli.ts')
    .then((m) => m.runCli(argv))
    .then((code) => {
      process.exitCode = code;
    }, fail);
}
