import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { required } from './required.ts';

/*
 * LAN HTTPS with the box's own CA, from a client on "the LAN": a network namespace joined
 * to the host by a veth pair, whose curl trusts only the box's root CA (--cacert; no system
 * roots) and finds `<hostname>.local` by --resolve (mDNS is another test's). The daemon
 * runs on a temp root with --https-port 0; everything it made is removed whatever happens.
 */

const skip = required(
  process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false,
  'the LAN HTTPS test',
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
      { encoding: 'utf8', timeout: 30_000 },
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

const fingerprintOf = async (pem: string) => {
  const x = new crypto.X509Certificate(pem);
  return x.fingerprint256.replaceAll(':', '').toLowerCase();
};

test('a client on the LAN that trusts only the box’s CA reaches it over HTTPS', { skip }, async (t) => {
  const tag = `${process.pid % 10000}`;
  const ns = `hearth-tls-${tag}`;
  const hostIf = `htls${tag}h`;
  const nsIf = `htls${tag}n`;
  const subnet = `10.231.${process.pid % 250}`;
  const hostAddr = `${subnet}.1`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tls-'));
  let d: TestDaemon | undefined;
  t.after(async () => {
    await d?.cleanup();
    await sh(['ip', 'netns', 'del', ns]);
    await sh(['ip', 'link', 'del', hostIf]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  // The LAN: made before the daemon starts, so its first certificate holds the host's address.
  await sh(['ip', 'netns', 'del', ns]);
  await must(['ip', 'netns', 'add', ns]);
  await must(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  await must(['ip', 'link', 'set', nsIf, 'netns', ns]);
  await must(['ip', 'addr', 'add', `${hostAddr}/24`, 'dev', hostIf]);
  await must(['ip', 'link', 'set', hostIf, 'up']);
  await must(['ip', '-n', ns, 'addr', 'add', `${subnet}.2/24`, 'dev', nsIf]);
  await must(['ip', '-n', ns, 'link', 'set', nsIf, 'up']);
  await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  const onLan = (argv: string[]) => sh(['ip', 'netns', 'exec', ns, ...argv]);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tls-root-'));
  const args = ['--listen', '0.0.0.0', '--https-port', '0'];
  d = await startTestDaemon({ root, args });
  const info = () =>
    JSON.parse(fs.readFileSync(path.join(root, 'run/hearth/daemon.json'), 'utf8')) as {
      port: number;
      httpsPort?: number;
    };

  await t.test('in setup mode: no HTTPS and no CA yet; the wizard stays on plain HTTP', async () => {
    assert.equal(info().httpsPort, undefined);
    const page = await onLan([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Accept: text/html',
      `http://${hostAddr}:${d!.port}/`,
    ]);
    assert.equal(page.stdout, '200');
    const ca = await onLan([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://${hostAddr}:${d!.port}/hearth-ca.crt`,
    ]);
    assert.equal(ca.stdout, '404');
  });

  const token = await setUp(d);
  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 15_000;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`${what}: not in 15 s\n${d!.output().slice(-3000)}`);
      await sleep(50);
    }
  };
  await until('HTTPS opens after setup', () => info().httpsPort !== undefined);
  const httpsPort = info().httpsPort!;
  const caFile = path.join(work, 'ca.pem');
  const resolve = (name: string) => ['--resolve', `${name}:${httpsPort}:${hostAddr}`];
  const curlTls = (name: string, extra: string[] = []) =>
    onLan(['curl', '-sS', '--cacert', caFile, ...resolve(name), ...extra, `https://${name}:${httpsPort}/`]);

  await t.test('the CA downloads without login, over plain HTTP: PEM, DER and an Apple profile', async () => {
    const pem = await onLan(['curl', '-sS', '-f', `http://${hostAddr}:${d!.port}/hearth-ca.crt`]);
    assert.equal(pem.code, 0, pem.stderr);
    assert.match(pem.stdout, /^-----BEGIN CERTIFICATE-----/);
    fs.writeFileSync(caFile, pem.stdout);
    const derFile = path.join(work, 'ca.der');
    await must([
      'ip',
      'netns',
      'exec',
      ns,
      'curl',
      '-sS',
      '-f',
      '-o',
      derFile,
      `http://${hostAddr}:${d!.port}/hearth-ca.der`,
    ]);
    assert.deepEqual(
      new crypto.X509Certificate(fs.readFileSync(derFile)).raw,
      new crypto.X509Certificate(pem.stdout).raw,
    );
    const profile = await onLan([
      'curl',
      '-sS',
      '-f',
      '-D',
      '-',
      `http://${hostAddr}:${d!.port}/hearth-ca.mobileconfig`,
    ]);
    assert.match(profile.stdout, /content-type: application\/x-apple-aspen-config/i);
    assert.match(profile.stdout, /com\.apple\.security\.root/);
    const text = await must(['openssl', 'x509', '-in', caFile, '-noout', '-text']);
    assert.match(text, /Name Constraints: critical/);
    assert.match(text, /DNS:local/);
    const status = await d!.client({ bearer: token }).call('tls.status');
    assert.equal(status.caFingerprint, await fingerprintOf(pem.stdout));
    assert.equal(status.httpsPort, httpsPort);
  });

  await t.test('the web UI and the API at https://testbox.local, and at the box’s LAN address', async () => {
    const page = await curlTls('testbox.local', ['-H', 'Accept: text/html']);
    assert.equal(page.code, 0, page.stderr);
    assert.match(page.stdout, /<!doctype html>/i);
    const api = await onLan([
      'curl',
      '-sS',
      '--cacert',
      caFile,
      ...resolve('testbox.local'),
      '-H',
      'content-type: application/json',
      '--data',
      '{"jsonrpc":"2.0","id":1,"method":"setup.status"}',
      `https://testbox.local:${httpsPort}/rpc/v1`,
    ]);
    assert.equal(api.code, 0, api.stderr);
    assert.equal(JSON.parse(api.stdout).result.setupComplete, true);
    // By address: no SNI, the box's own certificate, which holds its LAN addresses.
    const byAddress = await onLan([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      caFile,
      `https://${hostAddr}:${httpsPort}/`,
    ]);
    assert.equal(byAddress.code, 0, byAddress.stderr);
    assert.equal(byAddress.stdout, '200');
    // Without the box's CA, nothing trusts it: no system root vouches for it.
    const untrusted = await onLan([
      'curl',
      '-sS',
      ...resolve('testbox.local'),
      `https://testbox.local:${httpsPort}/`,
    ]);
    assert.notEqual(untrusted.code, 0);
  });

  await t.test('port 80: navigations go to HTTPS (308, no HSTS); the API is the box’s own only', async () => {
    const nav = await onLan([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-D',
      '-',
      '-H',
      'Accept: text/html,application/xhtml+xml',
      '--resolve',
      `testbox.local:${d!.port}:${hostAddr}`,
      `http://testbox.local:${d!.port}/settings?x=1`,
    ]);
    assert.match(nav.stdout, /^HTTP\/1\.1 308/);
    assert.match(
      nav.stdout,
      new RegExp(`location: https://testbox\\.local:${httpsPort}/settings\\?x=1`, 'i'),
    );
    assert.doesNotMatch(nav.stdout, /strict-transport-security/i);
    const api = await onLan([
      'curl',
      '-sS',
      '-w',
      '\n%{http_code}',
      '-H',
      'content-type: application/json',
      '--data',
      '{"jsonrpc":"2.0","id":1,"method":"setup.status"}',
      `http://${hostAddr}:${d!.port}/rpc/v1`,
    ]);
    const [body, status] = api.stdout.split('\n');
    assert.equal(status, '403');
    const error = JSON.parse(body!).error;
    assert.equal(error.data.code, 'https_required');
    assert.match(error.data.hint, /https:\/\//);
    // From the box itself the API stays on plain HTTP (the CLI, scripts on the box).
    assert.equal((await d!.client().call('setup.status')).setupComplete, true);
    // Not a navigation (no text/html): served as before.
    const asset = await onLan([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://${hostAddr}:${d!.port}/`,
    ]);
    assert.equal(asset.stdout, '200');
  });

  await t.test(
    'adversarial: odd SNI names, plain HTTP to the TLS port, a foreign Host, garbage ClientHellos',
    async () => {
      // Names the box has no certificate for get its own; a verifier then refuses the name.
      const foreign = await curlTls('example.com');
      assert.notEqual(foreign.code, 0);
      assert.match(foreign.stderr, /certificate|SSL|subject/i);
      for (const name of ['a'.repeat(250), 'x..y', '-', 'testbox.local.evil', '\u00e9.local']) {
        const r = await sh(
          ['openssl', 's_client', '-connect', `127.0.0.1:${httpsPort}`, '-servername', name, '-brief'],
          'Q\n',
        );
        assert.ok(r.code === 0 || /error|alert/i.test(r.stderr), `${name}: ${r.stderr}`);
      }
      const plain = await sh(['curl', '-sS', '-m', '5', `http://127.0.0.1:${httpsPort}/`]);
      assert.notEqual(plain.code, 0);
      const misdirected = await curlTls('testbox.local', [
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        'Host: evil.example.com',
      ]);
      assert.equal(misdirected.stdout, '421');
      // A ClientHello claiming 64 KiB then garbage; pure noise; a flood of half-open handshakes.
      const sockets: net.Socket[] = [];
      const blast = (payload: Buffer) =>
        new Promise<void>((done) => {
          const s = net.connect(httpsPort, '127.0.0.1', () => s.write(payload));
          sockets.push(s);
          s.on('error', () => done());
          s.on('close', () => done());
          setTimeout(() => {
            s.destroy();
            done();
          }, 3000).unref();
        });
      const hello = Buffer.concat([
        Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0xff, 0xfb]),
        crypto.randomBytes(1 << 16),
      ]);
      await Promise.all([
        blast(hello),
        blast(crypto.randomBytes(1 << 20)),
        ...Array.from({ length: 40 }, () => blast(Buffer.from([0x16, 0x03, 0x01, 0x00]))),
      ]);
      for (const s of sockets) s.destroy();
      const after = await curlTls('testbox.local', ['-o', '/dev/null', '-w', '%{http_code}']);
      assert.equal(after.stdout, '200', after.stderr);
    },
  );

  const boxLeaf = async (client: ReturnType<TestDaemon['client']>) =>
    (await client.call('tls.status')).certificates.find((c) => c.id === 'box')!;

  await t.test('a restart keeps the CA and the leaves (same fingerprints)', async (t) => {
    const before = await d!.client({ bearer: token }).call('tls.status');
    await d!.stop();
    d = await d!.restart();
    await until('HTTPS opens again', () => {
      try {
        return info().httpsPort !== undefined && (info() as { pid?: number }).pid === d!.pid;
      } catch {
        return false;
      }
    });
    const after = await d.client({ bearer: token }).call('tls.status');
    assert.deepEqual(
      after.certificates.map((c) => c.id),
      before.certificates.map((c) => c.id),
    );
    for (const b of before.certificates) {
      const a = after.certificates.find((c) => c.id === b.id)!;
      // A leaf follows the machine's addresses: other tests on this machine add and remove
      // interfaces (10.x bridges), and a leaf whose names changed meanwhile is rightly new.
      if (b.role === 'leaf' && a.names.join(' ') !== b.names.join(' ')) {
        t.diagnostic(`${b.id} re-issued: the machine's addresses changed (${b.names} → ${a.names})`);
        continue;
      }
      assert.equal(a.fingerprint, b.fingerprint, b.id);
    }
    const again = await onLan([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      caFile,
      '--resolve',
      `testbox.local:${info().httpsPort}:${hostAddr}`,
      `https://testbox.local:${info().httpsPort}/`,
    ]);
    assert.equal(again.stdout, '200', again.stderr);
  });

  await t.test('server.hostname.set re-issues the leaf for the new name', async () => {
    const admin = d!.client({ bearer: token });
    const old = await boxLeaf(admin);
    await admin.call('server.hostname.set', { hostname: 'attic' });
    await until('a leaf for attic.local', async () => (await boxLeaf(admin)).names.includes('attic.local'));
    assert.notEqual((await boxLeaf(admin)).fingerprint, old.fingerprint);
    const port = info().httpsPort!;
    const r = await onLan([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      caFile,
      '--resolve',
      `attic.local:${port}:${hostAddr}`,
      `https://attic.local:${port}/`,
    ]);
    assert.equal(r.stdout, '200', r.stderr);
  });
});
