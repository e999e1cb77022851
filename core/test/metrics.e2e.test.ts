import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { required } from './required.ts';

/**
 * server.metrics and the state document's /metrics on a real daemon (the other test
 * daemons turn the refresh off), held against what this machine says itself.
 */
const skip = required(process.getuid?.() === 0 ? false : 'mounts a tmpfs: needs root', 'metrics of the box');
/** The data directory's own filesystem, of a size no other one here has. */
const DATA_BYTES = 67 * 1024 * 1024;

describe('metrics of the box', { skip }, () => {
  let d: TestDaemon;
  let data: string;
  before(async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-test-'));
    data = path.join(root, 'var/lib/hearth');
    fs.mkdirSync(data, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DATA_BYTES}`, 'hearth-metrics', data]);
    d = await startTestDaemon({ root, env: { HEARTH_METRICS_INTERVAL_SECONDS: '1' } });
    await setUp(d);
  });
  after(async () => {
    // Detached first (the daemon still holds its database there), then the root goes.
    execFileSync('umount', ['--lazy', data]);
    await d?.cleanup();
  });

  test('server.metrics: this machine’s memory, cores and data drive, percentages in range; the daemon’s own memory', async () => {
    const reader = d.client({
      bearer: (
        await d.client({ bearer: d.localToken }).call('auth.token.create', { name: 'r', scope: 'read' })
      ).token,
    });
    const m = await reader.call('server.metrics', {});
    const memTotal =
      Number(/^MemTotal:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    assert.equal(m.memory.totalBytes, memTotal);
    assert.ok(m.memory.availableBytes > 0 && m.memory.availableBytes <= memTotal);
    assert.equal(m.cpu.cores, os.availableParallelism());
    assert.equal(m.cpu.load.length, 3);
    // The daemon's own memory (make soak follows it): its RSS as /proc shows it, roughly.
    const rss =
      Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${d.pid}/status`, 'utf8'))![1]) * 1024;
    assert.ok(Math.abs(m.daemon.rssBytes - rss) < 16 * 2 ** 20, `${m.daemon.rssBytes} vs ${rss}`);
    assert.ok(m.daemon.heapUsedBytes > 0 && m.daemon.heapUsedBytes <= m.daemon.heapTotalBytes);
    assert.ok(m.cpu.load.every((l) => l >= 0));

    // The data directory's filesystem (its tmpfs, not the one under it), as statfs(2) sees it.
    assert.ok(m.disk.path.startsWith(d.root), m.disk.path);
    const fsStat = fs.statfsSync(m.disk.path);
    assert.equal(m.disk.totalBytes, DATA_BYTES);
    assert.equal(m.disk.totalBytes, fsStat.blocks * fsStat.bsize);
    // Others write to the same disk meanwhile: the same within 1 % of its size.
    assert.ok(
      Math.abs(m.disk.availableBytes - fsStat.bavail * fsStat.bsize) < m.disk.totalBytes / 100,
      `${m.disk.availableBytes} against ${fsStat.bavail * fsStat.bsize}`,
    );
    for (const p of [m.cpu.usagePercent, m.memory.usedPercent, m.disk.usedPercent])
      assert.ok(p >= 0 && p <= 100, String(p));
    assert.ok(m.temperatureCelsius === null || (m.temperatureCelsius > -40 && m.temperatureCelsius < 150));
  });

  test('the state document carries a metrics summary, refreshed', async () => {
    const admin = d.client({ bearer: d.localToken });
    const summary = async () =>
      (await admin.call('state.get', {})) as {
        state: { metrics?: Record<string, unknown> };
        revision: number;
      };
    const first = await summary();
    assert.ok(first.state.metrics, 'the first refresh runs at start');
    assert.deepEqual(Object.keys(first.state.metrics).sort(), [
      'at',
      'cpuPercent',
      'diskPercent',
      'memoryPercent',
      'rxBytesPerSecond',
      'temperatureCelsius',
      'txBytesPerSecond',
    ]);
    // The next refresh (every second here) changes something: at least the CPU figure or
    // the memory in use moves on a machine running this test. A deadline, not a measure.
    const deadline = Date.now() + 30_000;
    let now = first;
    while (JSON.stringify(now.state.metrics) === JSON.stringify(first.state.metrics)) {
      assert.ok(Date.now() < deadline, 'the metrics never changed');
      await sleep(200);
      now = await summary();
    }
    assert.ok(now.revision > first.revision);
    // The samples so far are the history a chart opens with, the newest the state's.
    const history = await admin.call('server.metrics.history');
    assert.equal(history.intervalSeconds, 1);
    assert.ok(history.samples.length >= 2);
    assert.ok(history.samples.every((x, i) => i === 0 || x.at > history.samples[i - 1]!.at));
  });
});
