import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import { ownAddresses } from '../src/host/outbound.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
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

/**
 * Notifications leaving the box, end to end: a real daemon with channels configured
 * through the API, a real SMTP server (aiosmtpd: STARTTLS, implicit TLS, AUTH) and an
 * HTTP receiver standing in for ntfy, all on loopback.
 */

const SMTP_USER = 'box@example.com';
const SMTP_PASSWORD = 'sink password 7';
const TOKEN = 'tk_test_receiver_token';
// The retries of a failed delivery come 0.2, 0.8 and 3.2 s after it.
const RETRY_SECONDS = '0.2';

const skip = required(smtpSinkSkipReason(), 'the outbound notification tests');

const rejectsWith = (p: Promise<unknown>, code: string, message?: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RpcError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });

describe('notifications by mail and webhook, through a real daemon', { skip }, () => {
  const { dir, cleanup } = scratchDir();
  const stops: (() => Promise<unknown> | unknown)[] = [cleanup];
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  let tls: ReturnType<typeof testTls>;
  let submission: SmtpSink;
  let receiver: Receiver;

  before(async () => {
    tls = testTls(dir);
    submission = await startSmtpSink({
      dir,
      mode: 'starttls',
      tls,
      auth: { user: SMTP_USER, password: SMTP_PASSWORD },
    });
    stops.push(submission.stop);
    receiver = await startReceiver();
    stops.push(receiver.close);
    d = await startTestDaemon({
      args: ['--notify-allow-self', '--notify-retry-seconds', RETRY_SECONDS],
      // The daemon trusts the test's certificate the way an owner's box trusts a public CA.
      env: { NODE_EXTRA_CA_CERTS: tls.certFile },
    });
    stops.push(() => d.cleanup());
    await setUp(d);
    admin = d.client({ bearer: d.localToken });
  });
  after(async () => {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
  });

  const remove = async () => {
    for (const c of await admin.call('notification.channel.list')) {
      await admin.call('notification.channel.remove', { id: c.id });
    }
  };

  test('an error notification arrives by mail (STARTTLS, AUTH) and by webhook; an info one stays on the box', async () => {
    await remove();
    const mail = await admin.call('notification.channel.add', {
      kind: 'email',
      server: '127.0.0.1',
      port: submission.port,
      username: SMTP_USER,
      password: SMTP_PASSWORD,
      from: 'box@example.com',
      to: ['owner@example.com', 'partner@example.com'],
    });
    assert.equal(mail.kind === 'email' && mail.security, 'starttls');
    assert.equal(mail.minLevel, 'warning');
    const hook = await admin.call('notification.channel.add', {
      kind: 'webhook',
      url: `${receiver.url}/hearth-alerts`,
      accessToken: TOKEN,
    });

    await admin.call('notification.create', { level: 'info', title: 'Backup done', message: 'all fine' });
    const title = 'Nextcloud: Web page is failing — “Überwachung” 🚨';
    await admin.call('notification.create', {
      level: 'error',
      title,
      message: 'connection refused\n.\n..two dots\nthe end',
    });

    const got = await submission.waitFor((m) => m.subject === title, 15_000);
    const body = got.body.replace(/\r\n/g, '\n');
    assert.equal(got.tls, true, 'sent after STARTTLS');
    assert.equal(got.user, SMTP_USER);
    assert.equal(got.from, 'box@example.com');
    assert.deepEqual(got.to, ['owner@example.com', 'partner@example.com']);
    assert.equal(body.split('\n').slice(0, 4).join('\n'), 'connection refused\n.\n..two dots\nthe end');
    assert.match(body, /Box: +testbox/);
    assert.match(body, /Level: +error/);
    assert.match(body, /Time: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    const header = (name: string) => got.headers.find(([n]) => n === name)?.[1];
    assert.equal(header('From'), 'Hearth on testbox <box@example.com>');
    assert.equal(header('Auto-Submitted'), 'auto-generated');
    assert.ok(
      got.data.split('\n').every((l) => l.endsWith('\r') || l === ''),
      'CRLF line ends',
    );

    const posted = await receiver.waitFor((h) => decodeWords(String(h.headers['title'])) === title, 15_000);
    assert.equal(posted.method, 'POST');
    assert.equal(posted.url, '/hearth-alerts');
    assert.equal(posted.headers['priority'], '5');
    assert.equal(posted.headers['tags'], 'rotating_light,testbox');
    assert.equal(posted.headers['authorization'], `Bearer ${TOKEN}`);
    assert.equal(posted.headers['x-hearth-level'], 'error');
    assert.equal(posted.body, 'connection refused\n.\n..two dots\nthe end');

    // Info is below both channels' level. The level is decided as `notification.create` runs,
    // and channels.test.ts proves the rule with the outbox idle; here, the error created after
    // it has arrived on both sides, and the info, had it been queued, would have started first.
    assert.deepEqual(
      submission.mails().filter((m) => m.subject === 'Backup done'),
      [],
      'info is below the default level',
    );
    assert.equal(receiver.hooks.filter((h) => h.headers['title'] === 'Backup done').length, 0);

    const list = await admin.call('notification.channel.list');
    assert.deepEqual(
      list.map((c) => [c.id, c.lastDeliveredAt !== null, c.lastError]),
      [
        [mail.id, true, null],
        [hook.id, true, null],
      ],
    );
    // The secrets are nowhere a caller or a log reader can look.
    const audit = await admin.call('audit.list', { method: 'notification.channel.add' });
    const state = await admin.call('state.get');
    for (const text of [JSON.stringify(list), JSON.stringify(audit), JSON.stringify(state), d.output()]) {
      assert.ok(!text.includes(SMTP_PASSWORD) && !text.includes(TOKEN));
    }
    assert.match(JSON.stringify(audit), /"password":"\[redacted\]"/);
  });

  test('implicit TLS on its own port and a plain relay take the test message', async () => {
    const smtps = await startSmtpSink({ dir, mode: 'tls', tls });
    stops.push(smtps.stop);
    const relay = await startSmtpSink({ dir, mode: 'plain' });
    stops.push(relay.stop);
    for (const [sink, security] of [
      [smtps, 'tls'],
      [relay, 'plain'],
    ] as const) {
      const c = await admin.call('notification.channel.add', {
        kind: 'email',
        server: '127.0.0.1',
        port: sink.port,
        security,
        from: 'box@example.com',
        to: ['owner@example.com'],
      });
      const answer = await admin.call('notification.channel.test', { id: c.id });
      assert.deepEqual([answer.delivered, answer.code], [true, undefined], answer.detail);
      assert.equal(answer.detail, '250 2.0.0 OK queued');
      const got = await sink.waitFor(() => true, 5000);
      assert.equal(got.subject, 'Test notification from Hearth on testbox');
      assert.equal(got.tls, security === 'tls');
      await admin.call('notification.channel.remove', { id: c.id });
    }
  });

  test('a failing receiver is retried, then reported on the channel — not as a notification', async () => {
    await remove();
    const failing = await startReceiver();
    stops.push(failing.close);
    failing.answer(503);
    const hook = await admin.call('notification.channel.add', {
      kind: 'webhook',
      url: `${failing.url}/down`,
    });
    const wrong = await admin.call('notification.channel.add', {
      kind: 'email',
      server: '127.0.0.1',
      port: submission.port,
      username: SMTP_USER,
      password: 'not the password',
      from: 'box@example.com',
      to: ['owner@example.com'],
    });
    const before = await admin.call('notification.list', { limit: 1000 });
    await admin.call('notification.create', { level: 'warning', title: 'Disk at 91 %', message: '' });

    const deadline = Date.now() + 20_000;
    let shown = await admin.call('notification.channel.list');
    while (shown.some((c) => c.lastError === null) && Date.now() < deadline) {
      await sleep(100);
      shown = await admin.call('notification.channel.list');
    }
    const hookShown = shown.find((c) => c.id === hook.id)!;
    const mailShown = shown.find((c) => c.id === wrong.id)!;
    assert.match(hookShown.lastError?.message ?? '', /answered 503: \{"code":50300/);
    assert.equal(failing.hooks.length, 4, 'one try and three retries');
    assert.equal(hookShown.lastDeliveredAt, null);
    // A refused password does not get better by trying again: once, and said so.
    assert.match(mailShown.lastError?.message ?? '', /refused the user name or password: 535/);
    assert.ok(!mailShown.lastError!.message.includes('not the password'));
    assert.equal(submission.mails().filter((m) => m.subject === 'Disk at 91 %').length, 0);

    const after = await admin.call('notification.list', { limit: 1000 });
    assert.deepEqual(
      after.slice(0, after.length - before.length).map((n) => n.title),
      ['Disk at 91 %'],
      'the failures made no notification of their own',
    );
    assert.match(d.output(), /could not deliver a notification/);
    assert.ok(!d.output().includes('not the password'));

    failing.answer(200);
    const retest = await admin.call('notification.channel.test', { id: hook.id });
    assert.deepEqual([retest.delivered, retest.detail], [true, 'HTTP 200']);
    const failed = await admin.call('notification.channel.test', { id: wrong.id });
    assert.equal(failed.delivered, false);
    assert.equal(failed.code, 'smtp_rejected');
  });

  test('CR/LF in a title or an address makes no header, in the mail or in the webhook', async () => {
    await remove();
    await admin.call('notification.channel.add', {
      kind: 'email',
      server: '127.0.0.1',
      port: submission.port,
      username: SMTP_USER,
      password: SMTP_PASSWORD,
      from: 'box@example.com',
      to: ['owner@example.com'],
    });
    await admin.call('notification.channel.add', { kind: 'webhook', url: `${receiver.url}/inject` });
    await admin.call('notification.create', {
      level: 'error',
      title: 'Disk full\r\nBcc: thief@evil.test\r\nX-Injected: yes\r\n\r\nfake body',
      message: 'real body\r\n.\r\nMAIL FROM:<evil@evil.test>',
    });
    const flat = 'Disk full Bcc: thief@evil.test X-Injected: yes fake body';
    const got = await submission.waitFor((m) => m.subject === flat, 15_000);
    assert.deepEqual(got.to, ['owner@example.com']);
    assert.ok(!got.headers.some(([n]) => /^(bcc|x-injected)$/i.test(n)), JSON.stringify(got.headers));
    assert.match(got.body.replace(/\r\n/g, '\n'), /^real body\n\.\nMAIL FROM:<evil@evil\.test>\n/);
    const posted = await receiver.waitFor((h) => h.url === '/inject', 15_000);
    assert.equal(posted.headers['title'], flat);
    assert.equal(posted.headers['x-injected'], undefined);
    // The smuggled MAIL FROM stayed inside the body: the body above arrived whole, its lone dot
    // and the line after it included — had the dot not been doubled, the server would have
    // ended the mail there and read the next line as a command.
    assert.equal(submission.mails().filter((m) => m.from === 'evil@evil.test').length, 0);

    await rejectsWith(
      admin.call('notification.channel.add', {
        kind: 'email',
        server: '127.0.0.1',
        port: submission.port,
        from: 'box@example.com',
        to: ['owner@example.com\r\nBcc: thief@evil.test'],
      }),
      'invalid_params',
      /not a mail address/,
    );
    await rejectsWith(
      admin.call('notification.channel.add', {
        kind: 'email',
        server: '127.0.0.1\r\nRCPT TO:<x@evil.test>',
        from: 'box@example.com',
        to: ['owner@example.com'],
      }),
      'invalid_params',
    );
  });

  test('channels are the admin’s: a read or operate token cannot see or add them', async () => {
    for (const scope of ['read', 'operate'] as const) {
      const { token } = await admin.call('auth.token.create', { name: `notify-${scope}`, scope });
      const c = d.client({ bearer: token });
      await rejectsWith(c.call('notification.channel.list'), 'forbidden');
      await rejectsWith(
        c.call('notification.channel.add', { kind: 'webhook', url: 'https://ntfy.sh/x' }),
        'forbidden',
      );
    }
  });
});

describe('where notifications may not go, on a daemon with the default settings', { skip }, () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    d = await startTestDaemon();
    await setUp(d);
    admin = d.client({ bearer: d.localToken });
  });
  after(async () => {
    await d?.cleanup();
    await receiver?.close();
  });

  test('the box itself, link-local and metadata addresses are refused; nothing reaches them', async () => {
    for (const url of [
      `${receiver.url}/x`,
      'http://localhost:9/x',
      'http://[::1]:9/x',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
    ]) {
      await rejectsWith(
        admin.call('notification.channel.add', { kind: 'webhook', url }),
        'invalid_params',
        /not sent to/,
      );
    }
    await rejectsWith(
      admin.call('notification.channel.add', {
        kind: 'email',
        server: '169.254.169.254',
        from: 'a@example.com',
        to: ['b@example.com'],
      }),
      'invalid_params',
      /link-local/,
    );
    // A name that leads to the box is only found out when it is resolved: at the send.
    const self = os.hostname();
    const addresses = await dns.lookup(self, { all: true }).catch(() => []);
    const own = ownAddresses();
    if (addresses.length > 0 && addresses.every((a) => own.has(a.address) || a.address.startsWith('127.'))) {
      const c = await admin.call('notification.channel.add', {
        kind: 'webhook',
        url: `http://${self}:${new URL(receiver.url).port}/x`,
      });
      const answer = await admin.call('notification.channel.test', { id: c.id });
      assert.equal(answer.delivered, false);
      assert.equal(answer.code, 'destination_refused');
      assert.match(answer.detail, /the box itself/);
    }
    assert.equal(receiver.hooks.length, 0);
  });
});
