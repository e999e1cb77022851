import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import { hostLxc } from '../src/host/lxc.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { runHearth, type TestDaemon, untilHealthy } from './daemon.ts';
import {
  descendantRunning,
  httpGet,
  leaseNetwork,
  log,
  lxcSkipReason,
  packagesDaemon,
} from './lxc-harness.ts';
import { required } from './required.ts';
import { packVariant, SERVICES } from './services.ts';

/**
 * Service packages end to end: the built daemon, real unprivileged LXC containers on a
 * bridge of this test's own, the first-party packages from `make services`.
 */
const NETWORK = leaseNetwork();

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`'),
  'the packages tests on real LXC',
);

describe('service packages on real LXC', { skip }, () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  let lxc: ReturnType<typeof hostLxc>;
  const undo: (() => Promise<unknown>)[] = [];

  // The owner's alert command: a script of this test's that appends what it was told.
  const alerts = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-alerts-'));
  const alertLog = path.join(alerts, 'alerts.log');

  before(async () => {
    const script = path.join(alerts, 'alert.sh');
    fs.writeFileSync(
      script,
      '#!/bin/sh\nprintf "%s|%s|%s\\n" "$HEARTH_PACKAGE" "$HEARTH_CHECK" "$HEARTH_MESSAGE" >> "$1"\n',
      {
        mode: 0o755,
      },
    );
    undo.push(async () => fs.rmSync(alerts, { recursive: true, force: true }));
    const daemon = await packagesDaemon(NETWORK, [
      '--health-alert-command',
      JSON.stringify([script, alertLog]),
    ]);
    d = daemon.d;
    undo.push(daemon.done);
    admin = d.client({ bearer: d.localToken });
    lxc = hostLxc({ lxcPath: path.join(d.root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
  });
  after(async () => {
    for (const u of undo.reverse()) await u().catch(() => {});
  });

  // Each test starts from a box without packages, whatever the one before left.
  beforeEach(async () => {
    for (const p of await admin.call('package.list')) {
      await admin.call('package.uninstall', { id: p.id, force: true }).catch(() => {});
    }
  });

  /** Healthy by checks run at or after `since` (what happened before it says nothing). */
  const healthy = (id: string, since: number, timeoutMs = 60_000) =>
    untilHealthy(admin, id, { since, timeoutMs, pollMs: 100 });

  test('hello-world: install → healthy → page → action → stop → start → uninstall with and without data', async () => {
    let since = Date.now();
    const pkg = await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    assert.equal(pkg.id, 'hello-world');
    await healthy('hello-world', since);
    const url = `http://${pkg.address}:8080/`;
    assert.match(await httpGet(url, 10_000), /Hello from Hearth!/);

    const answer = await admin.call('package.action.run', {
      id: 'hello-world',
      action: 'set-greeting',
      input: { greeting: 'Hi from the test' },
    });
    assert.match(JSON.stringify(answer.result), /now says/);
    assert.match(await httpGet(url, 10_000), /Hi from the test/);
    // The same page through the box's own port, for a caller signed in to the box.
    const app = `${d.url}/app/hello-world/`;
    const viaBox = await fetch(app, { headers: { Authorization: `Bearer ${d.localToken}` } });
    assert.equal(viaBox.status, 200);
    assert.match(await viaBox.text(), /Hi from the test/);
    assert.equal((await fetch(app)).status, 401, 'anonymous callers do not reach packages');
    const other = await fetch(`${d.url}/app/no-such-package/`, {
      headers: { Authorization: `Bearer ${d.localToken}` },
    });
    assert.equal(other.status, 404);
    await assert.rejects(
      admin.call('package.action.run', { id: 'hello-world', action: 'nope', input: {} }),
      (e: unknown) => e instanceof RpcError && e.code === 'not_found',
    );

    await admin.call('package.stop', { id: 'hello-world' });
    const stopped = (await admin.call('package.get', { id: 'hello-world' })) as {
      status: string;
      health: Record<string, { status: string }>;
    };
    assert.equal(stopped.status, 'stopped');
    const whileDown = await fetch(app, { headers: { Authorization: `Bearer ${d.localToken}` } });
    assert.equal(whileDown.status, 503);
    assert.match(await whileDown.text(), /hello-world is stopped/);
    assert.deepEqual(
      Object.values(stopped.health).map((c) => c.status),
      ['disabled'],
    );
    await assert.rejects(fetch(url, { signal: AbortSignal.timeout(1000) }));
    // An action allowed while stopped runs in the container with the daemons held; the
    // package stays stopped and the page is not served.
    const whileStopped = await admin.call('package.action.run', {
      id: 'hello-world',
      action: 'set-greeting',
      input: { greeting: 'Hi from the test, set while stopped' },
    });
    assert.match(JSON.stringify(whileStopped.result), /now says/);
    assert.equal((await admin.call('package.get', { id: 'hello-world' })).status, 'stopped');
    assert.equal((await lxc.info('hearth-hello-world')).state, 'STOPPED');
    await assert.rejects(fetch(url, { signal: AbortSignal.timeout(1000) }));
    const ws = await d.ws({ bearer: d.localToken });
    const followed = (await ws.call('package.logs', { id: 'hello-world', lines: 5, follow: true })) as {
      stream: string;
    };
    const lines: string[] = [];
    ws.onStream(followed.stream, (line) => lines.push(String(line)));
    since = Date.now();
    const started = await admin.call('package.start', { id: 'hello-world' });
    assert.equal(started.status, 'running');
    // "running" in the answer means ready: an action works at once, with no wait of ours.
    const atOnce = await admin.call('package.action.run', {
      id: 'hello-world',
      action: 'set-greeting',
      input: { greeting: 'Hi from the test, set while stopped' },
    });
    assert.match(JSON.stringify(atOnce.result), /now says/);
    await healthy('hello-world', since);
    assert.match(await httpGet(url, 10_000), /set while stopped/, 'the volume kept the page');
    for (let i = 0; i < 50 && !lines.some((l) => l.includes('hearth: starting')); i++) await sleep(100);
    assert.ok(
      lines.some((l) => l.includes('hearth: starting')),
      `followed lines: ${lines.join(' | ')}`,
    );
    await ws.close();
    assert.equal((await admin.call('package.get', { id: 'hello-world' })).status, 'running');

    // A restart is a stop of ours and a start: it answers running, in a new init, and the
    // loop counts no crash (no backoff, no "stopped on its own"), twice in a row.
    since = Date.now();
    for (let i = 0; i < 2; i++) {
      const before = (await lxc.info('hearth-hello-world')).pid;
      const restarted = await admin.call('package.restart', { id: 'hello-world' });
      assert.equal(restarted.status, 'running');
      const after = await lxc.info('hearth-hello-world');
      assert.equal(after.state, 'RUNNING');
      assert.ok(after.pid && after.pid !== before, `init ${before} → ${after.pid}`);
    }
    await healthy('hello-world', since);
    assert.doesNotMatch(d.output(), /container stopped on its own/);

    // A crash: the container's init dies. The reconcile loop starts it again.
    const { pid } = await lxc.info('hearth-hello-world');
    assert.ok(pid);
    since = Date.now();
    process.kill(pid, 'SIGKILL');
    await healthy('hello-world', since, 30_000);
    assert.match(await httpGet(url, 15_000), /Hi from the test/);
    const stats = await admin.call('package.stats', { id: 'hello-world' });
    assert.equal(stats.running, true);
    assert.ok((stats.memoryBytes ?? 0) > 0);

    await admin.call('package.uninstall', { id: 'hello-world', keepData: true });
    const base = path.join(d.root, 'var/lib/hearth/packages/hello-world');
    assert.deepEqual(fs.readdirSync(base), ['volumes']);
    since = Date.now();
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await healthy('hello-world', since);
    assert.match(await httpGet(url, 10_000), /Hi from the test/, 'reinstalled onto the kept data');

    await admin.call('package.uninstall', { id: 'hello-world' });
    assert.equal(fs.existsSync(base), false);
    assert.deepEqual(await admin.call('package.list'), []);
    assert.deepEqual(await lxc.list(), []);
    assert.deepEqual(await hostMounts(log).listMounts(d.root), []);
  });

  test('a package that keeps crashing: server.ps, server.status, one notification, and the fixup stops it', async () => {
    const installed = Date.now();
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await healthy('hello-world', installed);
    const [row] = (await admin.call('server.ps', {})).filter((r) => r.package === 'hello-world');
    assert.ok(row, 'hello-world is listed');
    assert.equal(row.state, 'running');
    assert.equal(row.ignored, false);
    assert.ok(row.uptimeSeconds !== null && row.uptimeSeconds < 600, `uptime ${row.uptimeSeconds}`);
    assert.ok((row.memoryBytes ?? 0) > 0 && row.memoryLimitBytes !== null);

    // Five crashes in a row: each time the init dies, and the loop starts it again, later each time.
    for (let i = 0; i < 5; i++) {
      // Its init's PID: LXC may name none for a moment after a start it already calls running.
      let pid: number | null | undefined;
      for (let wait = 0; !pid; wait++) {
        pid = (await lxc.info('hearth-hello-world').catch(() => undefined))?.pid;
        assert.ok(pid || wait < 100, 'a running container without its init');
        if (!pid) await sleep(100);
      }
      process.kill(pid, 'SIGKILL');
      for (let wait = 0; ; wait++) {
        // Asked while it dies or starts, LXC may not answer: that is "not yet".
        const now = await lxc.info('hearth-hello-world').catch(() => undefined);
        if (now?.state === 'RUNNING' && now.pid !== pid) break;
        assert.ok(wait < 600, `restart ${i + 1} did not come`);
        await sleep(100);
      }
    }
    let status = await admin.call('server.status', {});
    for (let i = 0; i < 100 && !status.findings.some((f) => f.check === 'crash-loop'); i++) {
      await sleep(100);
      status = await admin.call('server.status', {});
    }
    assert.equal(status.summary, 'trouble');
    assert.deepEqual(
      status.crashLoops.map((l) => [l.id, l.crashes >= 5]),
      [['hello-world', true]],
    );
    const [finding] = status.findings;
    assert.deepEqual(
      [finding!.check, finding!.subject, finding!.fixup],
      ['crash-loop', 'hello-world', 'crash-loop.stop'],
    );
    assert.match(finding!.message, /Hello World stopped \d+ times in ten minutes/);
    const crashed = await admin.call('event.list', { package: 'hello-world', kinds: ['crashed'] });
    assert.ok(crashed.length >= 5, `${crashed.length} crashes recorded`);
    assert.ok(
      (await admin.call('event.list', { package: 'hello-world', kinds: ['crash-loop'] })).length >= 1,
    );
    const told = (await admin.call('notification.list', {})).filter((n) => n.source === 'check:crash-loop');
    assert.equal(told.length, 1, 'the owner hears of it once');
    const cli = await d.cli(['status']);
    assert.match(cli.stdout, /fix: hearth server fixup run --fixup crash-loop\.stop --subject hello-world/);

    const fixed = await admin.call('server.fixup.run', { fixup: 'crash-loop.stop', subject: 'hello-world' });
    assert.match(fixed.did, /hello-world is stopped/);
    assert.equal(fixed.check.status, 'ok');
    assert.equal((await admin.call('package.get', { id: 'hello-world' })).status, 'stopped');
    const after = await admin.call('server.status', {});
    assert.deepEqual([after.summary, after.crashLoops, after.drift], ['ok', [], []]);
  });

  test('hello-world from another machine (the CLI uploads it) and from a URL, with progress', async () => {
    const hpk = path.join(SERVICES, 'hello-world.hpk');
    const token = (await admin.call('auth.token.create', { name: 'laptop', scope: 'admin' })).token;
    // --host: the CLI is elsewhere, so the file travels as an upload.
    let since = Date.now();
    const cli = await runHearth(['--host', d.url, 'package', 'install', '--path', hpk, '--json'], {
      env: { HEARTH_TOKEN: token },
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).id, 'hello-world');
    await healthy('hello-world', since);
    const [installed] = await admin.call('audit.list', { method: 'package.install', limit: 1 });
    assert.match(JSON.stringify(installed?.params), /"upload":"up_/);
    await admin.call('package.uninstall', { id: 'hello-world' });

    const server = http.createServer((_, res) => res.end(fs.readFileSync(hpk)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ws = await d.ws({ bearer: d.localToken });
    try {
      const steps: string[] = [];
      const sha256 = createHash('sha256').update(fs.readFileSync(hpk)).digest('hex');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hello-world.hpk`;
      since = Date.now();
      await ws.call('package.install', { url, sha256 }, { onProgress: (p) => steps.push(p.step) });
      assert.deepEqual([...new Set(steps)], ['download', 'verify', 'unpack', 'start']);
      await healthy('hello-world', since);
    } finally {
      await ws.close();
      server.close();
    }
    await admin.call('package.uninstall', { id: 'hello-world' });
    assert.deepEqual(fs.readdirSync(path.join(d.root, 'var/lib/hearth/uploads')), []);
  });

  test('a health check that starts failing runs the alert command once and notifies; recovery notifies too', async () => {
    const installed = Date.now();
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await healthy('hello-world', installed);
    const since = Date.now();
    // The web server dies inside the container; its runtime starts it again a second later.
    const init = (await lxc.info('hearth-hello-world')).pid!;
    process.kill(descendantRunning(init, 'httpd\0-f'), 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while (!fs.existsSync(alertLog) && Date.now() < deadline) await sleep(100);
    const [line, ...more] = fs.readFileSync(alertLog, 'utf8').trim().split('\n');
    assert.match(line ?? '', /^hello-world\|web\|.+/);
    await healthy('hello-world', since);
    assert.deepEqual(more, [], 'one alert for one failure');
    const titles = (await admin.call('notification.list', {}))
      .filter((n) => n.at >= since)
      .map((n) => n.title);
    assert.ok(titles.includes('Hello World: Web page is failing'), titles.join(', '));
    assert.ok(titles.includes('Hello World: Web page is healthy again'), titles.join(', '));
    await admin.call('package.uninstall', { id: 'hello-world' });
  });

  /** hello-world at another version, with a migration, packed from services/hello-world. */
  const helloWorldAt = (version: string, migration: string) =>
    packVariant(
      'hello-world',
      d.root,
      [
        [
          "version: '1.0.0',",
          `version: '${version}',\n  migrations: [{ version: '${version}', up: async () => { ${migration} } }],`,
        ],
      ],
      path.join(d.root, `hello-world-${version}.hpk`),
    );

  test('hello-world: an update migrates the data; a failing migration rolls back to the old version and data', async () => {
    let since = Date.now();
    const pkg = await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await healthy('hello-world', since);
    const url = `http://${pkg.address}:8080/`;
    await admin.call('package.action.run', {
      id: 'hello-world',
      action: 'set-greeting',
      input: { greeting: 'Before the update' },
    });

    const v11 = await helloWorldAt(
      '1.1.0',
      "await writeFile('/data/www/migrated.txt', 'migrated to 1.1.0');",
    );
    since = Date.now();
    const updated = await admin.call('package.update', { path: v11 });
    assert.equal(updated.version, '1.1.0');
    await healthy('hello-world', since);
    assert.match(await httpGet(url, 10_000), /Before the update/);
    assert.equal(await httpGet(`${url}migrated.txt`, 10_000), 'migrated to 1.1.0');

    const v12 = await helloWorldAt(
      '1.2.0',
      "await writeFile('/data/www/index.html', 'half-migrated'); throw new Error('refusing to migrate');",
    );
    since = Date.now();
    await assert.rejects(admin.call('package.update', { path: v12 }), (e: unknown) => {
      assert.ok(e instanceof RpcError && e.code === 'update_failed', String(e));
      assert.match(e.message, /back at 1\.1\.0 .*refusing to migrate/);
      return true;
    });
    const back = await admin.call('package.get', { id: 'hello-world' });
    assert.equal(back.version, '1.1.0');
    await healthy('hello-world', since);
    assert.match(await httpGet(url, 10_000), /Before the update/, 'the data from before the failed update');
    assert.equal(await httpGet(`${url}migrated.txt`, 10_000), 'migrated to 1.1.0');
    const versions = fs.readdirSync(path.join(d.root, 'var/lib/hearth/packages/hello-world/versions'));
    assert.deepEqual(versions, ['1.1.0']);
    await admin.call('package.uninstall', { id: 'hello-world' });
  });

  test(
    'radicale: installs, turns healthy and answers CalDAV',
    {
      skip: required(
        fs.existsSync(path.join(SERVICES, 'radicale.hpk')) ? false : 'needs `make services`',
        'the radicale test',
      ),
    },
    async () => {
      const since = Date.now();
      const pkg = await admin.call('package.install', { path: path.join(SERVICES, 'radicale.hpk') });
      await healthy('radicale', since, 90_000);
      await admin.call('package.action.run', {
        id: 'radicale',
        action: 'set-password',
        input: { user: 'alice', password: 'correct horse' },
      });
      const auth = `Basic ${Buffer.from('alice:correct horse').toString('base64')}`;
      const propfind = (who: string) =>
        fetch(`http://${pkg.address}:5232/${who}/`, {
          method: 'PROPFIND',
          headers: { Authorization: auth, Depth: '0', 'Content-Type': 'application/xml' },
          body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>',
        });
      const res = await propfind('alice');
      assert.equal(res.status, 207);
      assert.match(await res.text(), /current-user-principal/);
      const wrong = await fetch(`http://${pkg.address}:5232/alice/`, {
        method: 'PROPFIND',
        headers: { Authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}`, Depth: '0' },
      });
      assert.equal(wrong.status, 401);
      // The password field is a secret (secret() in the package): the audit log never has it.
      const [entry] = await admin.call('audit.list', { method: 'package.action.run', limit: 1 });
      assert.deepEqual(entry?.params, {
        id: 'radicale',
        action: 'set-password',
        input: { user: 'alice', password: '[redacted]' },
      });
      await admin.call('package.uninstall', { id: 'radicale' });
    },
  );
});
