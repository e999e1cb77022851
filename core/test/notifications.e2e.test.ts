import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

let d: TestDaemon;
before(async () => {
  d = await startTestDaemon();
  await setUp(d);
});
after(() => d.cleanup());

test('notifications: create, list, mark seen, remove — and the state document follows', async () => {
  const admin = d.client({ bearer: d.localToken });
  const token = (await admin.call('auth.token.create', { name: 'backup script', scope: 'operate' })).token;
  const op = d.client({ bearer: token });
  const a = await op.call('notification.create', {
    level: 'warning',
    title: 'Disk almost full',
    message: '92 % used',
  });
  const b = await op.call('notification.create', { title: 'Backup done' });
  assert.equal(a.source, 'token:backup script');
  assert.equal(b.level, 'info');

  const unseen = await op.call('notification.list', { unseenOnly: true });
  assert.deepEqual(
    unseen.map((n) => n.id),
    [b.id, a.id],
  );
  let state = (await op.call('state.get')).state as {
    notifications: { unseen: number; items: Record<string, { title: string }> };
  };
  assert.equal(state.notifications.unseen, 2);
  assert.equal(state.notifications.items[String(a.id)]!.title, 'Disk almost full');

  assert.deepEqual(await op.call('notification.mark-seen', { ids: [a.id] }), { changed: 1 });
  assert.deepEqual(await op.call('notification.mark-seen', { ids: [a.id] }), { changed: 0 });
  await assert.rejects(
    op.call('notification.mark-seen', {}),
    (e: unknown) => e instanceof RpcError && e.code === 'invalid_params',
  );
  assert.deepEqual(await op.call('notification.mark-seen', { all: true }), { changed: 1 });
  await op.call('notification.remove', { id: a.id });
  await assert.rejects(
    op.call('notification.remove', { id: a.id }),
    (e: unknown) => e instanceof RpcError && e.code === 'not_found',
  );

  state = (await op.call('state.get')).state as typeof state;
  assert.equal(state.notifications.unseen, 0);
  assert.deepEqual(Object.keys(state.notifications.items), [String(b.id)]);
});
