import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { Notifications } from './notifications.ts';

function make(keep: number) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  return new Notifications({ db, state, keep });
}

const note = (title: string) => ({ level: 'info' as const, title, message: '', source: 'test' });
const titles = (n: Notifications) =>
  n
    .list({ unseenOnly: false, limit: 100 })
    .map((x) => `${x.title}${x.seen ? ' (seen)' : ''}`)
    .reverse();

test('past the cap the oldest seen notifications go first; an unseen one stays while a seen one can go', () => {
  const n = make(4);
  const [a, b] = [n.create(note('a')), n.create(note('b'))];
  n.create(note('c'));
  n.markSeen([b.id]);
  n.create(note('d'));
  n.create(note('e'));
  // a is the oldest, but unseen: b, seen, goes instead.
  assert.deepEqual(titles(n), ['a', 'c', 'd', 'e']);
  n.markSeen([a.id]);
  n.create(note('f'));
  assert.deepEqual(titles(n), ['c', 'd', 'e', 'f']);
});

test('past the cap with nothing seen, the oldest go', () => {
  const n = make(3);
  for (const t of ['a', 'b', 'c', 'd', 'e']) n.create(note(t));
  assert.deepEqual(titles(n), ['c', 'd', 'e']);
});
