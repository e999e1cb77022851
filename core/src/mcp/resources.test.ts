import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedBy, changesPackageList, listResources, parseUri, select, stateUri } from './resources.ts';

const doc = {
  server: { hostname: 'box' },
  packages: { 'hello-world': { status: 'running', health: { web: { status: 'success' } } }, radicale: {} },
  notifications: { unseen: 0, items: {} },
};

test('URIs name parts of the state document, or a package’s logs', () => {
  assert.deepEqual(parseUri('hearth://state'), { kind: 'state', path: [] });
  assert.deepEqual(parseUri('hearth://state/packages/hello-world'), {
    kind: 'state',
    path: ['packages', 'hello-world'],
  });
  assert.deepEqual(parseUri('hearth://packages/hello-world/logs'), { kind: 'logs', id: 'hello-world' });
  for (const bad of [
    'hearth://states',
    'hearth://state/',
    'hearth://state//x',
    'http://state',
    'hearth://packages/X/logs',
  ]) {
    assert.equal(parseUri(bad), undefined, bad);
  }
  assert.equal(stateUri(['packages', 'a/b']), 'hearth://state/packages/a%2Fb');
  assert.deepEqual(parseUri(stateUri(['packages', 'a/b'])), { kind: 'state', path: ['packages', 'a/b'] });
  assert.deepEqual(select(doc, ['server']), { hostname: 'box' });
  assert.equal(select(doc, ['server', 'nope']), undefined);
  assert.equal(select(doc, ['server', 'hostname', 'length']), undefined);
  assert.equal(select(doc, ['constructor']), undefined);
});

test('a patch changes the resources at, above and below the paths it touches', () => {
  const subscribed = [
    'hearth://state',
    'hearth://state/server',
    'hearth://state/packages',
    'hearth://state/packages/hello-world',
    'hearth://state/packages/radicale',
    'hearth://packages/hello-world/logs',
  ];
  const health = [
    { op: 'replace' as const, path: '/packages/hello-world/health/web/status', value: 'failure' },
  ];
  assert.deepEqual(changedBy(health, subscribed), [
    'hearth://state',
    'hearth://state/packages',
    'hearth://state/packages/hello-world',
  ]);
  const all = [{ op: 'replace' as const, path: '/packages', value: {} }];
  assert.deepEqual(changedBy(all, subscribed), [
    'hearth://state',
    'hearth://state/packages',
    'hearth://state/packages/hello-world',
    'hearth://state/packages/radicale',
  ]);
  assert.deepEqual(changedBy([{ op: 'remove', path: '/server/hostname' }], ['hearth://state/packages']), []);
});

test('adding or removing a package changes the list of resources; changing one does not', () => {
  assert.equal(changesPackageList([{ op: 'add', path: '/packages/x', value: {} }]), true);
  assert.equal(changesPackageList([{ op: 'remove', path: '/packages/x' }]), true);
  assert.equal(changesPackageList([{ op: 'replace', path: '/packages', value: {} }]), true);
  assert.equal(changesPackageList([{ op: 'replace', path: '/packages/x', value: {} }]), false);
  assert.equal(changesPackageList([{ op: 'add', path: '/packages/x/health/web', value: {} }]), false);
  const uris = listResources(doc).map((r) => r.uri);
  assert.ok(uris.includes('hearth://state/packages/hello-world'));
  assert.ok(uris.includes('hearth://state/packages/radicale'));
});
