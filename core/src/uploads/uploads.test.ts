import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { HearthError } from '../errors.ts';
import { silentLogger } from '../log/log.ts';
import type { Progress } from '../rpc/registry.ts';
import { Uploads, type UploadsOptions } from './uploads.ts';

let root: string;
let server: http.Server;
let base: string;
const BIG = Buffer.alloc(3 << 20, 7);

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-uploads-'));
  // A loopback server: /big (with a length), /chunked (without), /missing (404), /slow (stalls).
  server = http.createServer((req, res) => {
    if (req.url === '/big') return res.writeHead(200, { 'Content-Length': BIG.length }).end(BIG);
    if (req.url === '/chunked') {
      res.writeHead(200);
      res.write(BIG.subarray(0, 1 << 20));
      return res.end(BIG.subarray(1 << 20));
    }
    if (req.url === '/slow') {
      res.writeHead(200, { 'Content-Length': 100 });
      return res.write('x');
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function uploads(options: Partial<UploadsOptions> = {}): { u: Uploads; dir: string } {
  const dir = fs.mkdtempSync(path.join(root, 'u-'));
  return {
    u: new Uploads({ dir, maxBytes: 8 << 20, freeBytes: async () => 1e12, log: silentLogger, ...options }),
    dir,
  };
}

const codeOf = (e: unknown) => (e instanceof HearthError ? e.code : String(e));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('an upload is stored with its size and digest, used once, then gone', async () => {
  const { u, dir } = uploads();
  const got = await u.receive(Readable.from([BIG.subarray(0, 1000), BIG.subarray(1000)]), BIG.length);
  assert.match(got.upload, /^up_[0-9a-f]{32}$/);
  assert.equal(got.size, BIG.length);
  assert.equal(got.sha256, sha(BIG));
  const { file, release } = await u.open({ upload: got.upload });
  assert.deepEqual(fs.readFileSync(file), BIG);
  await assert.rejects(u.open({ upload: got.upload }), (e) => codeOf(e) === 'not_found');
  await release();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('a path on the box is used as it is and never deleted', async () => {
  const { u } = uploads();
  const file = path.join(root, 'on-the-box.hpk');
  fs.writeFileSync(file, 'x');
  const opened = await u.open({ path: file });
  assert.equal(opened.file, file);
  await opened.release();
  assert.ok(fs.existsSync(file));
});

test('a path that is not a regular file is refused before anything reads it', async () => {
  const { u } = uploads();
  const refused = async (file: string, code: string, pattern: RegExp) =>
    assert.rejects(u.open({ path: file }), (e) => codeOf(e) === code && pattern.test((e as Error).message));
  await refused('/dev/zero', 'invalid_params', /is a device, not a file/);
  await refused(root, 'invalid_params', /is a directory/);
  await refused(path.join(root, 'missing.hpk'), 'not_found', /file '.*missing\.hpk' does not exist/);
  const fifo = path.join(root, 'fifo');
  execFileSync('mkfifo', [fifo]);
  await refused(fifo, 'invalid_params', /is a pipe/);
});

test('too large, cut short, not an id, no room: each refused, nothing left behind', async () => {
  const { u, dir } = uploads({ maxBytes: 1 << 20 });
  // Declared too large: refused before reading.
  await assert.rejects(u.receive(Readable.from([]), 2 << 20), (e) => codeOf(e) === 'payload_too_large');
  // Undeclared, and larger than the limit as it arrives.
  await assert.rejects(u.receive(Readable.from([BIG]), undefined), (e) => codeOf(e) === 'payload_too_large');
  // The connection broke: fewer bytes than declared.
  await assert.rejects(
    u.receive(Readable.from([BIG.subarray(0, 10)]), 20),
    (e) => codeOf(e) === 'invalid_params',
  );
  await assert.rejects(u.open({ upload: '../../etc/passwd' }), (e) => codeOf(e) === 'invalid_params');
  const full = uploads({ freeBytes: async () => 1000 });
  await assert.rejects(full.u.receive(Readable.from([BIG]), 10), (e) => codeOf(e) === 'not_enough_space');
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.deepEqual(fs.readdirSync(full.dir), []);
});

test('a download arrives with progress, checked against its digest when one is given', async () => {
  const { u, dir } = uploads();
  const seen: Progress[] = [];
  const a = await u.open({ url: `${base}/big`, sha256: sha(BIG).toUpperCase() }, (p) => seen.push(p));
  assert.deepEqual(fs.readFileSync(a.file), BIG);
  assert.ok(seen.length >= 2 && seen.every((p) => p.step === 'download' && p.total === BIG.length));
  assert.equal(seen.at(-1)?.done, BIG.length);
  await a.release();
  const b = await u.open({ url: `${base}/chunked` });
  assert.equal(fs.statSync(b.file).size, BIG.length);
  await b.release();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('a failed download says why and leaves nothing', async () => {
  const { u, dir } = uploads({ stallMs: 300 });
  const fails = async (url: string, pattern: RegExp, sha256?: string) =>
    assert.rejects(
      u.open({ url, sha256 }),
      (e) => codeOf(e) === 'download_failed' && pattern.test((e as Error).message),
    );
  await fails(`${base}/missing`, /HTTP 404/);
  await fails(`${base}/big`, /SHA-256 is/, 'a'.repeat(64));
  await fails(`${base}/slow`, /nothing arrived/);
  await fails('http://127.0.0.1:1/x', /could not download/);
  const small = uploads({ maxBytes: 1 << 20 });
  await assert.rejects(small.u.open({ url: `${base}/big` }), (e) => codeOf(e) === 'payload_too_large');
  await assert.rejects(small.u.open({ url: `${base}/chunked` }), (e) => codeOf(e) === 'payload_too_large');
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.deepEqual(fs.readdirSync(small.dir), []);
});

test('the sweep removes stale parts and expired uploads, and keeps fresh ones', async () => {
  let now = Date.now();
  const { u, dir } = uploads({ ttlMs: 60_000, stallMs: 10_000, now: () => now });
  const fresh = await u.receive(Readable.from([BIG.subarray(0, 10)]), 10);
  const old = await u.receive(Readable.from([BIG.subarray(0, 10)]), 10);
  const part = path.join(dir, 'up_0.part');
  fs.writeFileSync(part, 'half');
  const past = new Date(now - 120_000);
  fs.utimesSync(path.join(dir, old.upload), past, past);
  fs.utimesSync(part, past, past);
  await u.sweep();
  assert.deepEqual(fs.readdirSync(dir), [fresh.upload]);
  now += 120_000;
  await u.sweep();
  assert.deepEqual(fs.readdirSync(dir), []);
});
