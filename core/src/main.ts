import path from 'node:path';
import { describeError, runCli } from './cli/cli.ts';
import { startDaemonFromArgs } from './cli/daemon-command.ts';

/**
 * The multi-call entry point of the `hearth` binary: invoked as `hearthd` it is the
 * daemon; otherwise the first word decides (`hearth daemon`, `hearth server info`, …).
 * Only argv and signals are handled here.
 */
const invokedAs = path.basename(process.argv0);
const args = process.argv.slice(2);
const argv = invokedAs === 'hearthd' ? ['daemon', ...args] : args;

if (argv[0] === 'daemon') {
  // Signals are trapped before the daemon starts: one that arrives while it starts (it may
  // already have written daemon.json) stops it as soon as it is up, cleanly.
  let daemon: Awaited<ReturnType<typeof startDaemonFromArgs>> | undefined;
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
  startDaemonFromArgs(argv.slice(1)).then(
    (started) => {
      daemon = started;
      if (requested) stop(requested);
    },
    (err: unknown) => {
      process.stderr.write(`${describeError(err)}\n`);
      process.exit(1);
    },
  );
} else if (argv[0] === 'container-runtime') {
  // Inside a service container (runtime/container-runtime.ts); loaded only here.
  import('./runtime/container-runtime.ts').then(
    (m) => m.containerRuntimeMain(),
    (err: unknown) => {
      process.stderr.write(`${describeError(err)}\n`);
      process.exit(1);
    },
  );
} else {
  runCli(argv).then((code) => {
    process.exitCode = code;
  });
}
