import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HearthClient } from '../src/client/client.ts';
import { type NodeTarget, nodeTransport } from '../src/client/node-transport.ts';
import { WsClient } from '../src/client/ws-client.ts';
import type { DaemonInfo } from '../src/daemon.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

/**
 * How to run `hearth`: the built binary named by HEARTH_BIN (what `make test` does), or
 * the sources on the running Node (a quick loop while developing).
 */
export function hearthCommand(): string[] {
  const bin = process.env['HEARTH_BIN'];
  return bin ? [bin] : [process.execPath, path.join(REPO, 'core/src/main.ts')];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runHearth(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const [cmd, ...pre] = hearthCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...pre, ...args], { env: { ...process.env, ...options.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export interface TestDaemon {
  root: string;
  url: string;
  port: number;
  pid: number;
  /** Root's local cookie: an admin credential. */
  localToken: string;
  /** A typed client over HTTP; with a bearer, or headers to act as a browser. */
  client(target?: Partial<NodeTarget>): HearthClient;
  ws(target?: Partial<NodeTarget>): Promise<WsClient>;
  /** Runs the CLI against this daemon (local socket via --root). */
  cli(args: string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** SIGTERM and wait. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
  /** Starts a new daemon on the same root (after stop or kill). */
  restart(): Promise<TestDaemon>;
  /** Everything the daemon printed. */
  output(): string;
  /** Stops the daemon if it runs and removes its root. */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  root?: string;
  /** Development mode (the default here): no power control. */
  dev?: boolean;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Starts `hearth daemon` in a temporary root on a free port and waits until it answers. */
export async function startTestDaemon(options: StartOptions = {}): Promise<TestDaemon> {
  const root = options.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-test-'));
  // Like / on a box: searchable by containers' unprivileged roots on their way to volumes.
  fs.chmodSync(root, 0o711);
  const infoFile = path.join(root, 'run/hearth/daemon.json');
  fs.rmSync(infoFile, { force: true });
  const [cmd, ...pre] = hearthCommand();
  const child = spawn(
    cmd!,
    [
      ...pre,
      'daemon',
      ...['--root', root, '--port', '0', '--listen', '127.0.0.1'],
      // Not in development mode, HTTPS opens after setup: on a free port, as the plain one.
      ...(options.dev === false ? ['--https-port', '0'] : ['--dev']),
      ...(options.args ?? []),
    ],
    {
      env: { ...process.env, HEARTH_METRICS_INTERVAL_SECONDS: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  // 'close', not 'exit': by then everything the daemon printed has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });

  const deadline = Date.now() + 30_000;
  let info: DaemonInfo | undefined;
  try {
    while (!info) {
      if (done) throw new Error(`the daemon exited before it was ready:\n${output}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the daemon did not get ready in 30 s:\n${output}`);
      }
      try {
        const read = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as DaemonInfo;
        if (read.pid === child.pid) info = read;
      } catch {}
      if (!info) await sleep(20);
    }
  } catch (e) {
    // A root this call made is this call's to remove; a caller's root stays for a restart.
    if (!options.root && !process.env['HEARTH_TEST_KEEP']) fs.rmSync(root, { recursive: true, force: true });
    throw e;
  }
  const url = `http://127.0.0.1:${info.port}`;
  const localToken = fs.readFileSync(path.join(root, 'run/hearth/local.cookie'), 'utf8').trim();
  return makeHandle(child, root, url, info, localToken, exited, () => output, options);
}

function makeHandle(
  child: ChildProcess,
  root: string,
  url: string,
  info: DaemonInfo,
  localToken: string,
  exited: Promise<number | null>,
  output: () => string,
  options: StartOptions,
): TestDaemon {
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    root,
    url,
    port: info.port,
    pid: child.pid!,
    localToken,
    client: (t = {}) => new HearthClient(nodeTransport({ url, ...t })),
    ws: (t = {}) => WsClient.connect({ url, ...t }),
    cli: (args, o = {}) => runHearth(['--root', root, ...args], o),
    stop: async () => {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    restart: () => startTestDaemon({ ...options, root }),
    output,
    cleanup: async () => {
      if (alive()) {
        child.kill('SIGKILL');
        await exited;
      }
      // HEARTH_TEST_KEEP=1 keeps the root (database, log) to look at after a failure.
      if (!process.env['HEARTH_TEST_KEEP']) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export const PASSWORD = 'correct horse battery staple';

/** Finishes setup and returns an admin session token. */
export async function setUp(d: TestDaemon): Promise<string> {
  const s = await d.client().call('setup.execute', { hostname: 'testbox', password: PASSWORD });
  return s.token;
}

/**
 * Polls package.get until every health check of `id` reports success in a result taken at
 * or after `since` (ms; the daemon runs on this machine's clock): a result from before a
 * crash, a restart or an update says nothing about now. Past `timeoutMs` it fails with the
 * checks, the status and the package's last log lines.
 */
export async function untilHealthy(
  client: Pick<HearthClient, 'call'>,
  id: string,
  o: { since: number; timeoutMs: number; pollMs: number },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const pkg = (await client.call('package.get', { id })) as {
      health?: Record<string, { status: string; at: number }>;
      status: string;
    };
    const checks = Object.values(pkg.health ?? {});
    if (checks.length > 0 && checks.every((c) => c.status === 'success' && c.at >= o.since)) return;
    if (Date.now() > deadline) {
      const logs = await client.call('package.logs', { id, lines: 50 }).catch(() => ({ lines: [] }));
      throw new Error(
        `${id} is not healthy since ${new Date(o.since).toISOString()} (${JSON.stringify(pkg.health)}, ${pkg.status}):\n${logs.lines.join('\n')}`,
      );
    }
    await sleep(o.pollMs);
  }
}
