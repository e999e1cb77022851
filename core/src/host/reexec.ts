import sea from 'node:sea';

/**
 * Replaces this process with a fresh run of the same program and arguments (plus
 * `extraArgs`, which win over earlier flags of the same name), keeping its PID: systemd
 * and whoever started it go on tracking the same process, and stdin, stdout and stderr
 * stay connected. Everything else is dropped by the kernel (Node opens every other
 * descriptor close-on-exec), so stop cleanly first. Never returns.
 *
 * In the single executable, Node puts the executable's path at argv[1] itself and applies
 * the embedded execArgv; from source, the Node flags and the script come first.
 */
export function reexecSelf(extraArgs: string[], env: NodeJS.ProcessEnv): never {
  const prefix = sea.isSea() ? [] : [...process.execArgv, process.argv[1]!];
  const args = [process.argv0, ...prefix, ...process.argv.slice(2), ...extraArgs];
  process.execve!(process.execPath, args, env);
  throw new Error('execve returned');
}
