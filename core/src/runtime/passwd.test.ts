import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { parseGroup, parsePasswd, resolveUser } from './passwd.ts';

const passwd = fs.readFileSync(new URL('__fixtures__/passwd', import.meta.url), 'utf8');
const group = fs.readFileSync(new URL('__fixtures__/group', import.meta.url), 'utf8');

test('parsePasswd / parseGroup: real files; comments, blanks and broken lines skipped', () => {
  const users = parsePasswd(passwd);
  assert.deepEqual(users[0], { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' });
  assert.deepEqual(
    users.find((u) => u.name === 'www-data'),
    { name: 'www-data', uid: 33, gid: 33, home: '/var/www', shell: '/usr/sbin/nologin' },
  );
  assert.ok(!users.some((u) => u.name === 'broken' || u.name.startsWith('#')));
  const groups = parseGroup(group);
  assert.deepEqual(
    groups.find((g) => g.name === 'postgres'),
    { name: 'postgres', gid: 104 },
  );
  assert.ok(!groups.some((g) => g.name === 'bad'));
});

test('resolveUser: names, numbers, user:group', () => {
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  assert.deepEqual(resolveUser('www-data', users, groups), {
    name: 'www-data',
    uid: 33,
    gid: 33,
    home: '/var/www',
  });
  assert.deepEqual(resolveUser('33', users, groups), {
    name: 'www-data',
    uid: 33,
    gid: 33,
    home: '/var/www',
  });
  assert.deepEqual(resolveUser('postgres:www-data', users, groups), {
    name: 'postgres',
    uid: 101,
    gid: 33,
    home: '/var/lib/postgresql',
  });
  assert.deepEqual(resolveUser('nobody:100', users, groups).gid, 100);
  // A number without an entry: its own group, never root's.
  assert.deepEqual(resolveUser('4242', users, groups), { name: '4242', uid: 4242, gid: 4242, home: '/' });
  assert.deepEqual(resolveUser('4242:4243', users, groups).gid, 4243);
  assert.throws(() => resolveUser('ghost', users, groups), {
    code: 'runtime_unknown_user',
    message: "the container has no user 'ghost'",
  });
  assert.throws(() => resolveUser('www-data:ghosts', users, groups), {
    code: 'runtime_unknown_user',
    message: "the container has no group 'ghosts'",
  });
});
