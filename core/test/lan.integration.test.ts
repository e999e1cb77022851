import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TestDaemon, untilHealthy } from './daemon.ts';
import { leaseNetwork, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { required } from './required.ts';
import { packVariant, SERVICES } from './services.ts';

/*
 * Every package interface at a LAN port, end to end: the built daemon with real containers,
 * and "the LAN" — a network namespace joined to the host by a veth pair — whose clients
 * trust only the box's root CA (curl --cacert, node's tls with `ca`) and find the box's
 * names by --resolve (mDNS is another test's). Packages:
 *   hello-world  its page, at its port
 *   lan-echo     a variant whose package code (in the container's runtime) serves a
 *                WebSocket echo (http, 8081), a TCP echo (tcp, 9000) and a port that
 *                accepts and never answers (http, 9001), and a TCP echo behind the box's TLS
 *                (tcp, 9002, tls: 'box')
 *   radicale     CalDAV with its own users
 */
const NETWORK = leaseNetwork();
const TAG = `${process.pid % 10000}`;
const NS = `hearth-lan-${TAG}`;
const HOST_IF = `hlan${TAG}h`;
const NS_IF = `hlan${TAG}n`;
const SUBNET = `10.233.${process.pid % 250}`;
const HOST_ADDR = `${SUBNET}.1`;
// Outside the default range (20000-20999), which other tests' daemons use.
const RANGE_FROM = 21000 + (process.pid % 100) * 100;
const CLIENTS = path.join(import.meta.dirname, 'lan-clients.ts');

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'radicale.hpk')) ? false : 'needs `make services`') ||
    (fs.existsSync('/usr/bin/socat') ? false : 'needs socat'),
  'the LAN ports tests on real LXC',
);

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(argv: string[], input?: string): Promise<Out> {
  return new Promise((resolve) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function must(argv: string[]): Promise<string> {
  const r = await sh(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const onLan = (argv: string[], input?: string) => sh(['ip', 'netns', 'exec', NS, ...argv], input);
const lanClient = (args: string[]) => onLan([process.execPath, CLIENTS, ...args]);

/** The package code's servers, started only in the container's runtime (not when packing). */
const ECHO_CODE = `
import net from 'node:net';
import { createHash } from 'node:crypto';
if (process.title === 'hearth-runtime') {
  net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)).listen(9000);
  net.createServer(() => {}).listen(9001);
  net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)).listen(9002);
  net.createServer((s) => {
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\\r\\n\\r\\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 4);
        const key = /sec-websocket-key: *(\\S+)/i.exec(head)?.[1] ?? '';
        const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        s.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
        upgraded = true;
      }
      while (buf.length >= 6) {
        const op = buf[0] & 0x0f;
        const len = buf[1] & 0x7f;
        if (len > 125 || buf.length < 6 + len) return;
        const mask = buf.subarray(2, 6);
        const data = Buffer.from(buf.subarray(6, 6 + len)).map((b, i) => b ^ mask[i % 4]);
        buf = buf.subarray(6 + len);
        if (op === 8) return void s.end();
        s.write(Buffer.concat([Buffer.from([0x80 | op, len]), Buffer.from(data)]));
      }
    });
  }).listen(8081);
}
`;

const ECHO_INTERFACES = `      kind: 'ui',
    },
    { id: 'ws', name: 'Echo', description: 'A WebSocket echo', protocol: 'http', port: 8081, kind: 'api' },
    { id: 'echo', name: 'TCP echo', description: 'Bytes back', protocol: 'tcp', port: 9000, kind: 'p2p' },
    { id: 'mute', name: 'Mute', description: 'Never answers', protocol: 'http', port: 9001, kind: 'api' },
    { id: 'echo-tls', name: 'TLS echo', description: 'TLS by the box', protocol: 'tcp', port: 9002, kind: 'p2p', tls: 'box' },
  ],`;

describe('every interface at a LAN port, from a client that trusts only the box’s CA', { skip }, () => {
  let d: TestDaemon;
  let done: () => Promise<void>;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-lan-'));
  const caFile = path.join(work, 'ca.pem');
  const ports: Record<string, number> = {};
  const admin = () => d.client({ bearer: d.localToken });

  const portsNow = async () => {
    const list = await admin().call('interface.list', {});
    return Object.fromEntries(list.map((i) => [`${i.package}/${i.interface}`, i.lanPort]));
  };
  // lan-echo's servers live in its package code, which the runtime loads at the first call
  // that needs it (an action), not at start: one action wakes them.
  const wakeEcho = () =>
    admin().call('package.action.run', {
      id: 'lan-echo',
      action: 'set-greeting',
      input: { greeting: 'echo' },
    });
  const untilPorts = async (keys: string[]) => {
    const echo = keys.some((k) => k.startsWith('lan-echo/'));
    for (let i = 0; i < 200; i++) {
      // Again every 2 s: after a restart the loop may start lan-echo's container anew.
      if (echo && i % 20 === 0) await wakeEcho().catch(() => {});
      const now = await portsNow();
      if (keys.every((k) => typeof now[k] === 'number')) {
        const list = await admin().call('interface.list', {});
        if (list.every((x) => x.protocol === 'udp' || x.addresses.some((a) => a.kind === 'lan' && a.answers)))
          return now as Record<string, number>;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `no ports for ${keys.join(', ')}: ${JSON.stringify(await portsNow())}\n${d.output().slice(-3000)}`,
    );
  };
  const curl = (name: string, port: number, extra: string[] = [], pathname = '/') =>
    onLan([
      'curl',
      '-sS',
      '--max-time',
      '20',
      '--cacert',
      caFile,
      '--resolve',
      `${name}:${port}:${HOST_ADDR}`,
      ...extra,
      `https://${name}:${port}${pathname}`,
    ]);

  before(async () => {
    await sh(['ip', 'netns', 'del', NS]);
    await sh(['ip', 'link', 'del', HOST_IF]);
    await must(['ip', 'netns', 'add', NS]);
    await must(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
    await must(['ip', 'link', 'set', NS_IF, 'netns', NS]);
    await must(['ip', 'addr', 'add', `${HOST_ADDR}/24`, 'dev', HOST_IF]);
    await must(['ip', 'link', 'set', HOST_IF, 'up']);
    await must(['ip', '-n', NS, 'addr', 'add', `${SUBNET}.2/24`, 'dev', NS_IF]);
    await must(['ip', '-n', NS, 'link', 'set', NS_IF, 'up']);
    await must(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    const daemon = await packagesDaemon(NETWORK, [
      '--listen',
      '0.0.0.0',
      '--lan-ports',
      `${RANGE_FROM}-${RANGE_FROM + 99}`,
      '--lan-proxy-timeout-seconds',
      '3',
    ]);
    d = daemon.d;
    done = daemon.done;
    // The CA is made just after setup, by the certificates' first pass.
    let ca = await fetch(`${d.url}/hearth-ca.crt`);
    for (let i = 0; i < 100 && ca.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ca = await fetch(`${d.url}/hearth-ca.crt`);
    }
    assert.equal(ca.status, 200);
    fs.writeFileSync(caFile, await ca.text());
    const echo = await packVariant(
      'hello-world',
      work,
      [
        ["id: 'hello-world'", "id: 'lan-echo'"],
        ["import { z } from 'zod';", `import { z } from 'zod';\n${ECHO_CODE}`],
        ["      kind: 'ui',\n    },\n  ],", ECHO_INTERFACES],
      ],
      path.join(work, 'lan-echo.hpk'),
    );
    for (const file of [path.join(SERVICES, 'hello-world.hpk'), echo, path.join(SERVICES, 'radicale.hpk')]) {
      await admin().call('package.install', { path: file });
    }
    for (const id of ['hello-world', 'lan-echo', 'radicale'])
      await untilHealthy(admin(), id, { since: 0, timeoutMs: 120_000, pollMs: 200 });
    Object.assign(
      ports,
      await untilPorts([
        'hello-world/web',
        'lan-echo/ws',
        'lan-echo/echo',
        'lan-echo/mute',
        'lan-echo/echo-tls',
        'radicale/web',
      ]),
    );
  });

  after(async () => {
    await d?.kill();
    await done?.();
    await sh(['ip', 'netns', 'del', NS]);
    await sh(['ip', 'link', 'del', HOST_IF]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('each interface has a port of its own in the range', () => {
    const all = Object.values(ports);
    assert.equal(new Set(all).size, all.length);
    for (const p of all) assert.ok(p >= RANGE_FROM && p < RANGE_FROM + 100, `${p}`);
  });

  test('hello-world’s page at its port, by its own name and by the box’s', async () => {
    const port = ports['hello-world/web']!;
    for (const name of ['testbox-hello-world.local', 'testbox.local']) {
      const r = await curl(name, port);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Hello from Hearth/);
    }
    // The package's own certificate by SNI: its name, signed by the box's CA.
    const cert = await onLan([
      'sh',
      '-c',
      `echo | openssl s_client -connect ${HOST_ADDR}:${port} -servername testbox-hello-world.local -CAfile ${caFile} 2>/dev/null | openssl x509 -noout -ext subjectAltName`,
    ]);
    assert.match(cert.stdout, /DNS:testbox-hello-world\.local/);
    // The package learns it from effects.getInterface (its action's message quotes it).
    const done = await admin().call('package.action.run', {
      id: 'hello-world',
      action: 'set-greeting',
      input: { greeting: 'Hello from the LAN' },
    });
    assert.match(JSON.stringify(done), new RegExp(`https://testbox-hello-world\\.local:${port}/`));
    assert.match((await curl('testbox-hello-world.local', port)).stdout, /Hello from the LAN/);
    await admin().call('package.action.run', {
      id: 'hello-world',
      action: 'set-greeting',
      input: { greeting: 'Hello from Hearth!' },
    });
  });

  test('interface.list gives every address, as a URL or host:port, and which answer', async () => {
    const list = await admin().call('interface.list', { package: 'lan-echo' });
    const byId = Object.fromEntries(list.map((i) => [i.interface, i]));
    const ws = byId['ws']!.addresses.map((a) => a.address);
    assert.ok(ws.includes(`https://testbox.local:${ports['lan-echo/ws']}/`), ws.join(' '));
    assert.ok(ws.includes(`https://testbox-lan-echo.local:${ports['lan-echo/ws']}/`));
    const echo = byId['echo']!.addresses;
    assert.ok(
      echo.some((a) => a.address === `testbox.local:${ports['lan-echo/echo']}` && a.answers === true),
    );
    // The mute port accepts connections: it "answers" as far as a TCP probe goes.
    assert.ok(byId['mute']!.addresses.every((a) => a.answers !== null));
    await assert.rejects(admin().call('interface.list', { package: 'no-such' }), /does not exist/);
  });

  test('a WebSocket through the proxy echoes', async () => {
    const r = await lanClient([
      'ws',
      caFile,
      HOST_ADDR,
      String(ports['lan-echo/ws']),
      'testbox.local',
      'hi there',
    ]);
    assert.equal(r.stdout.trim(), 'hi there', r.stderr);
  });

  test('a TCP interface passes bytes through', async () => {
    const r = await onLan(
      ['socat', '-t', '5', '-', `TCP:${HOST_ADDR}:${ports['lan-echo/echo']}`],
      'bytes\x00\xff back\n',
    );
    assert.equal(r.stdout, 'bytes\x00\xff back\n', r.stderr);
  });

  test('a TCP interface with tls: box: the box’s TLS, trusted by its CA, plain bytes to the service', async () => {
    const port = ports['lan-echo/echo-tls']!;
    const r = await onLan(
      [
        'socat',
        '-t',
        '5',
        '-',
        `OPENSSL:${HOST_ADDR}:${port},cafile=${caFile},snihost=testbox.local,commonname=testbox.local`,
      ],
      'over tls\n',
    );
    assert.equal(r.stdout, 'over tls\n', r.stderr);
    // Without the box's CA the client refuses the certificate.
    const untrusted = await onLan(
      ['socat', '-t', '5', '-', `OPENSSL:${HOST_ADDR}:${port},cafile=/dev/null,snihost=testbox.local`],
      'x\n',
    );
    assert.notEqual(untrusted.code, 0);
    assert.equal(untrusted.stdout, '');
  });

  test('Radicale answers CalDAV with its own users: 207, and 401 with a wrong password', async () => {
    await admin().call('package.action.run', {
      id: 'radicale',
      action: 'set-password',
      input: { user: 'alice', password: 'correct horse' },
    });
    const propfind = (user: string) =>
      curl(
        'testbox-radicale.local',
        ports['radicale/web']!,
        [
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-X',
          'PROPFIND',
          '-u',
          user,
          '-H',
          'Depth: 0',
          '-H',
          'Content-Type: application/xml',
          '--data',
          '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>',
        ],
        '/alice/',
      );
    assert.equal((await propfind('alice:correct horse')).stdout, '207');
    assert.equal((await propfind('alice:wrong')).stdout, '401');
  });

  test('a service that never answers: 504 after the timeout, and the box goes on', async () => {
    const r = await curl('testbox.local', ports['lan-echo/mute']!, ['-o', '/dev/null', '-w', '%{http_code}']);
    assert.equal(r.stdout, '504');
    const ok = await curl('testbox.local', ports['hello-world/web']!);
    assert.match(ok.stdout, /Hello from Hearth/);
  });

  test('adversarial: oversized headers, CL+TE smuggling, a bad SNI, slow headers, a flood', async () => {
    const port = ports['hello-world/web']!;
    const code = (extra: string[]) =>
      curl('testbox.local', port, ['-o', '/dev/null', '-w', '%{http_code}', ...extra]).then((r) => r.stdout);
    assert.equal(await code(['-H', `X-Big: ${'a'.repeat(20_000)}`]), '431');
    // Content-Length and Transfer-Encoding together: refused before anything reaches the service.
    const smuggle = await onLan([
      'sh',
      '-c',
      `printf 'POST / HTTP/1.1\\r\\nHost: testbox.local\\r\\nContent-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /admin HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | openssl s_client -quiet -connect ${HOST_ADDR}:${port} -servername testbox.local -CAfile ${caFile} 2>/dev/null`,
    ]);
    assert.match(smuggle.stdout, /^HTTP\/1\.1 400/);
    assert.doesNotMatch(smuggle.stdout, /Hello from Hearth/);
    // A name the box does not hold: the box's own certificate, which the client refuses.
    const bad = await curl('evil.example', port);
    assert.equal(bad.code, 60, bad.stderr);
    // Headers dripped a byte at a time: cut (408) once the time to send them is over.
    const slow = JSON.parse(
      (await lanClient(['slow', caFile, HOST_ADDR, String(port), 'testbox.local'])).stdout,
    );
    assert.match(slow.status, /^HTTP\/1\.1 408|^$/);
    // More connections than a port takes: the rest are closed, and the port serves again after.
    const flood = JSON.parse((await lanClient(['flood', HOST_ADDR, String(port), '400', '144'])).stdout);
    assert.ok(flood.closed >= 400 - 256, JSON.stringify(flood));
    assert.match((await curl('testbox.local', port)).stdout, /Hello from Hearth/);
  });

  test('restarting the daemon keeps every port', async () => {
    const before = await portsNow();
    await d.stop();
    d = await d.restart();
    const now = await untilPorts(Object.keys(before));
    assert.deepEqual(now, before);
    const r = await curl('testbox-hello-world.local', now['hello-world/web']!);
    assert.match(r.stdout, /Hello from Hearth/, r.stderr);
  });
});
