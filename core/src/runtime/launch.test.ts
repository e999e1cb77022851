import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { elfInterpreter, parseLdd, type ReadAt, runtimeLaunch } from './launch.ts';

const fixture = (name: string) => new URL(`__fixtures__/${name}`, import.meta.url);

const bufferReader =
  (b: Buffer): ReadAt =>
  (offset, length) =>
    b.subarray(offset, offset + length);

/** Reads from the byte ranges of a file kept in a fixture; anything else is a test failure. */
function fixtureReader(name: string): ReadAt {
  const { ranges } = JSON.parse(fs.readFileSync(fixture(name), 'utf8')) as {
    ranges: { offset: number; base64: string }[];
  };
  const kept = ranges.map((r) => ({ offset: r.offset, data: Buffer.from(r.base64, 'base64') }));
  return (offset, length) => {
    const r = kept.find((k) => offset >= k.offset && offset + length <= k.offset + k.data.length);
    if (!r) throw new Error(`the fixture does not hold ${length} bytes at ${offset}`);
    return r.data.subarray(offset - r.offset, offset - r.offset + length);
  };
}

test('elfInterpreter: the real x86_64 and arm64 hearth binaries (program headers moved by postject)', () => {
  assert.equal(elfInterpreter(fixtureReader('elf-headers-x86_64.json')), '/lib64/ld-linux-x86-64.so.2');
  assert.equal(elfInterpreter(fixtureReader('elf-headers-arm64.json')), '/lib/ld-linux-aarch64.so.1');
});

/** A minimal ELF: header, program headers, the interpreter string. */
function elf(o: { is64: boolean; le: boolean; interp?: string }): Buffer {
  const b = Buffer.alloc(512);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = o.is64 ? 2 : 1;
  b[5] = o.le ? 1 : 2;
  const u16 = (v: number, at: number) => (o.le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (o.le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const word = (v: number, at: number) =>
    o.is64 ? (o.le ? b.writeBigUInt64LE(BigInt(v), at) : b.writeBigUInt64BE(BigInt(v), at)) : u32(v, at);
  const phoff = 64;
  const phentsize = o.is64 ? 56 : 32;
  word(phoff, o.is64 ? 0x20 : 0x1c);
  u16(phentsize, o.is64 ? 0x36 : 0x2a);
  u16(2, o.is64 ? 0x38 : 0x2c);
  u32(1, phoff); // PT_LOAD
  if (o.interp !== undefined) {
    const ph = phoff + phentsize;
    u32(3, ph);
    word(300, ph + (o.is64 ? 8 : 4));
    word(o.interp.length + 1, ph + (o.is64 ? 32 : 16));
    b.write(o.interp, 300, 'latin1');
  }
  return b;
}

test('elfInterpreter: 32/64-bit, both byte orders, static binaries, refusals', () => {
  for (const is64 of [true, false]) {
    for (const le of [true, false]) {
      const withInterp = bufferReader(elf({ is64, le, interp: '/lib/ld.so.1' }));
      assert.equal(elfInterpreter(withInterp), '/lib/ld.so.1', `${is64} ${le}`);
      assert.equal(elfInterpreter(bufferReader(elf({ is64, le }))), null);
    }
  }
  assert.throws(
    () => elfInterpreter(bufferReader(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64)))),
    /no ELF magic/,
  );
  const cut = bufferReader(elf({ is64: true, le: true, interp: '/x' }).subarray(0, 200));
  assert.throws(() => elfInterpreter(cut), /cut short/);
});

test('parseLdd: real output for x86_64, and arm64 under qemu', () => {
  const x86 = parseLdd(fs.readFileSync(fixture('ldd-hearth-x86_64.txt'), 'utf8'));
  assert.deepEqual(x86.missing, []);
  assert.deepEqual(
    x86.libraries.map((l) => l.name),
    [
      'libdl.so.2',
      'libstdc++.so.6',
      'libm.so.6',
      'libgcc_s.so.1',
      'libpthread.so.0',
      'libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ],
  );
  assert.equal(x86.libraries[5]!.path, '/lib/x86_64-linux-gnu/libc.so.6');
  const arm = parseLdd(fs.readFileSync(fixture('ldd-hearth-arm64-qemu.txt'), 'utf8'));
  assert.equal(arm.libraries.length, 7);
  assert.deepEqual(arm.libraries.at(-1), {
    name: '/lib/ld-linux-aarch64.so.1',
    path: '/lib/ld-linux-aarch64.so.1',
  });
  assert.equal(arm.libraries[1]!.path, '/usr/lib/aarch64-linux-gnu/libstdc++.so.6');
});

test('parseLdd: missing libraries and static binaries', () => {
  const r = parseLdd(
    '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibfoo.so.1 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x00007f00)\n',
  );
  assert.deepEqual(r.missing, ['libfoo.so.1']);
  assert.deepEqual(r.libraries, [{ name: 'libc.so.6', path: '/lib/libc.so.6' }]);
  assert.deepEqual(parseLdd('\tnot a dynamic executable\n'), { libraries: [], missing: [] });
  assert.deepEqual(parseLdd('\tstatically linked\n'), { libraries: [], missing: [] });
});

test('runtimeLaunch: init as PID 1, the runtime through the copied loader, read-only mounts', () => {
  const launch = runtimeLaunch({
    runtime: {
      dir: '/srv/rt/0123456789abcdef',
      digest: '0123456789abcdef',
      loader: 'lib/ld-linux-aarch64.so.1',
    },
    hearthBinary: '/usr/bin/hearth',
    codeDir: '/data/packages/hello/1.0.0/code',
    socketDir: '/run/hearth/containers/hearth-hello',
    containerName: 'hearth-hello',
  });
  assert.deepEqual(launch.init, [
    '/usr/lib/hearth/rt/init',
    '-n',
    'hearth-hello',
    '--',
    '/usr/lib/hearth/rt/lib/ld-linux-aarch64.so.1',
    '--library-path',
    '/usr/lib/hearth/rt/lib',
    '/usr/lib/hearth/hearth',
    'container-runtime',
  ]);
  assert.deepEqual(launch.volumes, [
    { source: '/srv/rt/0123456789abcdef', target: '/usr/lib/hearth/rt', readOnly: true },
    { source: '/data/packages/hello/1.0.0/code', target: '/usr/lib/hearth/package', readOnly: true },
    { source: '/run/hearth/containers/hearth-hello', target: '/run/hearth', readOnly: true },
  ]);
  assert.equal(launch.hostSocket, '/run/hearth/containers/hearth-hello/host.sock');
  assert.equal(launch.extraMemoryMiB, 64);
  assert.deepEqual(launch.env, {
    HEARTH_SOCKET: '/run/hearth/host.sock',
    HEARTH_CODE: '/usr/lib/hearth/package/index.js',
    NODE_OPTIONS: '--max-semi-space-size=1',
    MALLOC_ARENA_MAX: '1',
    MALLOC_TRIM_THRESHOLD_: '131072',
  });
  const static_ = runtimeLaunch({
    runtime: { dir: '/srv/rt/x', digest: 'x', loader: null },
    hearthBinary: '/usr/bin/hearth',
    codeDir: '/c',
    socketDir: '/s',
    containerName: 'hearth-x',
  });
  assert.deepEqual(static_.init.slice(4), ['/usr/lib/hearth/hearth', 'container-runtime']);
});
