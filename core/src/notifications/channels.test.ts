import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHearthError } from '../errors.ts';
import type { SmtpSend } from '../host/smtp.ts';
import type { WebhookSend } from '../host/webhook.ts';
import { createLogger, type LogRecord } from '../log/log.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { type ChannelSenders, NotificationChannels } from './channels.ts';
import { Notifications } from './notifications.ts';

const PASSWORD = 'correct horse battery';
const TOKEN = 'tk_supersecrettoken';

/** A daemon's worth of notifications with channels whose senders the test plays. */
function setup(senders: Partial<ChannelSenders> = {}) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  const mails: SmtpSend[] = [];
  const posts: WebhookSend[] = [];
  const records: LogRecord[] = [];
  const channels = new NotificationChannels({
    db,
    senders: {
      email: async (o) => {
        mails.push(o);
        return { reply: '250 OK queued' };
      },
      webhook: async (o) => {
        posts.push(o);
        return { status: 200 };
      },
      ...senders,
    },
    log: createLogger({ level: 'debug', sinks: [(r) => records.push(r)] }),
    boxName: () => 'testbox',
    retryDelaysMs: [1, 1],
  });
  const notifications = new Notifications({ db, state, deliver: (n) => channels.deliver(n) });
  return { db, state, channels, notifications, mails, posts, records };
}

const addBoth = (channels: NotificationChannels) => {
  const email = channels.add({
    kind: 'email',
    minLevel: 'warning',
    server: 'smtp.example.com',
    from: 'box@example.com',
    to: ['me@example.com'],
    username: 'box',
    password: PASSWORD,
  });
  const hook = channels.add({
    kind: 'webhook',
    minLevel: 'error',
    url: 'https://ntfy.sh/box',
    accessToken: TOKEN,
  });
  return { email, hook };
};

test('channels are added, listed without their secrets, and removed', () => {
  const { channels, db, state } = setup();
  const { email, hook } = addBoth(channels);
  const list = channels.list();
  assert.deepEqual(
    list.map((c) => [c.id, c.kind, c.name]),
    [
      [email.id, 'email', 'email to me@example.com'],
      [hook.id, 'webhook', 'webhook to ntfy.sh'],
    ],
  );
  assert.ok(list[0]!.kind === 'email' && list[0]!.passwordSet && list[0]!.port === 587);
  assert.ok(list[1]!.kind === 'webhook' && list[1]!.accessTokenSet);
  const shown = JSON.stringify(list);
  assert.ok(!shown.includes(PASSWORD) && !shown.includes(TOKEN));
  assert.ok(!JSON.stringify(state.get()).includes(PASSWORD), 'not in the state document');
  // Stored apart from the settings, where only the daemon reads it.
  const row = db.prepare('SELECT config, secret FROM notification_channels WHERE id = ?').get(email.id) as {
    config: string;
    secret: string;
  };
  assert.equal(row.secret, PASSWORD);
  assert.ok(!row.config.includes(PASSWORD));
  channels.remove(email.id);
  assert.throws(
    () => channels.remove(email.id),
    (e: unknown) => isHearthError(e) && e.code === 'not_found',
  );
  assert.deepEqual(
    channels.list().map((c) => c.id),
    [hook.id],
  );
});

