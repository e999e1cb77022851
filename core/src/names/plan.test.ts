import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  desiredNames,
  type NamesInput,
  type NamesObserved,
  planNames,
  renderDnsmasqConfig,
  renderHosts,
  renderIsolation,
  UnsafeName,
} from './plan.ts';

const input = (o: Partial<NamesInput> = {}): NamesInput => ({
  bridge: 'hearth0',
  gateway: '10.73.0.1',
  table: 'hearth',
  upstream: [],
  hostsFile: '/run/hearth/dns/hosts',
  packages: [
    { id: 'nextcloud', address: '10.73.0.2', veth: 'vh0123456789', dependencies: ['postgres'] },
    { id: 'postgres', address: '10.73.0.3', veth: 'vhabcdefabcd', dependencies: [] },
  ],
  ...o,
});

const observedNothing: NamesObserved = { config: null, hosts: null, running: false, rulesDigest: null };

describe('names plan', () => {
  test('every package is <id>.internal at its address', () => {
    assert.equal(
      renderHosts(input().packages),
      '10.73.0.2 nextcloud.internal\n10.73.0.3 postgres.internal\n',
    );
  });

  test('dnsmasq listens on the bridge only, answers .internal itself and forwards the rest', () => {
    const host = renderDnsmasqConfig(input());
    assert.match(host, /^listen-address=10\.73\.0\.1$/m);
    assert.match(host, /^local=\/internal\/$/m);
    assert.match(host, /^resolv-file=\/etc\/resolv\.conf$/m);
    assert.doesNotMatch(host, /^server=/m);
    const test = renderDnsmasqConfig(input({ upstream: ['127.0.0.5#5353', '::1'] }));
    assert.match(test, /^no-resolv$/m);
    assert.match(test, /^server=127\.0\.0\.5#5353$/m);
    assert.match(test, /^server=::1$/m);
  });

  test('a dependency opens one direction, to the declared package only', () => {
    const { script } = renderIsolation(input());
    assert.match(
      script,
      /set allowed \{ type ipv4_addr \. ipv4_addr; elements = \{ 10\.73\.0\.2 \. 10\.73\.0\.3 \}; \}/,
    );
    assert.match(script, /set ports \{ type ifname; elements = \{ "vh0123456789", "vhabcdefabcd" \}; \}/);
    assert.match(script, /iifname "vh0123456789" ether type ip ip saddr != 10\.73\.0\.2 counter drop/);
    // A dependency that is not installed opens nothing.
    const alone = renderIsolation(input({ packages: [input().packages[0]!] })).script;
    assert.doesNotMatch(alone, /elements = \{ 10\./);
  });

  test('the rules carry a digest of themselves, which changes with them', () => {
    const a = renderIsolation(input());
    const b = renderIsolation(input({ packages: input().packages.map((p) => ({ ...p, dependencies: [] })) }));
    assert.match(a.script, new RegExp(`comment "hearth isolation ${a.digest}"`));
    assert.notEqual(a.digest, b.digest);
    assert.equal(renderIsolation(input()).digest, a.digest);
  });

  test('names that could inject a directive or a rule are refused, not written', () => {
    const evil = [
      'evil\nserver=6.6.6.6',
      'x"; drop; "',
      'a b',
      'UPPER',
      '-leading',
      'a/../b',
      `a${'b'.repeat(63)}`,
    ];
    for (const id of evil) {
      const packages = [{ id, address: '10.73.0.2', veth: 'vh0123456789', dependencies: [] }];
      assert.throws(() => desiredNames(input({ packages })), UnsafeName, id);
      const dep = [{ id: 'fine', address: '10.73.0.2', veth: 'vh0123456789', dependencies: [id] }];
      assert.throws(() => desiredNames(input({ packages: dep })), UnsafeName, id);
    }
    const veth = [{ id: 'fine', address: '10.73.0.2', veth: 'vh"} accept', dependencies: [] }];
    assert.throws(() => desiredNames(input({ packages: veth })), UnsafeName);
    const address = [{ id: 'fine', address: '10.73.0.2 accept', veth: 'vh0', dependencies: [] }];
    assert.throws(() => desiredNames(input({ packages: address })), UnsafeName);
    assert.throws(() => renderDnsmasqConfig(input({ upstream: ['1.1.1.1\nlog-queries'] })), UnsafeName);
    assert.throws(() => renderDnsmasqConfig(input({ bridge: 'br\nport=0' })), UnsafeName);
  });

  test('from nothing: files, start, rules', () => {
    const d = desiredNames(input());
    assert.deepEqual(
      planNames(d, observedNothing).map((s) => s.kind),
      ['write-dns-files', 'start-dns', 'apply-isolation'],
    );
  });

  test('steady state: nothing to do', () => {
    const d = desiredNames(input());
    const o = { config: d.config, hosts: d.hosts, running: true, rulesDigest: d.rules!.digest };
    assert.deepEqual(planNames(d, o), []);
  });

  test('a package more: new hosts are a reload, not a restart; the rules follow', () => {
    const before = desiredNames(input({ packages: input().packages.slice(0, 1) }));
    const after = desiredNames(input());
    const o = {
      config: before.config,
      hosts: before.hosts,
      running: true,
      rulesDigest: before.rules!.digest,
    };
    assert.deepEqual(
      planNames(after, o).map((s) => s.kind),
      ['write-dns-files', 'reload-dns', 'apply-isolation'],
    );
  });

  test('a new upstream restarts dnsmasq; a dead one is started again', () => {
    const d = desiredNames(input({ upstream: ['127.0.0.5'] }));
    const old = desiredNames(input());
    const o = { config: old.config, hosts: old.hosts, running: true, rulesDigest: d.rules!.digest };
    assert.deepEqual(
      planNames(d, o).map((s) => s.kind),
      ['write-dns-files', 'restart-dns'],
    );
    assert.deepEqual(
      planNames(d, { config: d.config, hosts: d.hosts, running: false, rulesDigest: d.rules!.digest }).map(
        (s) => s.kind,
      ),
      ['start-dns'],
    );
  });

  test('the last package gone: dnsmasq stops and the rules go', () => {
    const d = desiredNames(input({ packages: [] }));
    assert.deepEqual(
      planNames(d, { config: 'x', hosts: '', running: true, rulesDigest: 'abc' }).map((s) => s.kind),
      ['stop-dns', 'remove-isolation'],
    );
    assert.deepEqual(planNames(d, observedNothing), []);
  });
});
