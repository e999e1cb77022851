import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runProbe } from './probes.ts';

const env = { PATH: '/usr/bin:/bin' };

/** Whether `pid` is a live process (a zombie waiting to be reaped is not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Until `pid` is gone; a deadline, not a measure: a process that stays fails the test. */
async function gone(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20))
    if (!alive(pid)) return true;
  return false;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

test('tcp: a listening port succeeds, a closed one fails with the reason', async (t) => {
  const server = net.createServer((c) => c.end());
  const port = await listen(server);
  t.after(() => server.close());
  assert.deepEqual(await runProbe({ kind: 'tcp', port }, 1000, env), {
    ok: true,
    message: `port ${port} accepts connections`,
  });
  const closed = net.createServer();
  const free = await listen(closed);
  await new Promise((r) => closed.close(r));
  assert.deepEqual(await runProbe({ kind: 'tcp', port: free }, 1000, env), {
    ok: false,
    message: `port ${free}: connection refused`,
  });
});

test('http: the expected status succeeds, another fails, silence times out and is hung up on', async (t) => {
  let hungUp: Promise<void> | undefined;
  const server = http.createServer((req, res) => {
    if (req.url === '/hang') {
      hungUp = new Promise((resolve) => req.socket.once('close', () => resolve()));
      return;
    }
    res.writeHead(req.url === '/down' ? 503 : 200).end('x');
  });
  const port = await listen(server);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  assert.deepEqual(await runProbe({ kind: 'http', url: url('/'), expectStatus: 200 }, 1000, env), {
    ok: true,
    message: `GET ${url('/')}: 200`,
  });
  assert.deepEqual(await runProbe({ kind: 'http', url: url('/down'), expectStatus: 200 }, 1000, env), {
    ok: false,
    message: `GET ${url('/down')}: 503, expected 200`,
  });
  assert.deepEqual(await runProbe({ kind: 'http', url: url('/down'), expectStatus: 503 }, 1000, env), {
    ok: true,
    message: `GET ${url('/down')}: 503`,
  });
  assert.deepEqual(await runProbe({ kind: 'http', url: url('/hang'), expectStatus: 200 }, 300, env), {
    ok: false,
    message: `GET ${url('/hang')}: no answer in 0.3 s`,
  });
  // The probe gave the request up: the server sees the connection closed (the server's own
  // closeAllConnections comes only after the test).
  assert.ok(hungUp, 'the request arrived');
  await hungUp;
});

test('command: exit code, last line of output, missing program, timeout kills the group', async (t) => {
  assert.deepEqual(
    await runProbe({ kind: 'command', command: ['sh', '-c', 'exit 0'], expectExitCode: 0 }, 2000, env),
    {
      ok: true,
      message: 'sh exited with 0',
    },
  );
  assert.deepEqual(
    await runProbe(
      {
        kind: 'command',
        command: ['sh', '-c', 'echo checking; echo disk full >&2; exit 2'],
        expectExitCode: 0,
      },
      2000,
      env,
    ),
    { ok: false, message: 'sh exited with 2: disk full' },
  );
  assert.equal(
    (await runProbe({ kind: 'command', command: ['sh', '-c', 'exit 2'], expectExitCode: 2 }, 2000, env)).ok,
    true,
  );
  assert.deepEqual(
    await runProbe({ kind: 'command', command: ['/nonexistent/check'], expectExitCode: 0 }, 2000, env),
    { ok: false, message: '/nonexistent/check: not found' },
  );
  const pidFile = path.join(os.tmpdir(), `hearth-probe-group-${process.pid}`);
  t.after(() => {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {}
    fs.rmSync(pidFile, { force: true });
  });
  assert.deepEqual(
    await runProbe(
      { kind: 'command', command: ['sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], expectExitCode: 0 },
      300,
      env,
    ),
    { ok: false, message: 'sh: no result in 0.3 s' },
  );
  assert.ok(await gone(Number(fs.readFileSync(pidFile, 'utf8'))), 'the shell’s sleep was killed with it');
});

test('command: a leftover holding the output open does not hold the probe', async (t) => {
  const pidFile = path.join(os.tmpdir(), `hearth-probe-${process.pid}`);
  t.after(() => {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {}
    fs.rmSync(pidFile, { force: true });
  });
  const outcome = await runProbe(
    {
      kind: 'command',
      command: ['sh', '-c', `setsid sleep 60 & echo $! > ${pidFile}; exit 0`],
      expectExitCode: 0,
    },
    2000,
    env,
  );
  assert.deepEqual(outcome, { ok: true, message: 'sh exited with 0' });
  // Answered while the leftover still runs: the probe did not wait for the output to close.
  assert.ok(alive(Number(fs.readFileSync(pidFile, 'utf8'))), 'the leftover outlived the answer');
});