test('a notification goes to each channel whose level it reaches, after create has returned', async () => {
  const { channels, notifications, mails, posts } = setup();
  addBoth(channels);
  notifications.create({ level: 'info', title: 'Backup done', message: '', source: 'system' });
  notifications.create({ level: 'success', title: 'Update done', message: '', source: 'system' });
  notifications.create({ level: 'warning', title: 'Disk at 90 %', message: 'clean up', source: 'system' });
  assert.equal(mails.length + posts.length, 0, 'nothing sent inside create');
  notifications.create({
    level: 'error',
    title: 'Nextcloud is down',
    message: 'refused',
    source: 'package:nc',
  });
  await channels.idle();
  assert.deepEqual(
    mails.map((m) => /^Subject: (.*)$/m.exec(m.message)?.[1]),
    ['Disk at 90 %', 'Nextcloud is down'],
  );
  assert.deepEqual(
    posts.map((p) => p.headers['Title']),
    ['Nextcloud is down'],
  );
  const [mail] = mails;
  assert.equal(mail!.password, PASSWORD);
  assert.equal(mail!.security, 'starttls');
  assert.equal(posts[0]!.headers['Authorization'], `Bearer ${TOKEN}`);
  assert.equal(posts[0]!.body, 'refused');
  assert.equal(
    mail!.checkAddress('169.254.169.254') !== undefined,
    true,
    'the adapters get the address policy',
  );
  assert.ok(channels.list().every((c) => c.lastDeliveredAt !== null && c.lastError === null));
});

test('a failure is retried, then shown on the channel and logged — scrubbed, and never a notification', async () => {
  let tries = 0;
  const echo = Buffer.from(PASSWORD).toString('base64');
  const { channels, notifications, records } = setup({
    email: async () => {
      tries += 1;
      // A hostile server repeats what it was sent; our error keeps what it said.
      throw Object.assign(new Error(`535 no such login ${PASSWORD} / ${echo}`), {
        permanent: false,
        code: 'smtp_rejected',
      });
    },
  });
  const { email } = addBoth(channels);
  notifications.create({ level: 'error', title: 'Down', message: '', source: 'system' });
  await channels.idle();
  assert.equal(tries, 3);
  const shown = channels.list().find((c) => c.id === email.id)!;
  assert.equal(shown.lastDeliveredAt, null);
  assert.equal(shown.lastError?.message, '535 no such login [redacted] / [redacted]');
  assert.deepEqual(
    notifications.list({ unseenOnly: false, limit: 10 }).map((n) => n.title),
    ['Down'],
    'no notification about the failed delivery',
  );
  const logged = JSON.stringify(records);
  assert.match(logged, /could not deliver a notification/);
  assert.ok(!logged.includes(PASSWORD) && !logged.includes(echo));
});

test('test sends now, whatever the level, and answers what happened', async () => {
  const { channels, mails } = setup({
    webhook: async () => {
      throw Object.assign(new Error(`ntfy.sh answered 401: bad token ${TOKEN}`), {
        permanent: true,
        code: 'webhook_rejected',
      });
    },
  });
  const { email, hook } = addBoth(channels);
  const ok = await channels.test(email.id);
  assert.equal(ok.delivered, true);
  assert.equal(ok.detail, '250 OK queued');
  assert.match(mails[0]!.message, /^Subject: Test notification from Hearth on testbox$/m);
  const failed = await channels.test(hook.id);
  assert.deepEqual(
    { ...failed, ms: 0 },
    {
      delivered: false,
      detail: 'ntfy.sh answered 401: bad token [redacted]',
      code: 'webhook_rejected',
      ms: 0,
    },
  );
  assert.equal(channels.list().find((c) => c.id === hook.id)!.lastError?.message, failed.detail);
  await assert.rejects(channels.test(999), (e: unknown) => isHearthError(e) && e.code === 'not_found');
});

test('a full outbox drops, says so once, and close leaves nothing running', async () => {
  const { channels, notifications, records } = setup({
    email: () => new Promise(() => {}),
  });
  addBoth(channels);
  for (let i = 0; i < 150; i++)
    notifications.create({ level: 'warning', title: `n${i}`, message: '', source: 's' });
  const drops = records.filter((r) => r.msg.includes('too many are waiting'));
  assert.equal(drops.length, 1);
  assert.equal(channels.list()[0]!.lastError?.message.includes('too many'), true);
  await channels.close();
  assert.ok(records.some((r) => r.msg === 'stopping with notifications not yet delivered'));
  notifications.create({ level: 'error', title: 'after close', message: '', source: 's' });
});
