import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertContainerAddress,
  cgroupLayout,
  cgroupMountPoints,
  macAddress,
  mountsUnder,
  parseIpAddrShow,
  parseLxcInfo,
  parseLxcLs,
  parseMountInfo,
  parseSubnet,
  parseSubordinateIds,
  planIdReservation,
  renderLxcConfig,
  renderNatTable,
  tailConsoleLog,
  vethName,
} from './lxc-parse.ts';

const fixture = (name: string) =>
  fs.readFileSync(path.join(import.meta.dirname, '__fixtures__', name), 'utf8');

test('lxc-info -H of a running container: state, init PID, address, raw CPU ns and memory bytes', () => {
  assert.deepEqual(parseLxcInfo(fixture('lxc-info-running.txt')), {
    name: 'hearth-nextcloud',
    state: 'RUNNING',
    pid: 9182,
    ips: ['10.232.7.2'],
    cpuNs: 20427638,
    memoryBytes: 3010560,
    links: ['vh40ded10402'],
  });
});

test('lxc-info -H of a stopped container has only name and state', () => {
  assert.deepEqual(parseLxcInfo(fixture('lxc-info-stopped.txt')), {
    name: 'hearth-bitcoind',
    state: 'STOPPED',
    pid: null,
    ips: [],
    cpuNs: null,
    memoryBytes: null,
    links: [],
  });
  assert.throws(() => parseLxcInfo('STOPPED\n'), /no State/);
  assert.throws(() => parseLxcInfo('State: SLEEPY\n'), /unknown state/);
});

test('lxc-ls -f: columns cut at the header, "-" is nothing, several addresses split', () => {
  assert.deepEqual(parseLxcLs(fixture('lxc-ls.txt')), [
    { name: 'hearth-bitcoind', state: 'STOPPED', pid: null, ipv4: [], unprivileged: true },
    { name: 'hearth-nextcloud', state: 'RUNNING', pid: 9182, ipv4: ['10.232.7.2'], unprivileged: true },
    { name: 'legacy-web', state: 'STOPPED', pid: null, ipv4: [], unprivileged: false },
  ]);
  const two = [
    'NAME       STATE   PID IPV4                  UNPRIVILEGED ',
    'hearth-a   RUNNING 42  10.73.0.2, 10.73.0.9  true         ',
  ].join('\n');
  assert.deepEqual(parseLxcLs(two)[0]?.ipv4, ['10.73.0.2', '10.73.0.9']);
  assert.deepEqual(parseLxcLs(''), []);
});

test('mountinfo: idmapped squashfs, overlay, escaped spaces; mountsUnder is deepest first', () => {
  const mounts = parseMountInfo(fixture('mountinfo.txt'));
  const lower = mounts.find((m) => m.mountPoint.endsWith('/lower'))!;
  assert.equal(lower.fsType, 'squashfs');
  assert.equal(lower.source, '/dev/loop0');
  assert.ok(lower.options.includes('idmapped') && lower.options.includes('ro'));
  const overlay = mounts.find((m) => m.fsType === 'overlay')!;
  assert.ok(overlay.superOptions.includes('lowerdir=/tmp/hearth-capture/lxc/hearth-nextcloud/lower'));
  assert.ok(mounts.some((m) => m.mountPoint === '/tmp/hearth-capture/with space'));

  assert.deepEqual(
    mountsUnder(mounts, '/tmp/hearth-capture/').map((m) => m.mountPoint),
    [
      '/tmp/hearth-capture/with space',
      '/tmp/hearth-capture/lxc/hearth-nextcloud/rootfs',
      '/tmp/hearth-capture/lxc/hearth-nextcloud/lower',
    ],
  );
  assert.deepEqual(mountsUnder(mounts, '/tmp/hearth-capt'), [], 'a prefix of a name is not a parent');
  assert.deepEqual(
    mountsUnder(mounts, '/tmp/hearth-capture/lxc/hearth-nextcloud/lower').map((m) => m.id),
    [lower.id],
  );
});

test('cgroup layout: hybrid (controllers on v1, empty v2 at unified) is legacy; cgroup2 at the top is unified', () => {
  const hybrid = parseMountInfo(fixture('mountinfo.txt'));
  assert.equal(cgroupLayout(hybrid), 'legacy');
  assert.ok(cgroupMountPoints(hybrid).includes('/sys/fs/cgroup/memory'));
  assert.ok(cgroupMountPoints(hybrid).includes('/sys/fs/cgroup/unified'));
  const unified = parseMountInfo(
    '31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n',
  );
  assert.equal(cgroupLayout(unified), 'unified');
  assert.deepEqual(cgroupMountPoints(unified), ['/sys/fs/cgroup']);
});

test('subordinate ids: covered ranges need nothing, free ones are appended, taken ones conflict', () => {
  const ranges = parseSubordinateIds(`${fixture('subuid.txt')}# comment\nalice:100000:65536\n\nbroken\n`);
  assert.deepEqual(ranges, [
    { owner: 'root', start: 1327680, count: 65536 },
    { owner: 'root', start: 1393216, count: 65536 },
    { owner: 'alice', start: 100000, count: 65536 },
  ]);
  assert.deepEqual(planIdReservation(ranges, 'root', { start: 1327680, count: 65536 }), { action: 'none' });
  assert.deepEqual(planIdReservation(ranges, 'root', { start: 1000000, count: 65536 }), {
    action: 'append',
    line: 'root:1000000:65536',
  });
  assert.deepEqual(planIdReservation(ranges, 'root', { start: 150000, count: 65536 }), {
    action: 'conflict',
    with: { owner: 'alice', start: 100000, count: 65536 },
  });
  // Adjacent is not overlapping.
  assert.equal(planIdReservation(ranges, 'root', { start: 165536, count: 65536 }).action, 'append');
});

