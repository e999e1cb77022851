import { type ChildProcess, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SdkError } from './errors.ts';

/**
 * The SDK's one way to run a program (the pattern of core/src/host/run.ts; the SDK does
 * not import core): an argv array, never a shell string; a non-zero exit throws
 * {@link CommandFailed} with argv, exit code and the end of stderr.
 */

/**
 * A program exited non-zero or was killed.
 *
 * @example
 * try { await run(['mksquashfs', dir, out]); } catch (e) { if (e instanceof CommandFailed) console.error(e.stderr); }
 */
export class CommandFailed extends SdkError {
  readonly argv: string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(argv: string[], exitCode: number | null, stderr: string, signal: string | null) {
    const how = signal ? `was killed by ${signal}` : `exited with ${exitCode}`;
    const last = stderr.trim().split('\n').slice(-3).join(' | ');
    super('command_failed', `${argv[0]} ${how}${last ? `: ${last}` : ''}`, {
      data: { command: argv[0], exitCode },
    });
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/**
 * A program that is not installed; the hint names the Debian package.
 *
 * @example
 * throw new CommandNotFound('tar2sqfs', 'squashfs-tools-ng');
 */
export class CommandNotFound extends SdkError {
  constructor(command: string, debianPackage?: string) {
    super('command_not_found', `${command} is not installed`, {
      ...(debianPackage ? { hint: `apt-get install ${debianPackage}` } : {}),
    });
  }
}

export type RunInput = string | Buffer | Readable | AsyncIterable<Uint8Array>;

export interface RunOptions {
  /** Fed to stdin; a stream or async iterable is piped with back-pressure. */
  input?: RunInput;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** The Debian package that provides argv[0], named in the error if it is missing. */
  debianPackage?: string;
  /** Called with each argv before it runs (debug logging). */
  trace?: (argv: string[]) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

// Long-running tools (mmdebstrap) can print a lot; the error only needs the end.
const STDERR_KEEP = 64 * 1024;

interface Started {
  child: ChildProcess;
  /** Resolves with stderr once the program exits 0; rejects with CommandFailed otherwise. */
  done: Promise<string>;
}

function start(argv: string[], options: RunOptions, stdout: 'pipe' | 'ignore'): Started {
  options.trace?.(argv);
  const child = spawn(argv[0]!, argv.slice(1), {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['pipe', stdout, 'pipe'],
    timeout: options.timeoutMs,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEEP);
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new CommandNotFound(argv[0]!, options.debianPackage) : e);
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stderr);
      else reject(new CommandFailed(argv, code, stderr, signal));
    });
  });
  return { child, done };
}

/** Feeds `input` to the child's stdin; a child that stops reading early is its own error. */
async function feed(child: ChildProcess, input: RunInput | undefined): Promise<void> {
  const stdin = child.stdin!;
  if (input === undefined || typeof input === 'string' || Buffer.isBuffer(input)) {
    stdin.on('error', () => {});
    stdin.end(input);
    return;
  }
  const source = input instanceof Readable ? input : Readable.from(input);
  await pipeline(source, stdin);
}

/**
 * Runs `argv` to completion and returns its output.
 *
 * @example
 * const { stdout } = await run(['unsquashfs', '-l', 'root.squashfs'], { debianPackage: 'squashfs-tools' });
 */
export async function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const { child, done } = start(argv, options, 'pipe');
  const out: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  const fed = feed(child, options.input);
  // The program's own failure explains a broken pipe better than the EPIPE does.
  const [ran, wrote] = await Promise.allSettled([done, fed]);
  if (ran.status === 'rejected') throw ran.reason;
  if (wrote.status === 'rejected') throw wrote.reason;
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: ran.value };
}

/**
 * Runs `producer | consumer` (both argv arrays, no shell). When both fail, the
 * producer's error is reported unless it only died of the broken pipe.
 *
 * @example
 * await runPipe(['mmdebstrap', '--variant=minbase', 'bookworm', '-'], ['tar2sqfs', '-q', 'root.squashfs']);
 */
export async function runPipe(
  producer: string[],
  consumer: string[],
  options: { producer?: RunOptions; consumer?: RunOptions } = {},
): Promise<void> {
  const p = start(producer, options.producer ?? {}, 'pipe');
  p.child.stdin!.on('error', () => {});
  p.child.stdin!.end();
  const c = start(consumer, options.consumer ?? {}, 'ignore');
  const fed = pipeline(p.child.stdout!, c.child.stdin!);
  const [pr, cr, fr] = await Promise.allSettled([p.done, c.done, fed]);
  if (pr.status === 'rejected') {
    const e = pr.reason;
    const brokenPipe = e instanceof CommandFailed && e.message.includes('SIGPIPE');
    if (!brokenPipe || cr.status === 'fulfilled') throw e;
  }
  if (cr.status === 'rejected') throw cr.reason;
  if (fr.status === 'rejected') throw fr.reason;
}
