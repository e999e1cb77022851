import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { log, REPO } from './vm.ts';

/**
 * Two builds of the same inputs give the same image, bit for bit. The second build starts
 * from a fresh copy of the cached Debian stage, so what this proves is the assembly (overlay,
 * .deb, boot files, filesystems, partition table, compression); HEARTH_IMAGE_FULL=1 builds
 * the Debian stage anew for each build too (same mirror state needed). `make test-image`.
 */
const DEB = process.env['HEARTH_DEB'] ?? '';
const CACHE = process.env['HEARTH_CACHE'] ?? '/var/cache/hearth-build';
const skip = fs.existsSync(DEB) ? false : 'needs the .deb (HEARTH_DEB): run `make test-image`';

const sha256 = (file: string) => {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 22);
  for (;;) {
    const n = fs.readSync(fd, buf);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
  }
  fs.closeSync(fd);
  return h.digest('hex');
};

test('two builds of the x86_64 image have the same digest', { skip, timeout: 60 * 60_000 }, () => {
  const work = path.join(REPO, 'out/test-image');
  fs.rmSync(work, { recursive: true, force: true });
  const digests: string[][] = [];
  try {
    for (const run of ['a', 'b']) {
      const out = path.join(work, run);
      const cache = process.env['HEARTH_IMAGE_FULL'] ? path.join(work, `cache-${run}`) : CACHE;
      const started = Date.now();
      execFileSync(path.join(REPO, 'image-recipe/build.sh'), ['x86_64', DEB, out, cache], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      log(`build ${run}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const files = fs
        .readdirSync(out)
        .filter((f) => /\.img(\.zst)?$/.test(f))
        .sort();
      digests.push(files.map((f) => `${f} ${sha256(path.join(out, f))}`));
    }
    log(digests[0]?.join('\n') ?? '');
    assert.equal(digests[0]?.length, 2);
    assert.deepEqual(digests[1], digests[0]);
  } finally {
    if (fs.existsSync(work)) execFileSync('rm', ['-rf', work]);
  }
});
