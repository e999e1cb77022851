import path from 'node:path';
import { runCli } from './cli/cli.ts';

/**
 * The multi-call entry point of the `hearth` binary. It only picks what to run:
 * invoked as `hearthd` it is the daemon; otherwise the first word decides
 * (`hearth daemon`, `hearth version`, `hearth server info`, …).
 */
const invokedAs = path.basename(process.argv0);
const args = process.argv.slice(2);
const argv = invokedAs === 'hearthd' ? ['daemon', ...args] : args;

runCli(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`hearth: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
