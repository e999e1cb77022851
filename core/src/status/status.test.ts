import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Finding } from '../checks/checks.ts';
import type { ContainerListEntry, Lxc } from '../host/containers.ts';
import type { Drift } from '../packages/packages.ts';
import type { InstalledPackage } from '../packages/rows.ts';
import { BoxStatus, processAgeSeconds, type StatusOptions } from './status.ts';

test('a process’s age from /proc: commands with spaces and parentheses, and nonsense', () => {
  // starttime (field 22) is 12345 ticks: 123.45 s after boot.
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[19] = '12345';
  const stat = `4242 (evil) name (x) ${fields.join(' ')}`;
  assert.equal(processAgeSeconds(stat, '1000.50 3000.00'), 877);
  assert.equal(processAgeSeconds('garbage', '1000'), null);
});

const pkg = (id: string) => ({ id, manifest: { title: id.toUpperCase() } }) as unknown as InstalledPackage;

function status(o: {
  drift?: Drift[];
  loops?: { id: string; title: string; crashes: number }[];
  findings?: Finding[];
}) {
  const options: StatusOptions = {
    packages: {
      list: () => [pkg('web'), pkg('db')],
      status: (p) => (p.id === 'web' ? 'running' : 'stopped'),
      drift: () => o.drift ?? [],
      crashLoops: () => o.loops ?? [],
    },
    checks: { findings: () => o.findings ?? [] },
    events: { list: () => [] },
    lxc: {} as Lxc,
    processStat: async () => undefined,
    uptime: async () => '0',
    now: () => 7,
  };
  return new BoxStatus(options).status();
}

test('the summary: ok, attention for warnings, trouble for errors, drift and crash loops', () => {
  const warning: Finding = {
    check: 'free-space',
    subject: null,
    severity: 'warning',
    message: 'Low',
    since: 1,
  };
  const loop: Finding = {
    ...warning,
    check: 'crash-loop',
    subject: 'db',
    severity: 'error',
    message: 'Loops',
  };
  const ok = status({});
  assert.deepEqual(
    [ok.summary, ok.headline, ok.packages],
    ['ok', 'All is well.', { installed: 2, running: 1 }],
  );
  assert.deepEqual(
    [status({ findings: [warning] }).summary, status({ findings: [warning] }).headline],
    ['attention', '1 thing worth a look.'],
  );
  const drift: Drift = {
    id: 'db',
    title: 'DB',
    desired: 'running',
    status: 'stopped',
    health: 'unknown',
    problem: 'should be running but is stopped',
  };
  const trouble = status({ drift: [drift], findings: [warning] });
  assert.deepEqual(
    [trouble.summary, trouble.headline],
    ['trouble', '1 thing needs attention, 1 more worth a look.'],
  );
  // A crash loop the check has found already counts once.
  const looping = status({ loops: [{ id: 'db', title: 'DB', crashes: 5 }], findings: [loop] });
  assert.equal(looping.headline, '1 thing needs attention.');
  assert.equal(status({ loops: [{ id: 'db', title: 'DB', crashes: 5 }] }).summary, 'trouble');
});

test('ps lists Hearth’s containers first, with what they use, and others’ as ignored, untouched', async () => {
  const entry = (name: string, foreign: boolean, lxcPath = '/run/hearth/lxc'): ContainerListEntry => ({
    name,
    state: 'RUNNING',
    pid: 100,
    ipv4: ['10.0.0.2'],
    unprivileged: true,
    foreign,
    lxcPath,
  });
  const asked: string[] = [];
  const lxc = {
    list: async (o?: { elsewhere?: boolean }) => {
      assert.deepEqual(o, { elsewhere: true });
      return [entry('mine', true, '/var/lib/lxc'), entry('hearth-web', false), entry('stray', true)];
    },
    info: async (name: string) => {
      asked.push(name);
      return { name, state: 'RUNNING', pid: 100, ips: [], cpuNs: 2e9, memoryBytes: 5, memoryLimitBytes: 10 };
    },
  } as unknown as Lxc;
  const fields = Array.from({ length: 50 }, () => '0');
  fields[19] = '1000';
  const rows = await new BoxStatus({
    packages: { list: () => [], status: () => 'running', drift: () => [], crashLoops: () => [] },
    checks: { findings: () => [] },
    events: { list: () => [] },
    lxc,
    processStat: async () => `100 (init) ${fields.join(' ')}`,
    uptime: async () => '70.00 1.00',
  }).ps();
  assert.deepEqual(
    rows.map((r) => [r.name, r.package, r.ignored, r.uptimeSeconds, r.memoryBytes, r.cpuSeconds]),
    [
      ['hearth-web', 'web', false, 60, 5, 2],
      ['mine', null, true, 60, null, null],
      ['stray', null, true, 60, null, null],
    ],
  );
  assert.deepEqual(asked, ['hearth-web'], 'lxc-info is asked of Hearth’s containers only');
});
