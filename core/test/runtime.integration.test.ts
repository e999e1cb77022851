import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundleCode } from '#sdk/pack/bundle.ts';
import { RpcPeer } from '../src/runtime/peer.ts';
import {
  checkedHandlers,
  EFFECTS,
  type EffectName,
  type EffectsHost,
  type RuntimeManifest,
} from '../src/runtime/protocol.ts';
import {
  cleanups,
  containerHost,
  httpGet,
  INDEX,
  leaseNetwork,
  lxcSkipReason,
  timed,
} from './lxc-harness.ts';
import { alive } from './processes.ts';
import { required } from './required.ts';

/**
 * `hearth container-runtime` against a test host: an RpcPeer on a unix socket answering
 * effects.* with a recording fake, driving runtime.* like the daemon will.
 * (a) the runtime as a plain process on this machine, running busybox daemons;
 * (b) the built binary inside a real unprivileged LXC container, PID 1 being LXC's static
 * init and the runtime running through the host's loader (runtime/launch.ts).
 */

const repo = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(repo, 'core/src/main.ts');
const BUSYBOX = '/bin/busybox';
const HEARTH_BIN = path.resolve(repo, process.env['HEARTH_BIN'] ?? 'out/hearth-x86_64');

// --- the test host ----------------------------------------------------------------------

interface Call {
  method: EffectName;
  params: Record<string, unknown>;
  at: number;
}

/** The host's end: listens, answers effects.* and records them; can go away and come back. */
class TestHost {
  readonly calls: Call[] = [];
  peer: RpcPeer | null = null;
  #server: net.Server | null = null;
  readonly #socket: string;
  readonly #owner: { uid: number; gid: number } | undefined;
  /** Runs inside the register handler, before the answer (as a host running init would). */
  beforeRegister: ((host: TestHost) => Promise<void>) | undefined;
  /** What register answers the runtime should run: the host's manifest, as the daemon sends it. */
  readonly #manifest: RuntimeManifest;

  constructor(socket: string, manifest: RuntimeManifest, owner?: { uid: number; gid: number }) {
    this.#socket = socket;
    this.#manifest = manifest;
    this.#owner = owner;
  }

