import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { packHpk, writeSignedArchive } from '#sdk/hpk/pack.ts';
import { keygen, loadSigningKey, type SigningKey } from '#sdk/keys.ts';
import { sampleFiles, sampleManifest } from '#sdk/testing/fixtures.ts';
import { RpcError } from '../src/client/client.ts';
import { uploadFile } from '../src/client/node-transport.ts';
import type { CallProgress } from '../src/client/ws-client.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

/**
 * The box refuses bad packages through package.install, each with its own code, and
 * leaves nothing behind: no row, no files, no container. (The SDK's own tests hold the
 * full corpus of the format's refusals; this checks the box's side of the same reader.)
 */
let d: TestDaemon;
let key: SigningKey;
let work: string;

before(async () => {
  // A small upload limit, so the test can cross it.
  d = await startTestDaemon({ args: ['--max-upload-bytes', String(2 << 20)] });
  await setUp(d);
  work = fs.mkdtempSync(path.join(d.root, 'bad-'));
  key = await loadSigningKey((await keygen(path.join(work, 'k.key'))).file);
  await d
    .client({ bearer: d.localToken })
    .call('package.signer.add', { publicKey: key.publicKey, name: 'test' });
});
after(() => d.cleanup());

async function good(): Promise<{ file: string; files: Awaited<ReturnType<typeof sampleFiles>> }> {
  const dir = fs.mkdtempSync(path.join(work, 'p-'));
  const files = await sampleFiles(dir);
  const file = path.join(dir, 'good.hpk');
  await packHpk({ out: file, manifest: sampleManifest({ dependencies: [] }), ...files, key });
  return { file, files };
}

