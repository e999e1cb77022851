import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostLxc } from '../src/host/lxc.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { type TestDaemon, untilHealthy } from './daemon.ts';
import { descendantRunning, leaseNetwork, log, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import {
  decodeWords,
  type Receiver,
  type SmtpSink,
  scratchDir,
  smtpSinkSkipReason,
  startReceiver,
  startSmtpSink,
  testTls,
} from './outbound-receivers.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';

/**
 * The owner hears of a failing health check away from the box: hello-world on real LXC,
 * its web server killed inside the container, and an email (aiosmtpd, STARTTLS) and a
 * webhook (an ntfy stand-in) arrive for it.
 */
const NETWORK = leaseNetwork();

const skip = required(
  lxcSkipReason() ||
    smtpSinkSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`'),
  'the health notification test',
);

describe('a failing health check leaves the box by mail and webhook', { skip }, () => {
  const { dir, cleanup } = scratchDir();
  const undo: (() => Promise<unknown> | unknown)[] = [cleanup];
  let d: TestDaemon;
  let sink: SmtpSink;
  let receiver: Receiver;

  before(async () => {
    const tls = testTls(dir);
    sink = await startSmtpSink({
      dir,
      mode: 'starttls',
      tls,
      auth: { user: 'box', password: 'sink password 9' },
    });
    undo.push(sink.stop);
    receiver = await startReceiver();
    undo.push(receiver.close);
    // The receivers are on this machine's loopback, the box itself: allowed for the test. The
    // daemon trusts the sink's certificate as an owner's box trusts a public CA.
    const daemon = await packagesDaemon(NETWORK, ['--notify-allow-self'], {
      NODE_EXTRA_CA_CERTS: tls.certFile,
    });
    d = daemon.d;
    undo.push(daemon.done);
  });
  after(async () => {
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
  });

  test('hello-world’s web server dies: an email and a webhook arrive, naming the package and the check', async () => {
    const admin = d.client({ bearer: d.localToken });
    await admin.call('notification.channel.add', {
      kind: 'email',
      server: '127.0.0.1',
      port: sink.port,
      username: 'box',
      password: 'sink password 9',
      from: 'box@example.com',
      to: ['owner@example.com'],
    });
    await admin.call('notification.channel.add', { kind: 'webhook', url: `${receiver.url}/hearth` });
    const installed = Date.now();
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await untilHealthy(admin, 'hello-world', { since: installed, timeoutMs: 60_000, pollMs: 100 });

    const lxc = hostLxc({ lxcPath: path.join(d.root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    const init = (await lxc.info('hearth-hello-world')).pid!;
    const killed = Date.now();
    process.kill(descendantRunning(init, 'httpd\0-f'), 'SIGKILL');

    const title = 'Hello World: Web page is failing';
    const mail = await sink.waitFor((m) => m.subject === title, 60_000);
    assert.deepEqual(mail.to, ['owner@example.com']);
    assert.equal(mail.tls, true);
    assert.match(mail.body, /From: +package:hello-world/);
    const hook = await receiver.waitFor((h) => decodeWords(String(h.headers['title'])) === title, 60_000);
    assert.equal(hook.headers['priority'], '4', 'a failing check is a warning');
    assert.equal(hook.headers['x-hearth-source'], 'package:hello-world');

    // The runtime starts the web server again; being healthy again is a success, below the default level.
    await untilHealthy(admin, 'hello-world', { since: killed, timeoutMs: 60_000, pollMs: 100 });
    const recovered = 'Hello World: Web page is healthy again';
    const titles = (await admin.call('notification.list', {})).map((n) => n.title);
    assert.ok(titles.includes(recovered), titles.join(', '));
    assert.equal(sink.mails().filter((m) => m.subject === recovered).length, 0);
    await admin.call('package.uninstall', { id: 'hello-world' });
  });
});