  async listen(): Promise<void> {
    fs.rmSync(this.#socket, { force: true });
    const record =
      <N extends EffectName>(method: N, answer: (p: Record<string, unknown>) => unknown) =>
      (params: unknown) => {
        this.calls.push({ method, params: params as Record<string, unknown>, at: performance.now() });
        return answer(params as Record<string, unknown>);
      };
    const ok = () => ({ ok: true as const });
    const fake = {
      'effects.register': record('effects.register', async () => {
        await this.beforeRegister?.(this);
        return { packageId: 'rt-test', version: '1.0.0', manifest: this.#manifest };
      }),
      'effects.setHealth': record('effects.setHealth', ok),
      'effects.daemonState': record('effects.daemonState', ok),
      'effects.getInterfaces': record('effects.getInterfaces', () => []),
      'effects.getInterface': record('effects.getInterface', () => null),
      'effects.getCertificate': record('effects.getCertificate', () => null),
      'effects.notify': record('effects.notify', ok),
      'effects.getDependency': record('effects.getDependency', () => null),
      'effects.getSelf': record('effects.getSelf', () => ({
        id: 'rt-test',
        version: '1.0.0',
        status: 'running',
        architecture: 'x86_64',
        containerAddress: '10.0.0.2',
      })),
    } as EffectsHost;
    const handlers = checkedHandlers(EFFECTS, fake);
    const server = net.createServer((conn) => {
      this.peer?.close();
      this.peer = new RpcPeer(conn, { handlers });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#socket, () => resolve());
    });
    // As the daemon does it (packages/effects-host.ts): only the container's root connects.
    if (this.#owner) {
      fs.chownSync(this.#socket, this.#owner.uid, this.#owner.gid);
      fs.chmodSync(this.#socket, 0o600);
    }
    this.#server = server;
  }

  /** Like a host daemon that stops: the listener and the connection go. */
  async close(): Promise<void> {
    this.peer?.close();
    this.peer = null;
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(this.#socket, { force: true });
  }

  call(method: string, params: unknown, timeoutMs = 30_000): Promise<unknown> {
    if (!this.peer) throw new Error('no runtime connected');
    return this.peer.call(method, params, timeoutMs);
  }

  of(method: EffectName, since = 0): Call[] {
    return this.calls.slice(since).filter((c) => c.method === method);
  }

  /** The first call after index `since` that `match` accepts. */
  async waitFor(
    method: EffectName,
    match: (p: Record<string, unknown>) => boolean,
    o: { since?: number; timeoutMs?: number } = {},
  ): Promise<Call> {
    const until = Date.now() + (o.timeoutMs ?? 20_000);
    for (;;) {
      const found = this.of(method, o.since).find((c) => match(c.params));
      if (found) return found;
      if (Date.now() > until) {
        const seen = this.calls.map((c) => `${c.method} ${JSON.stringify(c.params)}`).join('\n  ');
        throw new Error(`no ${method} as expected within ${o.timeoutMs ?? 20_000} ms; calls:\n  ${seen}`);
      }
      await sleep(20);
    }
  }
}

const daemon = (id: string, state: string) => (p: Record<string, unknown>) =>
  p['daemonId'] === id && p['state'] === state;
const health = (id: string, status: string) => (p: Record<string, unknown>) =>
  p['checkId'] === id && p['status'] === status;

// --- the package ------------------------------------------------------------------------

/** A package definition as its author would write it, bundled the way `pack` does. */
async function bundlePackage(dir: string, source: string): Promise<string> {
  const codeDir = path.join(dir, 'code');
  fs.mkdirSync(codeDir, { recursive: true, mode: 0o755 });
  const entry = path.join(dir, 'hearth.package.ts');
  fs.writeFileSync(entry, source);
  await bundleCode(entry, path.join(codeDir, 'index.js'), { sdkDir: path.join(repo, 'sdk') });
  fs.chmodSync(codeDir, 0o755);
  fs.chmodSync(path.join(codeDir, 'index.js'), 0o644);
  return codeDir;
}

/** What the daemon would send in register's answer: from the manifest pack derives from the code. */
function manifestOf(codeDir: string): RuntimeManifest {
  const file = path.join(codeDir, 'index.js');
  const { manifest } = (createRequire(file)(file) as { default: { manifest: RuntimeManifest } }).default;
  return { daemons: manifest.daemons, healthChecks: manifest.healthChecks };
}

interface PackageShape {
  port: number;
  www: string;
  /** While this file exists the web daemon refuses to start (a crash loop on demand). */
  flag: string;
  busybox: string;
  /** Adds a daemon that ignores SIGTERM. */
  stubborn?: boolean;
}

function packageSource(p: PackageShape): string {
  const web = `if [ -e ${p.flag} ]; then echo refusing to start; exit 3; fi; exec ${p.busybox} httpd -f -p ${p.port} -h ${p.www}`;
  return `
import { defineAction, definePackage } from '@hearth/sdk';
import { z } from 'zod';

export default definePackage({
  id: 'rt-test',
  version: '1.0.0',
  title: 'Runtime test',
  description: { short: 'Exercises the container runtime', long: 'Daemons, checks, actions, hooks.' },
  license: 'MIT',
  upstreamRepo: 'https://example.org/rt',
  packageRepo: 'https://example.org/rt-package',
  icon: 'icon.svg',
  architectures: ['x86_64', 'arm64'],
  interfaces: [{ id: 'web', name: 'Web', description: 'The page', protocol: 'http', port: ${p.port}, kind: 'ui' }],
  resources: { memoryMiB: 64, cpus: 0.5 },
  daemons: [
    {
      id: 'web',
      command: ['${p.busybox}', 'sh', '-c', ${JSON.stringify(web)}],
      ready: { kind: 'tcp', port: ${p.port} },
      startTimeoutSeconds: 20,
    },
    {
      id: 'worker',
      command: ['${p.busybox}', 'sh', '-c', 'echo "uid $(id -u) in $PWD as $USER"; while true; do echo tick; sleep 1; done'],
      requires: ['web'],
      user: 'nobody',
      env: { GREETING: 'hi' },
    },
    ${
      p.stubborn
        ? `{
      id: 'stubborn',
      command: ['${p.busybox}', 'sh', '-c', "trap '' TERM; while true; do ${p.busybox} sleep 1; done"],
    },`
        : ''
    }
  ],
  healthChecks: [
    {
      id: 'web',
      name: 'Web page',
      kind: 'http',
      url: 'http://127.0.0.1:${p.port}/',
      intervals: { startingSeconds: 1, healthySeconds: 1 },
      timeoutSeconds: 2,
    },
    {
      id: 'page',
      name: 'Page file',
      kind: 'command',
      command: ['${p.busybox}', 'test', '-f', '${p.www}/index.html'],
      intervals: { startingSeconds: 1, healthySeconds: 5 },
    },
  ],
  actions: [
    defineAction({
      id: 'greet',
      name: 'Greet',
      description: 'Says hello through the host',
      input: z.object({ name: z.string().min(1) }),
      allowedStatuses: ['running'],
      handler: async ({ name }, effects) => {
        const self = await effects.getSelf();
        await effects.notify({ level: 'info', title: 'Greeted', message: name });
        return { message: 'hello ' + name + ' from ' + self.id, value: { text: name.toUpperCase(), copyable: true } };
      },
    }),
    defineAction({
      id: 'refuse',
      name: 'Refuse',
      description: 'Fails with a code of its own',
      input: z.object({}),
      allowedStatuses: ['running'],
      handler: async () => {
        throw Object.assign(new Error('not today'), { code: 'not_today' });
      },
    }),
  ],
  volumes: [{ id: 'data', name: 'Data', description: 'What a backup holds' }],
  backup: { volumes: ['data'], pre: { command: ['${p.busybox}', 'sh', '-c', 'echo dumping; echo dumped >&2'] } },
  migrations: [{ version: '1.0.0', up: async (effects) => { await effects.notify({ level: 'info', title: 'migrated', message: 'up to 1.0.0' }); } }],
  init: async (effects) => { await effects.notify({ level: 'info', title: 'init', message: 'installed' }); },
  uninit: async (effects) => { await effects.notify({ level: 'info', title: 'uninit', message: 'removed' }); },
});
`;
}

// --- the runtime as a process on this machine ---------------------------------------------

interface Runtime {
  child: ChildProcess;
  out: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startRuntime(env: Record<string, string>, onLine: (line: string) => void = () => {}): Runtime {
  const child = spawn(process.execPath, [MAIN, 'container-runtime'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      out.push(...lines);
      for (const line of lines) onLine(line);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out, exited };
}

async function waitLine(rt: Runtime, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = rt.out.find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > until) throw new Error(`no line ${pattern} in:\n${rt.out.join('\n')}`);
    await sleep(20);
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const hostSkip = required(
  !fs.existsSync(BUSYBOX)
    ? 'needs busybox-static'
    : process.getuid?.() !== 0
      ? 'needs root (a daemon runs as nobody)'
      : false,
  'the runtime tests on this host',
);

async function hostSetup(t: test.TestContext, o: { stubborn?: boolean } = {}) {
  const cleanup = cleanups(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-rt-'));
  cleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, 'index.html'), INDEX);
  fs.chmodSync(dir, 0o755);
  const shape: PackageShape = {
    port: await freePort(),
    www,
    flag: path.join(dir, 'refuse'),
    busybox: BUSYBOX,
    stubborn: o.stubborn ?? false,
  };
  const codeDir = await bundlePackage(dir, packageSource(shape));
  const socket = path.join(dir, 'host.sock');
  const host = new TestHost(socket, manifestOf(codeDir));
  await host.listen();
  cleanup(() => host.close());
  const pids = new Set<number>();
  const launch = () => {
    // Every daemon from the moment it is spawned (the runtime says so), also one restarted
    // after the last status: whatever happens, nothing is left running.
    const rt = startRuntime(
      { HEARTH_SOCKET: socket, HEARTH_CODE: path.join(codeDir, 'index.js') },
      (line) => {
        const spawned = /daemon spawned .*\bpid=(\d+)/.exec(line);
        if (spawned) pids.add(Number(spawned[1]));
      },
    );
    // The runtime, then every daemon group it had.
    cleanup(async () => {
      if (rt.child.exitCode === null && rt.child.signalCode === null) rt.child.kill('SIGKILL');
      await rt.exited;
      for (const pid of pids) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {}
      }
    });
    return rt;
  };
  const status = async () => {
    const s = (await host.call('runtime.status', {})) as {
      daemons: { id: string; state: string; pid: number | null; restarts: number }[];
      health: { checkId: string; status: string; message: string }[];
    };
    for (const d of s.daemons) if (d.pid) pids.add(d.pid);
    return s;
  };
  return { dir, shape, host, launch, status, codeDir };
}

test(
  'the runtime on this machine: register, ordered daemons, health, crash and restart, actions, hooks, reconnect, shutdown',
  { skip: hostSkip, timeout: 120_000 },
  async (t) => {
    const times: Record<string, number> = {};
    const { shape, host, launch, status } = await hostSetup(t, { stubborn: true });
    const t0 = performance.now();
    const rt = launch();

    const register = await host.waitFor('effects.register', () => true);
    times['spawn → register'] = Math.round(register.at - t0);
    assert.equal(register.params['pid'], rt.child.pid);
    assert.equal(typeof register.params['runtimeVersion'], 'string');

    // web first; worker (requires web) only once web's ready check passed.
    const webRunning = await host.waitFor('effects.daemonState', daemon('web', 'running'));
    const workerStarting = await host.waitFor('effects.daemonState', daemon('worker', 'starting'));
    await host.waitFor('effects.daemonState', daemon('worker', 'running'));
    assert.ok(workerStarting.at > webRunning.at, 'worker started after web was ready');
    await host.waitFor('effects.setHealth', health('web', 'starting'));
    const healthy = await host.waitFor('effects.setHealth', health('web', 'success'));
    times['register → health success'] = Math.round(healthy.at - register.at);
    assert.match(String(healthy.params['message']), /200/);
    const page = await host.waitFor('effects.setHealth', health('page', 'success'));
    assert.match(String(page.params['message']), /exited with 0/);

    // Daemon output on the runtime's stdout, prefixed; worker runs as nobody, clean env.
    assert.match(await waitLine(rt, /^\[worker\] uid/), /^\[worker\] uid 65534 in \/ as nobody$/);
    await waitLine(rt, /^\[worker\] tick$/);
    assert.ok(
      rt.out.some((l) => /^hearth: host: registered/.test(l)),
      rt.out.join('\n'),
    );

    let s = await status();
    assert.deepEqual(
      s.daemons.map((d) => [d.id, d.state, d.restarts]),
      [
        ['web', 'running', 0],
        ['worker', 'running', 0],
        ['stubborn', 'running', 0],
      ],
    );
    assert.deepEqual(
      s.health.map((h) => [h.checkId, h.status]),
      [
        ['web', 'success'],
        ['page', 'success'],
      ],
    );

    // Actions: input checked by the package's schema, result back, effects reach the host.
    const greeted = (await host.call('runtime.action.run', {
      actionId: 'greet',
      input: { name: 'Ada' },
    })) as {
      result: unknown;
    };
    assert.deepEqual(greeted.result, {
      message: 'hello Ada from rt-test',
      value: { text: 'ADA', copyable: true },
    });
    await host.waitFor('effects.notify', (p) => p['title'] === 'Greeted' && p['message'] === 'Ada');
    assert.equal(host.of('effects.getSelf').length, 1);
    await assert.rejects(host.call('runtime.action.run', { actionId: 'greet', input: { name: '' } }), {
      code: 'action_input_invalid',
    });
    await assert.rejects(host.call('runtime.action.run', { actionId: 'nope', input: {} }), {
      code: 'action_not_found',
    });
    await assert.rejects(host.call('runtime.action.run', { actionId: 'refuse', input: {} }), {
      code: 'not_today',
      message: 'not today',
    });
    await assert.rejects(host.call('runtime.action.run', { actionId: 'Bad Id', input: {} }), {
      code: 'invalid_params',
    });

    // Hooks.
    assert.deepEqual(await host.call('runtime.backup.pre', {}), { ok: true });
    await waitLine(rt, /^\[backup-pre\] dumping$/);
    await waitLine(rt, /^\[backup-pre\] dumped$/);
    assert.deepEqual(
      await host.call('runtime.backup.post', {}),
      { ok: true },
      'none declared: nothing to do',
    );
    assert.deepEqual(await host.call('runtime.migrate', { from: '0.9.0', to: '1.0.0' }), { ok: true });
    await host.waitFor('effects.notify', (p) => p['title'] === 'migrated');
    await assert.rejects(host.call('runtime.migrate', { from: '1.0.0', to: '0.9.0' }), {
      code: 'migration_irreversible',
    });
    assert.deepEqual(await host.call('runtime.init', {}), { ok: true });
    await host.waitFor('effects.notify', (p) => p['title'] === 'init');

    // A crash: web is killed and refuses to come back for a while (crash loop with backoff).
    const webPid = s.daemons[0]!.pid!;
    fs.writeFileSync(shape.flag, '');
    let mark = host.calls.length;
    process.kill(webPid, 'SIGKILL');
    const crashed = await host.waitFor('effects.daemonState', daemon('web', 'failed'), { since: mark });
    assert.match(String(crashed.params['message']), /killed by SIGKILL; starting again in 1 s/);
    await host.waitFor('effects.setHealth', health('web', 'failure'), { since: mark });
    const refused = await host.waitFor(
      'effects.daemonState',
      (p) => daemon('web', 'failed')(p) && p['exitCode'] === 3,
      { since: mark },
    );
    assert.match(String(refused.params['message']), /exited with 3; starting again in 2 s/);
    await waitLine(rt, /^\[web\] refusing to start$/);
    fs.rmSync(shape.flag);
    mark = host.calls.length;
    await host.waitFor('effects.daemonState', daemon('web', 'running'), { since: mark, timeoutMs: 15_000 });
    await host.waitFor('effects.setHealth', health('web', 'success'), { since: mark });
    s = await status();
    assert.ok(s.daemons[0]!.restarts >= 2, JSON.stringify(s.daemons));
    assert.equal(s.daemons[1]!.restarts, 0, 'the worker kept running meanwhile');

    // The host goes away (a daemon restart): daemons keep running; the runtime comes back,
    // registers again and sends the current states again.
    const pids = s.daemons.map((d) => d.pid!);
    await host.close();
    await sleep(700);
    assert.ok(pids.every(alive), 'daemons survive the host');
    assert.equal(rt.child.exitCode, null);
    mark = host.calls.length;
    const t1 = performance.now();
    await host.listen();
    const again = await host.waitFor('effects.register', () => true, { since: mark });
    times['re-listen → register again'] = Math.round(again.at - t1);
    for (const id of ['web', 'worker', 'stubborn']) {
      await host.waitFor('effects.daemonState', daemon(id, 'running'), { since: mark });
    }
    await host.waitFor('effects.setHealth', health('web', 'success'), { since: mark });
    assert.deepEqual(
      (await status()).daemons.map((d) => d.pid),
      pids,
      'the same processes',
    );

    // Shutdown: reverse order; stubborn ignores SIGTERM and is killed after the timeout.
    mark = host.calls.length;
    const t2 = performance.now();
    assert.deepEqual(await host.call('runtime.shutdown', { timeoutSeconds: 1 }), { ok: true });
    times['shutdown'] = Math.round(performance.now() - t2);
    const exited = host.of('effects.daemonState', mark).filter((c) => c.params['state'] === 'exited');
    assert.deepEqual(
      exited.map((c) => c.params['daemonId']),
      ['stubborn', 'worker', 'web'],
    );
    assert.match(String(exited[0]!.params['message']), /SIGKILL/);
    await sleep(100);
    assert.deepEqual(pids.filter(alive), [], 'no daemon left');
    s = await status();
    assert.deepEqual(
      s.daemons.map((d) => [d.state, d.pid]),
      [
        ['exited', null],
        ['exited', null],
        ['exited', null],
      ],
    );
    // The runtime stays for what comes after the daemons (uninit), until it is told to stop.
    assert.deepEqual(await host.call('runtime.uninit', {}), { ok: true });
    await host.waitFor('effects.notify', (p) => p['title'] === 'uninit');

    rt.child.kill('SIGTERM');
    assert.deepEqual(await rt.exited, { code: 0, signal: null });
    t.diagnostic(`ms: ${JSON.stringify(times)}`);
  },
);

test(
  'a runtime whose daemons were shut down ends when a host registers it again (its host died before stopping the container)',
  { skip: hostSkip },
  async (t) => {
    const { host, launch } = await hostSetup(t);
    const rt = launch();
    await host.waitFor('effects.daemonState', daemon('worker', 'running'));
    assert.deepEqual(await host.call('runtime.shutdown', { timeoutSeconds: 2 }), { ok: true });
    await host.close();
    const mark = host.calls.length;
    await host.listen();
    await host.waitFor('effects.register', () => true, { since: mark });
    assert.deepEqual(await rt.exited, { code: 0, signal: null });
    assert.ok(
      rt.out.some((l) => /registered again after the daemons were shut down/.test(l)),
      rt.out.join('\n'),
    );
  },
);

test(
  'SIGTERM to the runtime stops the daemons in reverse order and exits 0',
  { skip: hostSkip },
  async (t) => {
    const { host, launch, status } = await hostSetup(t);
    const rt = launch();
    await host.waitFor('effects.daemonState', daemon('worker', 'running'));
    const pids = (await status()).daemons.map((d) => d.pid!);
    const mark = host.calls.length;
    rt.child.kill('SIGTERM');
    assert.deepEqual(await rt.exited, { code: 0, signal: null });
    assert.deepEqual(pids.filter(alive), []);
    assert.deepEqual(
      host
        .of('effects.daemonState', mark)
        .filter((c) => c.params['state'] === 'exited')
        .map((c) => c.params['daemonId']),
      ['worker', 'web'],
    );
    assert.ok(rt.out.some((l) => /^hearth: stopping signal=SIGTERM$/.test(l)));
  },
);

test(
  'the runtime waits for a host that is not there yet, and starts nothing before it registers',
  {
    skip: hostSkip,
  },
  async (t) => {
    const { host, launch } = await hostSetup(t);
    await host.close();
    const rt = launch();
    await sleep(1500);
    assert.equal(rt.child.exitCode, null);
    assert.ok(!rt.out.some((l) => l.startsWith('[')), 'no daemon output before register');
    await host.listen();
    await host.waitFor('effects.register', () => true, { timeoutMs: 10_000 });
    await host.waitFor('effects.daemonState', daemon('web', 'running'));
    rt.child.kill('SIGKILL');
    await rt.exited;
  },
);

test(
  'a host that runs init before it answers register: the daemons start after it',
  { skip: hostSkip },
  async (t) => {
    const { host, launch } = await hostSetup(t);
    host.beforeRegister = async (h) => {
      h.beforeRegister = undefined;
      await h.call('runtime.init', {});
    };
    const rt = launch();
    await host.waitFor('effects.daemonState', daemon('web', 'running'));
    const init = host.calls.findIndex((c) => c.method === 'effects.notify' && c.params['title'] === 'init');
    const firstDaemon = host.calls.findIndex((c) => c.method === 'effects.daemonState');
    assert.ok(init >= 0 && init < firstDaemon, host.calls.map((c) => c.method).join(', '));
    rt.child.kill('SIGKILL');
    await rt.exited;
  },
);

test(
  'package code is loaded at the first call that needs it: code that cannot be loaded fails that call, not the daemons',
  { skip: hostSkip },
  async (t) => {
    const { host, launch, codeDir } = await hostSetup(t);
    const code = path.join(codeDir, 'index.js');
    // Loaded at start, this would fail the runtime (as it did before the code was lazy).
    const good = fs.readFileSync(code);
    fs.writeFileSync(code, 'exports.default = { kind: "something-else" };\n');
    const rt = launch();
    await host.waitFor('effects.daemonState', daemon('worker', 'running'));
    await host.waitFor('effects.setHealth', health('web', 'success'));
    await assert.rejects(host.call('runtime.action.run', { actionId: 'greet', input: { name: 'x' } }), {
      code: 'package_code_invalid',
      message: /does not export a package definition/,
    });
    await waitLine(rt, /^hearth: \[error\] the package code .* cannot be used/);
    // Nothing is kept of a failed load: the code, once whole again, runs at the next call.
    fs.writeFileSync(code, good);
    assert.deepEqual(await host.call('runtime.action.run', { actionId: 'greet', input: { name: 'y' } }), {
      result: { message: 'hello y from rt-test', value: { text: 'Y', copyable: true } },
    });
    assert.equal(rt.child.exitCode, null);
  },
);

test(
  'a manifest whose daemons cannot run (a requires cycle): exit 1 with the reason',
  { skip: hostSkip },
  async (t) => {
    const cleanup = cleanups(t);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-rt-'));
    cleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
    const daemon = (id: string, requires: string) => ({
      id,
      command: ['/bin/true'],
      env: {},
      requires: [requires],
      startTimeoutSeconds: 60,
    });
    const socket = path.join(dir, 'host.sock');
    const host = new TestHost(socket, {
      daemons: [daemon('a', 'b'), daemon('b', 'a')] as RuntimeManifest['daemons'],
      healthChecks: [],
    });
    await host.listen();
    cleanup(() => host.close());
    const rt = startRuntime({ HEARTH_SOCKET: socket, HEARTH_CODE: path.join(dir, 'none.js') });
    cleanup(async () => {
      if (rt.child.exitCode === null && rt.child.signalCode === null) rt.child.kill('SIGKILL');
      await rt.exited;
    });
    assert.deepEqual(await rt.exited, { code: 1, signal: null });
    assert.ok(
      rt.out.some((l) => /^hearth: \[error\] .*cycle/.test(l)),
      rt.out.join('\n'),
    );
  },
);

// --- the runtime in a real container --------------------------------------------------------

const containerSkip = required(
  lxcSkipReason() ||
    (fs.existsSync(HEARTH_BIN)
      ? false
      : `needs the built binary ${HEARTH_BIN} (make build, or set HEARTH_BIN)`) ||
    (fs.existsSync('/usr/sbin/init.lxc.static')
      ? false
      : 'needs /usr/sbin/init.lxc.static (apt-get install lxc)'),
  'the runtime tests in a container',
);

/**
 * VmRSS, private and anonymous memory (kB) of a process, from the host's /proc. Private
 * includes the binary's pages while no other process maps the same file.
 */
function memoryOf(pid: number): { rssKiB: number; privateKiB: number; pssKiB: number; anonKiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  return {
    rssKiB: kib(status, 'VmRSS'),
    privateKiB: kib(rollup, 'Private_Clean') + kib(rollup, 'Private_Dirty'),
    pssKiB: kib(rollup, 'Pss'),
    anonKiB: kib(rollup, 'Anonymous'),
  };
}

const childrenOf = (pid: number) =>
  fs
    .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);

test(
  'the built binary inside an unprivileged container: init.lxc as PID 1, health, HTTP from the host, an action, clean stop',
  { skip: containerSkip, timeout: 180_000 },
  async (t) => {
    const { runtimeLaunch } = await import('../src/runtime/launch.ts');
    const { prepareRuntimeDir, prepareSocketDir } = await import('../src/host/runtime-dir.ts');
    const times: Record<string, number> = {};
    const network = leaseNetwork();
    const { lxc, mounts, dir, specFor } = await containerHost(t, {
      network,
      image: {
        applets: ['sh', 'httpd', 'cat', 'echo', 'id', 'ls', 'sleep', 'ps'],
        files: {
          'etc/passwd':
            'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
          'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
        },
      },
    });
    const address = network.subnet.replace(/\.0\/24$/, '.2');
    const name = `hearth-rt-test-${process.pid}`;
    const codeDir = await bundlePackage(
      path.join(dir, 'package'),
      packageSource({ port: 80, www: '/www', flag: '/tmp/refuse', busybox: '/bin/busybox' }),
    );
    const runtime = await timed(times, 'prepare runtime dir', () =>
      prepareRuntimeDir({ root: path.join(dir, 'runtime'), hearthBinary: HEARTH_BIN }),
    );
    // Found again, not made again.
    assert.deepEqual(
      await prepareRuntimeDir({ root: path.join(dir, 'runtime'), hearthBinary: HEARTH_BIN }),
      runtime,
    );
    assert.deepEqual(fs.readdirSync(path.join(dir, 'runtime')), [runtime.digest]);
    const socketDir = path.join(dir, 'sockets', name);
    await prepareSocketDir(socketDir);
    const launch = runtimeLaunch({
      runtime,
      hearthBinary: HEARTH_BIN,
      codeDir,
      socketDir,
      containerName: name,
    });
    const spec = specFor(name, address, {
      hearthBinary: launch.hearthBinary,
      volumes: launch.volumes,
      init: launch.init,
      env: launch.env,
      // The package's own 64 MiB (packageSource) plus the runtime's allowance.
      memoryMiB: Number(process.env['HEARTH_RT_TEST_MEMORY_MIB'] ?? 64 + launch.extraMemoryMiB),
    });
    const host = new TestHost(launch.hostSocket, manifestOf(codeDir), {
      uid: spec.idmap.hostId,
      gid: spec.idmap.hostId,
    });
    await host.listen();
    t.after(() => host.close());

    await timed(times, 'create', () => lxc.create(spec));
    const t0 = performance.now();
    await timed(times, 'lxc start', () => lxc.start(name));
    const register = await host.waitFor('effects.register', () => true, { timeoutMs: 30_000 });
    times['container start → register'] = Math.round(register.at - t0);
    const healthy = await host.waitFor('effects.setHealth', health('web', 'success'), { timeoutMs: 30_000 });
    times['container start → health success'] = Math.round(healthy.at - t0);
    await host.waitFor('effects.daemonState', daemon('worker', 'running'));
    await host.waitFor('effects.setHealth', health('page', 'success'));

    // The page, from the host, at the container's address.
    assert.equal(await httpGet(`http://${address}/`, 10_000), INDEX);

    const greeted = (await host.call('runtime.action.run', {
      actionId: 'greet',
      input: { name: 'Box' },
    })) as {
      result: { message: string };
    };
    assert.equal(greeted.result.message, 'hello Box from rt-test');

    // Who is who: PID 1 is init.lxc, its child the runtime (through the copied loader).
    const info = await lxc.info(name);
    assert.equal(fs.readFileSync(`/proc/${info.pid}/comm`, 'utf8').trim(), 'init');
    const [runtimePid] = childrenOf(info.pid!);
    assert.ok(runtimePid, 'init has the runtime as its child');
    // process.title, after the loader's own arguments.
    assert.match(
      fs.readFileSync(`/proc/${runtimePid}/cmdline`, 'utf8'),
      /--library-path\0.*\0hearth-runtime\0/,
    );
    assert.match(fs.readlinkSync(`/proc/${runtimePid}/exe`), /\/lib\/ld-linux-x86-64\.so\.2$/);
    const ps = await lxc.exec(name, ['/bin/ps', '-o', 'pid,user,args']);
    assert.match(ps.stdout, /^\s*1 root\s+init\b/m, ps.stdout);
    assert.match(ps.stdout, /nobody\s+.*sh -c echo "uid/, ps.stdout);
    const mem = memoryOf(runtimePid);
    t.diagnostic(
      `runtime memory (kB): ${JSON.stringify(mem)}; the container's cgroup: ${Math.round((info.memoryBytes ?? 0) / 1024)} kB`,
    );

    // The console is the package log: the runtime's lines and the daemons', prefixed.
    let logs: string[] = [];
    for (let i = 0; i < 100 && !logs.some((l) => /^\[worker\] tick/.test(l)); i++, await sleep(50)) {
      logs = await lxc.logs(name, { lines: 200 });
    }
    assert.ok(logs.includes('[worker] uid 65534 in / as nobody'), logs.join('\n'));
    const registered = logs.find((l) => /^hearth: host: registered package=rt-test/.test(l));
    assert.ok(registered, logs.join('\n'));
    times['runtime start → registered (its own clock)'] = Number(/uptimeMs=(\d+)/.exec(registered)?.[1]);
    // init.lxc tries to remove its own binary; the read-only mount keeps it.
    assert.ok(fs.existsSync(path.join(runtime.dir, 'init')));

    // The socket dir is read-only inside: the host's socket cannot be replaced from there.
    const rm = await lxc.exec(name, ['/bin/sh', '-c', 'echo x > /run/hearth/other']);
    assert.notEqual(rm.exitCode, 0);

    const t1 = performance.now();
    assert.deepEqual(await host.call('runtime.shutdown', { timeoutSeconds: 2 }), { ok: true });
    times['runtime.shutdown'] = Math.round(performance.now() - t1);
    await timed(times, 'lxc stop', () => lxc.stop(name, { timeoutS: 10 }));
    assert.equal((await lxc.info(name)).state, 'STOPPED');
    await lxc.destroy(name);
    assert.deepEqual(await mounts.listMounts(dir), []);
    const leftovers = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))![1]);
          return uid >= spec.idmap.hostId && uid < spec.idmap.hostId + spec.idmap.count;
        } catch {
          return false;
        }
      });
    assert.deepEqual(leftovers, [], 'no process of the container is left');
    t.diagnostic(`ms: ${JSON.stringify(times)}`);
  },
);
