import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

/**
 * The operator's view on a real daemon: server.status and `hearth status`, the checks and
 * their fixups, the event history, and `hearth ps` with a container someone else made.
 * The free-space check fails here on purpose (the box keeps more free than any disk has);
 * a filled real filesystem is checks.integration.test.ts.
 */
describe('the operator’s view on a real daemon', () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  let reader: ReturnType<TestDaemon['client']>;
  before(async () => {
    d = await startTestDaemon({ args: ['--min-free-space-mib', String(2 ** 30)] });
    await setUp(d);
    admin = d.client({ bearer: d.localToken });
    reader = d.client({
      bearer: (await admin.call('auth.token.create', { name: 'watcher', scope: 'read' })).token,
    });
    // Someone's own container, made with the lxc tools: only a directory with a config.
    const theirs = path.join(d.root, 'var/lib/lxc/someones');
    fs.mkdirSync(theirs, { recursive: true });
    fs.writeFileSync(
      path.join(theirs, 'config'),
      'lxc.uts.name = someones\nlxc.rootfs.path = dir:/nonexistent\n',
    );
  });
  after(() => d.cleanup());

  const failing = async () => {
    for (let i = 0; i < 100; i++) {
      const s = await reader.call('server.status', {});
      if (s.findings.length > 0) return s;
      await sleep(100);
    }
    throw new Error('the checks found nothing');
  };

  test('a failing check shows in server.status, as an event and a notification, and in `hearth status`', async () => {
    const s = await failing();
    assert.equal(s.summary, 'trouble');
    assert.equal(s.headline, '1 thing needs attention.');
    const [f] = s.findings;
    assert.equal(f!.check, 'free-space');
    assert.match(f!.message, /less than the 1024\.0 TiB it keeps free; installs and updates are refused/);
    assert.deepEqual(s.drift, []);
    // Among the recent events (the box's first certificates are made beside it).
    assert.ok(
      s.recentEvents.some((e) => e.kind === 'check-failing'),
      JSON.stringify(s.recentEvents),
    );

    const events = await reader.call('event.list', { kinds: ['check-failing'] });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.detail['check'], 'free-space');
    const notes = await reader.call('notification.list', {});
    assert.equal(notes.filter((n) => n.source === 'check:free-space').length, 1);

    const checks = await reader.call('server.check.list', {});
    assert.deepEqual(checks.map((c) => c.id).sort(), [
      'box-certificates',
      'clock',
      'crash-loop',
      'data-drive',
      'domain-certificates',
      'domain-renewals',
      'free-space',
      'tor',
    ]);
    assert.equal(checks.find((c) => c.id === 'data-drive')!.status, 'ok');
    assert.equal(checks.find((c) => c.id === 'crash-loop')!.status, 'ok');
    // No systemd-timedated here: the clock check says it cannot tell, and finds nothing.
    assert.ok(['ok', 'unknown'].includes(checks.find((c) => c.id === 'clock')!.status));

    const cli = await d.cli(['status']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^Trouble: 1 thing needs attention\.$/m);
    assert.match(cli.stdout, /^Packages: 0 installed, 0 running$/m);
    assert.match(
      cli.stdout,
      /^ {2}error {4}The data drive has .* free of .*, less than the 1024\.0 TiB it keeps free/m,
    );
    assert.match(cli.stdout, /Recent events:\n(?:.*\n)*?.* box {14}check-failing +check=free-space/);
    const json = JSON.parse((await d.cli(['status', '--json'])).stdout);
    assert.equal(json.summary, 'trouble');
  });

  test('running the checks again changes nothing; a fixup with nothing to fix, or none such, is refused', async () => {
    await failing();
    const again = await admin.call('server.check.run', { id: 'free-space' });
    assert.equal(again[0]!.status, 'failing');
    assert.equal(
      (await reader.call('event.list', { kinds: ['check-failing'] })).length,
      1,
      'no second event',
    );
    await assert.rejects(
      admin.call('server.fixup.run', { fixup: 'crash-loop.stop', subject: 'nope' }),
      (e: unknown) => e instanceof RpcError && e.code === 'nothing_to_fix',
    );
    await assert.rejects(
      admin.call('server.fixup.run', { fixup: 'no.such', subject: null }),
      (e: unknown) => e instanceof RpcError && e.code === 'not_found',
    );
    await assert.rejects(
      admin.call('server.check.run', { id: 'nope' }),
      (e: unknown) => e instanceof RpcError && e.code === 'not_found',
    );
    // A read token sees; it does not run checks or fixups.
    await assert.rejects(
      reader.call('server.check.run', {}),
      (e: unknown) => e instanceof RpcError && e.code === 'forbidden',
    );
    await assert.rejects(
      reader.call('server.fixup.run', { fixup: 'clock.enable-ntp', subject: null }),
      (e: unknown) => e instanceof RpcError && e.code === 'forbidden',
    );
  });

  test('event.list refuses what it cannot answer, and pages', async () => {
    for (const bad of [{ limit: 0 }, { limit: 1001 }, { kinds: ['nope'] }, { before: -1 }, { extra: 1 }]) {
      await assert.rejects(
        reader.call('event.list', bad as never),
        (e: unknown) => e instanceof RpcError && e.code === 'invalid_params',
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(await reader.call('event.list', { package: "x' OR '1'='1" }), []);
    const [newest] = await reader.call('event.list', { limit: 1, kinds: ['check-failing'] });
    assert.deepEqual(await reader.call('event.list', { before: newest!.id, kinds: ['check-failing'] }), []);
  });

  test('`hearth ps` lists a container Hearth did not make as ignored', async () => {
    const rows = await reader.call('server.ps', {});
    const theirs = rows.find((r) => r.name === 'someones');
    assert.ok(theirs, JSON.stringify(rows));
    assert.deepEqual([theirs.ignored, theirs.package, theirs.state], [true, null, 'stopped']);
    const cli = await d.cli(['ps']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^NAME +PACKAGE +STATE +UPTIME +MEMORY +LIMIT +CPU +ADDRESS$/m);
    assert.match(cli.stdout, /^someones +\(ignored: not Hearth’s\) +stopped +- /m);
    // Listed, never touched: its directory is as it was.
    assert.deepEqual(fs.readdirSync(path.join(d.root, 'var/lib/lxc/someones')), ['config']);
  });
});