test('subnets: the bridge takes the first address; network, bridge and broadcast are not for containers', () => {
  const s = parseSubnet('10.73.0.0/24');
  assert.deepEqual(s, {
    cidr: '10.73.0.0/24',
    network: '10.73.0.0',
    prefix: 24,
    gateway: '10.73.0.1',
    broadcast: '10.73.0.255',
  });
  assertContainerAddress(s, '10.73.0.2');
  assertContainerAddress(s, '10.73.0.254');
  for (const bad of ['10.73.0.0', '10.73.0.1', '10.73.0.255', '10.73.1.2', '10.73.0.256', 'x']) {
    assert.throws(() => assertContainerAddress(s, bad), { code: 'invalid_params' }, bad);
  }
  for (const bad of ['10.73.0.1/24', '10.73.0.0/8', '10.73.0.0/31', '10.73.0.0', 'fd00::/64']) {
    assert.throws(() => parseSubnet(bad), { code: 'invalid_params' }, bad);
  }
  assert.equal(parseSubnet('172.20.16.0/20').broadcast, '172.20.31.255');
});

test('ip -j addr: the bridge with its address, a veth with its master', () => {
  assert.deepEqual(parseIpAddrShow(fixture('ip-addr-bridge.json')), [
    { name: 'hcap0', kind: 'bridge', up: true, master: null, ipv4: [{ address: '10.232.7.1', prefix: 24 }] },
  ]);
  const all = parseIpAddrShow(fixture('ip-addr-all.json'));
  assert.deepEqual(
    all.filter((l) => l.master === 'hcap0').map((l) => [l.name, l.kind]),
    [['vh40ded10402', 'veth']],
  );
});

test('the NAT table as nft printed it back', () => {
  const script = renderNatTable('hearth_cap', parseSubnet('10.232.7.0/24'), 'hcap0');
  const listed = fixture('nft-table.txt');
  const rule = /ip saddr .* masquerade/.exec(listed)![0];
  assert.ok(script.includes(rule), `${script} lacks ${rule}`);
  assert.match(script, /^table ip hearth_cap\ndelete table ip hearth_cap\n/);
});

test('the LXC config that LXC 5.0.2 started on a cgroup v1 host, and its v2 keys', () => {
  const dir = '/tmp/hearth-capture';
  const c = `${dir}/lxc/hearth-nextcloud`;
  const input = {
    name: 'hearth-nextcloud',
    rootfs: `${c}/rootfs`,
    idmap: { hostId: 1327680, count: 65536 },
    mounts: [
      { source: `${dir}/hearth`, target: '/usr/lib/hearth/hearth', readOnly: true, file: true },
      { source: `${dir}/volumes/hearth-nextcloud`, target: '/data', readOnly: false, file: false },
    ],
    env: {},
    memoryMiB: 128,
    cpus: 1,
    network: { bridge: 'hcap0', address: '10.232.7.2', subnet: parseSubnet('10.232.7.0/24') },
    consoleLog: `${c}/console.log`,
    lxcLog: `${c}/lxc.log`,
    seccompProfile: `${c}/seccomp`,
  };
  assert.equal(renderLxcConfig(input, { cgroup: 'legacy', apparmor: false }), fixture('lxc-config-v1.txt'));

  const v2 = renderLxcConfig(
    { ...input, cpus: 1.5, env: { TZ: 'UTC' } },
    { cgroup: 'unified', apparmor: true },
  );
  assert.match(v2, /^lxc\.cgroup2\.memory\.max = 134217728$/m);
  assert.match(v2, /^lxc\.cgroup2\.cpu\.max = 150000 100000$/m);
  assert.match(v2, /^lxc\.cgroup2\.devices\.deny = a$/m);
  assert.doesNotMatch(v2, /^lxc\.cgroup\./m);
  assert.match(v2, /^lxc\.apparmor\.profile = generated$/m);
  assert.match(v2, /^lxc\.environment = TZ=UTC$/m);
});

test('veth names fit IFNAMSIZ; MACs are stable, unicast and locally administered', () => {
  assert.match(vethName('/run/hearth/lxc/hearth-nextcloud'), /^vh[0-9a-f]{10}$/);
  assert.ok(vethName(`/run/hearth/lxc/hearth-${'x'.repeat(55)}`).length <= 15);
  assert.notEqual(vethName('/tmp/a/lxc/hearth-web'), vethName('/tmp/b/lxc/hearth-web'));
  assert.equal(macAddress('hearth-nextcloud'), '0a:30:32:77:c4:af');
  assert.notEqual(macAddress('hearth-a'), macAddress('hearth-b'));
});

test('the console log is a terminal: CRLF lines, tail of N', () => {
  const text = fixture('console-log.txt');
  assert.deepEqual(tailConsoleLog(text, 100), ['starting web server', 'tick 0', 'tick 1', 'tick 2']);
  assert.deepEqual(tailConsoleLog(text, 2), ['tick 1', 'tick 2']);
  assert.deepEqual(tailConsoleLog('', 10), []);
  assert.deepEqual(tailConsoleLog(text, 0), []);
});