test('bad packages are refused with their own codes, and nothing is left behind', async () => {
  const admin = d.client({ bearer: d.localToken });
  const since = Date.now();
  const cases: [string, string, (file: string) => Promise<string>][] = [
    [
      'a member changed after signing',
      'hpk_tampered_member',
      async (file) => {
        const bytes = fs.readFileSync(file);
        const at = bytes.indexOf(Buffer.from('hsqs')) + 100;
        bytes[at] = bytes[at]! ^ 0xff;
        fs.writeFileSync(file, bytes);
        return file;
      },
    ],
    [
      'a truncated file',
      'hpk_truncated',
      async (file) => {
        const bytes = fs.readFileSync(file);
        fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
        return file;
      },
    ],
    [
      'an unknown signer',
      'hpk_unknown_signer',
      async (file) => {
        const stranger = await loadSigningKey((await keygen(path.join(work, `s${Math.random()}.key`))).file);
        const { files } = await good();
        const out = `${file}.stranger.hpk`;
        await packHpk({ out, manifest: sampleManifest({ dependencies: [] }), ...files, key: stranger });
        return out;
      },
    ],
    [
      'a path that climbs out',
      'hpk_path_traversal',
      async (file) => {
        const out = `${file}.traversal.hpk`;
        await writeSignedArchive(
          out,
          [{ path: '../../etc/cron.d/evil', data: '* * * * * root true\n' }],
          key,
        );
        return out;
      },
    ],
    [
      'a file that is not a package',
      'hpk_corrupt',
      async (file) => {
        fs.writeFileSync(file, 'not a tar at all'.repeat(100));
        return file;
      },
    ],
  ];
  for (const [what, code, make] of cases) {
    const { file } = await good();
    const bad = await make(file);
    await assert.rejects(admin.call('package.install', { path: bad }), (e: unknown) => {
      assert.ok(e instanceof RpcError, `${what}: ${String(e)}`);
      assert.equal(e.code, code, `${what}: ${e.message}`);
      return true;
    });
  }
  // What is no package at all is told in plain words, not as one cut short or broken.
  const text = path.join(work, 'notes.txt');
  fs.writeFileSync(text, 'a shopping list\n');
  const notPackages: [string, RegExp][] = [
    [text, /notes\.txt is not a Hearth package: it is a text file/],
    [work, /is a directory/],
    [path.join(work, 'no-such.hpk'), /no-such\.hpk' does not exist/],
  ];
  for (const [file, message] of notPackages) {
    await assert.rejects(admin.call('package.install', { path: file }), (e: unknown) => {
      assert.ok(e instanceof RpcError, String(e));
      assert.match(e.message, message);
      assert.notEqual(e.code, 'internal_error', e.message);
      assert.doesNotMatch(`${e.message} ${e.hint ?? ''}`, /cut short|truncated/);
      return true;
    });
  }
  await assert.rejects(admin.call('package.install', { path: 'relative.hpk' }), (e: unknown) => {
    assert.ok(
      e instanceof RpcError && e.code === 'invalid_params' && /absolute path on the box/.test(e.message),
    );
    return true;
  });
  assert.deepEqual(await admin.call('package.list'), []);
  const packages = path.join(d.root, 'var/lib/hearth/packages');
  assert.deepEqual(fs.existsSync(packages) ? fs.readdirSync(packages) : [], []);
  assert.equal(fs.existsSync(path.join(d.root, 'etc/cron.d')), false);
  const audit = await admin.call('audit.list', { method: 'package.install', since, limit: 100 });
  // Failed calls are grouped per address, method and minute: counted, not listed one by one.
  assert.equal(
    audit.reduce((n, e) => n + e.count, 0),
    cases.length + notPackages.length + 1,
  );
  assert.ok(audit.every((e) => e.outcome === 'error'));
});

async function tampered(): Promise<string> {
  const { file } = await good();
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(Buffer.from('hsqs')) + 100;
  bytes[at] = bytes[at]! ^ 0xff;
  fs.writeFileSync(file, bytes);
  return file;
}

const refusedWith = (code: string) => (e: unknown) => {
  assert.ok(e instanceof RpcError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};

test('POST /upload: only for an admin, only octet-stream, only up to the limit', async () => {
  const since = Date.now();
  const post = async (headers: Record<string, string>, body: Buffer) => {
    const res = await fetch(`${d.url}/upload`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as { error?: { data: { code: string } } } };
  };
  const octets = { 'Content-Type': 'application/octet-stream' };
  const admin = d.client({ bearer: d.localToken });
  const read = (await admin.call('auth.token.create', { name: 'look', scope: 'read' })).token;
  const cases: [string, Record<string, string>, Buffer, number, string][] = [
    ['no credentials', octets, Buffer.from('x'), 401, 'unauthorized'],
    ['a read token', { ...octets, Authorization: `Bearer ${read}` }, Buffer.from('x'), 403, 'forbidden'],
    [
      'JSON instead of the file',
      { 'Content-Type': 'application/json', Authorization: `Bearer ${d.localToken}` },
      Buffer.from('{}'),
      415,
      'unsupported_media_type',
    ],
    [
      'larger than the limit',
      { ...octets, Authorization: `Bearer ${d.localToken}` },
      Buffer.alloc(3 << 20),
      413,
      'payload_too_large',
    ],
  ];
  for (const [what, headers, body, status, code] of cases) {
    const got = await post(headers, body);
    assert.equal(got.status, status, what);
    assert.equal(got.body.error?.data.code, code, what);
  }
  const uploads = path.join(d.root, 'var/lib/hearth/uploads');
  assert.deepEqual(fs.existsSync(uploads) ? fs.readdirSync(uploads) : [], []);
  const audit = await admin.call('audit.list', { method: 'upload', since, limit: 10 });
  assert.deepEqual(
    audit.map((e) => e.errorCode),
    ['payload_too_large', 'forbidden', 'unauthorized'],
  );
});

test('a bad package uploaded or downloaded is refused like one on the box, and nothing is kept', async () => {
  const admin = d.client({ bearer: d.localToken });
  const target = { url: d.url, bearer: d.localToken };
  const bad = await tampered();
  const { upload, size } = await uploadFile(target, bad);
  assert.equal(size, fs.statSync(bad).size);
  await assert.rejects(admin.call('package.install', { upload }), refusedWith('hpk_tampered_member'));
  // An upload is used once, whatever came of it.
  await assert.rejects(admin.call('package.install', { upload }), refusedWith('not_found'));
  await assert.rejects(
    admin.call('package.install', { path: bad, upload }),
    (e) => e instanceof RpcError && e.code === 'invalid_params' && /only one of path, upload/.test(e.message),
  );

  // From a URL, over the WebSocket: progress first, then the same refusal.
  const server = http.createServer((req, res) => {
    if (req.url === '/bad.hpk') return res.end(fs.readFileSync(bad));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ws = await d.ws({ bearer: d.localToken });
  try {
    const steps: CallProgress[] = [];
    await assert.rejects(
      ws.call('package.install', { url: `${site}/bad.hpk` }, { onProgress: (p) => steps.push(p) }),
      refusedWith('hpk_tampered_member'),
    );
    assert.deepEqual([...new Set(steps.map((p) => p.step))], ['download', 'verify']);
    await assert.rejects(
      admin.call('package.install', { url: `${site}/gone.hpk` }),
      (e) => e instanceof RpcError && e.code === 'download_failed' && /HTTP 404/.test(e.message),
    );
  } finally {
    await ws.close();
    server.close();
  }
  const uploads = path.join(d.root, 'var/lib/hearth/uploads');
  assert.deepEqual(fs.readdirSync(uploads), []);
  assert.deepEqual(await admin.call('package.list'), []);
});
