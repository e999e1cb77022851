import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  cpuUsagePercent,
  hottestCelsius,
  parseJournalLine,
  parseLoadavg,
  parseLogFileLine,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
} from './parse.ts';

const fixture = (name: string) =>
  fs.readFileSync(path.join(import.meta.dirname, '__fixtures__', name), 'utf8');

test('/proc/stat gives cumulative busy and idle jiffies', () => {
  const t = parseProcStat(fixture('proc-stat.txt'));
  assert.ok(t.total > t.idle && t.idle > 0);
  assert.equal(cpuUsagePercent({ idle: 100, total: 200 }, { idle: 150, total: 300 }), 50);
  assert.equal(cpuUsagePercent(t, t), 0);
});

test('/proc/meminfo and /proc/loadavg', () => {
  const m = parseMeminfo(fixture('meminfo.txt'));
  assert.ok(m.totalBytes > m.availableBytes && m.availableBytes > 0);
  assert.equal(parseLoadavg(fixture('loadavg.txt')).length, 3);
  assert.throws(() => parseMeminfo('nothing'), /MemTotal/);
});

test('the hottest thermal zone, or null without sensors', () => {
  assert.equal(hottestCelsius(['45000\n', '51250\n', 'garbage']), 51.25);
  assert.equal(hottestCelsius([]), null);
});

test('journal lines keep time, level and scope; byte-array messages decode; junk is skipped', () => {
  const entries = fixture('journal.jsonl').split('\n').map(parseJournalLine);
  assert.deepEqual(entries[0], {
    time: 1795256535004,
    level: 'info',
    scope: '',
    message: 'listening port=80 socket=/run/hearth/hearth.sock setup=waiting ms=41',
  });
  assert.deepEqual(entries[1], {
    time: 1795256536104,
    level: 'warn',
    scope: 'auth',
    message: 'failed login address=192.168.1.20',
  });
  assert.equal(entries[2]!.level, 'error');
  assert.match(entries[2]!.message, /^bad/);
  assert.equal(entries[3], undefined);
});

test('log file lines', () => {
  assert.deepEqual(
    parseLogFileLine(
      '{"time":5,"level":"warn","scope":"auth","msg":"failed login","fields":{"address":"::1","n":2}}',
    ),
    { time: 5, level: 'warn', scope: 'auth', message: 'failed login address=::1 n=2' },
  );
  assert.equal(parseLogFileLine('{"time":5,"level":"loud"}'), undefined);
});

test('/proc/net/dev: the box’s own interfaces, not loopback nor the containers’ bridge and veths', () => {
  assert.deepEqual(parseNetDev(fixture('net-dev.txt')), { rxBytes: 1_002_000, txBytes: 503_000 });
  assert.deepEqual(parseNetDev(''), { rxBytes: 0, txBytes: 0 });
  assert.deepEqual(parseNetDev('h1\nh2\n eth0: 1 2 three\n'), { rxBytes: 0, txBytes: 0 });
});
