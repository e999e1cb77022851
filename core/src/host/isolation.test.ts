import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderResolvConf, validateContainerSpec } from './containers.ts';
import { parseIsolationDigest } from './isolation.ts';

// As nft 1.0.6 prints them.
const TABLES = 'table ip hearth\ntable bridge hearth\ntable inet hearth\n';
const BRIDGE_TABLE = 'table bridge hearth {\n\tcomment "hearth isolation 97d8f37915e1262a"\n\tset ports {\n';

test('the digest is read from the bridge table, only when both tables are there', () => {
  assert.equal(parseIsolationDigest(TABLES, BRIDGE_TABLE, 'hearth'), '97d8f37915e1262a');
  assert.equal(parseIsolationDigest('table ip hearth\ntable bridge hearth\n', BRIDGE_TABLE, 'hearth'), null);
  assert.equal(parseIsolationDigest(TABLES, 'table bridge hearth {\n', 'hearth'), null);
  assert.equal(parseIsolationDigest(TABLES, BRIDGE_TABLE, 'hearth_ts1'), null);
});

test('a container resolv.conf: the nameserver and search domain, nothing that starts a line', () => {
  assert.equal(
    renderResolvConf({ nameserver: '10.73.0.1', search: 'internal' }).split('\n').slice(1).join('\n'),
    'nameserver 10.73.0.1\nsearch internal\n',
  );
  const spec = {
    name: 'hearth-a',
    image: '/img',
    dataDir: '/data',
    idmap: { hostId: 1_000_000, count: 65536 },
    volumes: [],
    hearthBinary: '/hearth',
    init: ['/init'],
    memoryMiB: 64,
    cpus: 1,
    network: { bridge: 'hearth0', subnet: '10.73.0.0/24', address: '10.73.0.2' },
  };
  validateContainerSpec({ ...spec, dns: { nameserver: '10.73.0.1', search: 'internal' } });
  for (const dns of [
    { nameserver: '10.73.0.1\noptions ndots:15', search: 'internal' },
    { nameserver: '10.73.0.1', search: 'internal\nnameserver 6.6.6.6' },
    { nameserver: 'evil', search: 'internal' },
  ]) {
    assert.throws(() => validateContainerSpec({ ...spec, dns }), /dns must be/);
  }
});
