import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BLOCK,
  END_OF_ARCHIVE,
  encodeHeader,
  padding,
  parsePax,
  readTar,
  type TarWriteHeader,
} from './tar.ts';

function archive(entries: { header: TarWriteHeader; data?: Buffer }[], end = END_OF_ARCHIVE): Buffer {
  const parts: Buffer[] = [];
  for (const { header, data } of entries) {
    parts.push(encodeHeader({ ...header, size: data?.length ?? 0 }));
    if (data) parts.push(data, Buffer.alloc(padding(data.length)));
  }
  parts.push(end);
  return Buffer.concat(parts);
}

async function* chunks(buf: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function entries(buf: Buffer, strict = true) {
  const out: { path: string; type: string; data: string; linkpath: string; pax: Record<string, string> }[] =
    [];
  for await (const e of readTar(chunks(buf), { strict })) {
    const parts: Buffer[] = [];
    for await (const c of e.body()) parts.push(c);
    out.push({
      path: e.path,
      type: e.type,
      data: Buffer.concat(parts).toString(),
      linkpath: e.linkpath,
      pax: e.pax,
    });
  }
  return out;
}

describe('tar', () => {
  test('round-trips files, long and non-ASCII names (pax), links and directories', async () => {
    const long = `images/x86_64/${'a'.repeat(150)}.squashfs`;
    const buf = archive([
      { header: { path: 'dir/', type: 'directory' } },
      { header: { path: 'manifest.json', type: 'file' }, data: Buffer.from('{"a":1}') },
      { header: { path: long, type: 'file' }, data: Buffer.alloc(1000, 'z') },
      { header: { path: 'grüße.txt', type: 'file' }, data: Buffer.from('hallo') },
      { header: { path: 'l', type: 'symlink', linkpath: `../${'b'.repeat(120)}` } },
      { header: { path: 'x', type: 'file', pax: { 'SCHILY.xattr.user.k': 'v' } }, data: Buffer.alloc(0) },
    ]);
    const got = await entries(buf);
    assert.deepEqual(
      got.map((e) => [e.path, e.type, e.data.length]),
      [
        ['dir/', 'directory', 0],
        ['manifest.json', 'file', 7],
        [long, 'file', 1000],
        ['grüße.txt', 'file', 5],
        ['l', 'symlink', 0],
        ['x', 'file', 0],
      ],
    );
    assert.equal(got[4]!.linkpath, `../${'b'.repeat(120)}`);
    assert.equal(got[5]!.pax['SCHILY.xattr.user.k'], 'v');
  });

  test('GNU tar reads what we write', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-test-'));
    try {
      const long = `${'d'.repeat(120)}/file.txt`;
      const file = path.join(dir, 'a.tar');
      fs.writeFileSync(
        file,
        archive([
          { header: { path: 'short.txt', type: 'file', mode: 0o600 }, data: Buffer.from('one') },
          { header: { path: long, type: 'file' }, data: Buffer.from('two') },
        ]),
      );
      const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
      assert.match(listing, /-rw------- 0\/0 +3 1970-01-01 00:00 short\.txt/);
      assert.ok(listing.includes(long));
      execFileSync('tar', ['-xf', file, '-C', dir]);
      assert.equal(fs.readFileSync(path.join(dir, long), 'utf8'), 'two');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('we read what GNU tar writes (pax and gnu formats)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-test-'));
    try {
      const long = `${'d'.repeat(120)}.txt`;
      fs.writeFileSync(path.join(dir, long), 'long');
      for (const format of ['pax', 'gnu']) {
        const buf = execFileSync('tar', [`--format=${format}`, '-C', dir, '-cf', '-', long]);
        const got = await entries(buf, format === 'pax');
        assert.deepEqual(
          got.map((e) => [e.path, e.data]),
          [[long, 'long']],
          format,
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('encoding is deterministic and block-aligned (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), fc.nat(1 << 20), (name, size) => {
        const h = { path: name, type: 'file' as const, size };
        const a = encodeHeader(h);
        assert.equal(a.length % BLOCK, 0);
        assert.deepEqual(a, encodeHeader(h));
      }),
    );
  });

  test('random names survive a round trip (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 5 }),
        async (names) => {
          const buf = archive(
            names.map((n, i) => ({ header: { path: n, type: 'file' }, data: Buffer.from(String(i)) })),
          );
          const got = await entries(buf);
          assert.deepEqual(
            got.map((e) => [e.path, e.data]),
            names.map((n, i) => [n, String(i)]),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  test('strict mode refuses truncation, trailing data and GNU long names', async () => {
    const good = archive([{ header: { path: 'a', type: 'file' }, data: Buffer.alloc(2000, 1) }]);
    for (const cut of [100, BLOCK + 10, good.length - BLOCK, good.length - 1]) {
      await assert.rejects(entries(good.subarray(0, cut)), { kind: 'truncated' }, `cut at ${cut}`);
    }
    await assert.rejects(entries(Buffer.concat([good, Buffer.from('smuggled')])), { kind: 'corrupt' });
    const zeros = Buffer.concat([good, Buffer.alloc(8 * BLOCK)]);
    assert.equal((await entries(zeros)).length, 1);
    const bad = Buffer.from(good);
    bad[10] = 0x41;
    await assert.rejects(entries(bad), { kind: 'corrupt', message: 'bad tar header checksum' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-test-'));
    try {
      fs.writeFileSync(path.join(dir, 'n'.repeat(120)), '');
      const gnu = execFileSync('tar', ['--format=gnu', '-C', dir, '-cf', '-', 'n'.repeat(120)]);
      await assert.rejects(entries(gnu, true), { kind: 'unsupported' });
      assert.equal((await entries(gnu, false))[0]!.path, 'n'.repeat(120));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a chain of pax headers cannot grow without bound', async () => {
    const one = encodeHeader({ path: 'x', type: 'file', pax: { comment: 'y'.repeat(40 * 1024) } });
    const paxOnly = one.subarray(0, one.length - BLOCK);
    const chained = Buffer.concat([paxOnly, paxOnly, one, END_OF_ARCHIVE]);
    await assert.rejects(
      (async () => {
        for await (const _ of readTar(chunks(chained, 4096), { strict: true, maxHeaderBytes: 64 * 1024 }));
      })(),
      { kind: 'corrupt', message: 'too many pax header bytes for one entry' },
    );
  });

  test('parsePax reads records and refuses malformed ones', () => {
    assert.deepEqual(parsePax(Buffer.from('12 path=abc\n'), 0), { path: 'abc' });
    assert.throws(() => parsePax(Buffer.from('99 path=abc\n'), 0), { kind: 'corrupt' });
    assert.throws(() => parsePax(Buffer.from('11 path=abc'), 0), { kind: 'corrupt' });
  });
});
