import { spawn } from 'node:child_process';
import path from 'node:path';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';

export class CommandFailed extends HearthError {
  readonly argv: string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(argv: string[], exitCode: number | null, stderr: string, signal: string | null, stdout = '') {
    const how = signal ? `was killed by ${signal}` : `exited with ${exitCode}`;
    // What it printed stays here and goes to the daemon's log, not to callers: it can name
    // paths and internals, and it is rarely what a person can act on.
    super('command_failed', `${path.basename(argv[0] ?? '')} ${how}`, {
      hint: 'the daemon’s log (server.logs) has what it printed',
      data: { command: path.basename(argv[0] ?? ''), exitCode },
    });
    this.argv = argv;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export class CommandNotFound extends HearthError {
  constructor(command: string, debianPackage?: string) {
    super('command_not_found', `${command} is not installed`, {
      ...(debianPackage ? { hint: `apt-get install ${debianPackage}` } : {}),
    });
  }
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  log?: Logger;
  /** The Debian package that provides argv[0], named in the error if it is missing. */
  debianPackage?: string;
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * The one way Hearth runs a program: an argv array (never a shell string), logged at
 * debug level; a non-zero exit throws CommandFailed with argv, exit code and stderr.
 */
export function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  options.log?.debug('run', { argv });
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      signal: options.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new CommandNotFound(argv[0]!, options.debianPackage) : e);
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      options.log?.debug('ran', { argv0: argv[0], code, ms: Math.round(performance.now() - started) });
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandFailed(argv, code, stderr, signal, stdout));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  });
}

/**
 * Runs a long-lived program and yields its stdout line by line until it exits or
 * `signal` aborts (which kills it).
 */
export async function* runLines(
  argv: string[],
  options: RunOptions & { signal: AbortSignal },
): AsyncGenerator<string> {
  options.log?.debug('run (lines)', { argv });
  const child = spawn(argv[0]!, argv.slice(1), {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.kill('SIGTERM');
  options.signal.addEventListener('abort', kill, { once: true });
  const failed = new Promise<never>((_, reject) =>
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new CommandNotFound(argv[0]!, options.debianPackage) : e),
    ),
  );
  failed.catch(() => {});
  try {
    let rest = '';
    for await (const chunk of child.stdout) {
      rest += (chunk as Buffer).toString('utf8');
      const lines = rest.split('\n');
      rest = lines.pop()!;
      yield* lines;
    }
    if (rest) yield rest;
    if (child.exitCode === null && child.signalCode === null) await Promise.race([failed, onceClosed(child)]);
  } finally {
    options.signal.removeEventListener('abort', kill);
    if (child.exitCode === null) kill();
  }
}

const onceClosed = (child: ReturnType<typeof spawn>) =>
  new Promise<void>((r) => child.once('close', () => r()));

export interface StreamOptions extends RunOptions {
  /** Each line of stdout, at most `maxLineBytes` long; longer lines are dropped (counted). */
  onLine: (line: string) => void;
  maxLineBytes?: number;
  /** How much of stderr's end is kept for the error (the rest is dropped as it comes). */
  stderrTailBytes?: number;
}

/**
 * Runs a program whose output may be long or hostile (restic's progress): stdout is handed
 * over line by line and never held whole, stderr only as its last `stderrTailBytes`, so
 * what the program prints costs bounded memory however much it prints.
 */
export function runStreaming(
  argv: string[],
  options: StreamOptions,
): Promise<{ stderr: string; droppedLines: number }> {
  const maxLine = options.maxLineBytes ?? 64 * 1024;
  const tail = options.stderrTailBytes ?? 16 * 1024;
  options.log?.debug('run (stream)', { argv });
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      signal: options.signal,
    });
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let overlong = false;
    let droppedLines = 0;
    let err = Buffer.alloc(0);
    const line = (b: Buffer) => {
      try {
        options.onLine(b.toString('utf8'));
      } catch (e) {
        options.log?.warn('a line of output was not handled', { error: e });
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      let from = 0;
      for (let nl = d.indexOf(10, from); nl !== -1; nl = d.indexOf(10, from)) {
        const piece = d.subarray(from, nl);
        if (overlong || partialBytes + piece.length > maxLine) droppedLines++;
        else line(Buffer.concat([...partial, piece]));
        partial = [];
        partialBytes = 0;
        overlong = false;
        from = nl + 1;
      }
      const rest = d.subarray(from);
      if (overlong || partialBytes + rest.length > maxLine) {
        overlong = true;
        partial = [];
        partialBytes = 0;
      } else if (rest.length > 0) {
        partial.push(Buffer.from(rest));
        partialBytes += rest.length;
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err = Buffer.concat([err, d]);
      if (err.length > tail) err = err.subarray(err.length - tail);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new CommandNotFound(argv[0]!, options.debianPackage) : e);
    });
    child.on('close', (code, signal) => {
      if (overlong) droppedLines++;
      else if (partialBytes > 0) line(Buffer.concat(partial));
      const stderr = err.toString('utf8');
      if (code === 0) resolve({ stderr, droppedLines });
      else reject(new CommandFailed(argv, code, stderr, signal));
    });
  });
}
