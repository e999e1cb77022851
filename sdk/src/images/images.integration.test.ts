// Real mksquashfs, tar2sqfs, unsquashfs/rdsquashfs and mmdebstrap (apt-get install
// squashfs-tools squashfs-tools-ng mmdebstrap busybox-static).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { ImageInvalid } from '../errors.ts';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarWriteHeader } from '../tar/tar.ts';
import { tempDir } from '../testing/fixtures.ts';
import { buildImages, readImagesConfig } from './build.ts';
import { squashfsFromDebian } from './debian.ts';
import { squashfsFromOci } from './oci.ts';
import { squashfsFromDir } from './squashfs.ts';

let dir: string;
before(async () => {
  dir = await tempDir('images-test-');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

function tar(entries: (TarWriteHeader & { data?: string })[]): Buffer {
  const parts: Buffer[] = [];
  for (const { data, ...h } of entries) {
    const bytes = Buffer.from(data ?? '');
    parts.push(encodeHeader({ mtime: 1700000000, ...h, size: bytes.length }));
    if (h.type === 'file') parts.push(bytes, Buffer.alloc(padding(bytes.length)));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** Two layers exercising replacement, a whiteout, an opaque directory, links and an xattr. */
const LOWER = tar([
  { path: './', type: 'directory' },
  { path: 'etc/', type: 'directory' },
  { path: 'etc/hostname', type: 'file', data: 'lower\n' },
  { path: 'etc/link', type: 'symlink', linkpath: 'hostname' },
  { path: 'app/', type: 'directory', mode: 0o700 },
  { path: 'app/old.txt', type: 'file', data: 'old' },
  { path: 'app/sub/', type: 'directory' },
  { path: 'app/sub/x.txt', type: 'file', data: 'x' },
  { path: 'var/', type: 'directory' },
  { path: 'var/cache/', type: 'directory' },
  { path: 'var/cache/big.bin', type: 'file', data: 'big' },
  { path: 'lib/', type: 'directory' },
  { path: 'lib/a', type: 'file', data: 'shared', pax: { 'SCHILY.xattr.user.test': 'yes' } },
  { path: 'lib/b', type: 'hardlink', linkpath: 'lib/a' },
]);
const UPPER = tar([
  { path: 'etc/', type: 'directory' },
  { path: 'etc/hostname', type: 'file', data: 'upper\n' },
  { path: 'etc/motd', type: 'file', data: 'hi' },
  { path: 'var/.wh.cache', type: 'file' },
  { path: 'app/', type: 'directory', mode: 0o755 },
  { path: 'app/.wh..wh..opq', type: 'file' },
  { path: 'app/new.txt', type: 'file', data: 'new' },
]);
const EXPECTED = [
  'app',
  'app/new.txt',
  'etc',
  'etc/hostname',
  'etc/link',
  'etc/motd',
  'lib',
  'lib/a',
  'lib/b',
  'var',
];

function listing(image: string): string[] {
  return execFileSync('unsquashfs', ['-l', '-d', '', image], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.replace(/^\/?/, ''))
    .filter(Boolean)
    .sort();
}
const cat = (image: string, file: string) =>
  execFileSync('rdsquashfs', ['-c', file, image], { encoding: 'utf8' });

async function ociLayout(root: string, archs: string[], corrupt = false): Promise<void> {
  const blob = async (data: Buffer) => {
    const digest = sha(data);
    await fs.mkdir(path.join(root, 'blobs', 'sha256'), { recursive: true });
    await fs.writeFile(path.join(root, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: data.length };
  };
  const lowerGz = zlib.gzipSync(LOWER);
  const manifests = [];
  for (const architecture of archs) {
    const config = await blob(
      Buffer.from(
        JSON.stringify({
          architecture,
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [sha(LOWER), sha(UPPER)] },
        }),
      ),
    );
    const layers = [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await blob(lowerGz)) },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', ...(await blob(UPPER)) },
    ];
    const manifest = await blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers,
        }),
      ),
    );
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      platform: { architecture, os: 'linux' },
    });
  }
  await fs.writeFile(path.join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await fs.writeFile(path.join(root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  if (corrupt) {
    const file = path.join(root, 'blobs', 'sha256', sha(UPPER).slice(7));
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 1024 - 3] = 0x41;
    await fs.writeFile(file, bytes);
  }
}

function dockerSave(architecture: string): Buffer {
  const config = JSON.stringify({
    architecture,
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [sha(LOWER), sha(UPPER)] },
  });
  const manifest = JSON.stringify([
    { Config: 'cfg.json', RepoTags: ['test:latest'], Layers: ['l1/layer.tar', 'l2/layer.tar'] },
  ]);
  const file = (p: string, data: Buffer | string) => ({
    path: p,
    type: 'file' as const,
    data: data.toString('latin1'),
  });
  // Layers are binary; the helper takes strings, so go through latin1 both ways.
  const parts: Buffer[] = [];
  for (const e of [
    file('manifest.json', manifest),
    file('cfg.json', config),
    file('l1/layer.tar', LOWER),
    file('l2/layer.tar', UPPER),
  ]) {
    const bytes = Buffer.from(e.data, 'latin1');
    parts.push(
      encodeHeader({ path: e.path, type: 'file', size: bytes.length }),
      bytes,
      Buffer.alloc(padding(bytes.length)),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

function checkFlattened(image: string) {
  assert.deepEqual(listing(image), EXPECTED);
  assert.equal(cat(image, '/etc/hostname'), 'upper\n');
  assert.equal(cat(image, '/lib/b'), 'shared');
  const stat = execFileSync('rdsquashfs', ['-s', '/app', image], { encoding: 'utf8' });
  assert.match(stat, /Access: 0755/, 'the upper layer’s directory metadata wins');
  const xattrs = execFileSync('rdsquashfs', ['-x', '/lib/a', image], { encoding: 'utf8' });
  assert.match(xattrs, /user\.test=yes/);
}

describe('images', () => {
  test('a root directory becomes a reproducible squashfs', async () => {
    const root = path.join(dir, 'rootfs');
    await fs.mkdir(path.join(root, 'bin'), { recursive: true });
    await fs.copyFile('/bin/busybox', path.join(root, 'bin', 'busybox'));
    await fs.writeFile(path.join(root, 'hello.txt'), 'hello');
    const a = path.join(dir, 'a.squashfs');
    const b = path.join(dir, 'b.squashfs');
    await squashfsFromDir(root, a);
    await fs.utimes(path.join(root, 'hello.txt'), new Date(), new Date());
    await squashfsFromDir(root, b);
    assert.deepEqual(await fs.readFile(a), await fs.readFile(b));
    assert.deepEqual(listing(a), ['bin', 'bin/busybox', 'hello.txt']);
    await assert.rejects(squashfsFromDir(path.join(dir, 'nope'), a), ImageInvalid);
  });

  test('an OCI layout is flattened honouring whiteouts and opaque directories', async () => {
    const layout = path.join(dir, 'oci');
    await ociLayout(layout, ['amd64', 'arm64']);
    const out = path.join(dir, 'oci.squashfs');
    const { name } = await squashfsFromOci(layout, 'x86_64', out);
    assert.match(name, /linux\/amd64/);
    checkFlattened(out);
    const again = path.join(dir, 'oci-again.squashfs');
    await squashfsFromOci(layout, 'x86_64', again);
    assert.deepEqual(await fs.readFile(out), await fs.readFile(again), 'the same image gives the same bytes');
    await squashfsFromOci(layout, 'arm64', path.join(dir, 'oci-arm64.squashfs'));
  });

  test('a docker save tarball is flattened the same way', async () => {
    const file = path.join(dir, 'image.tar');
    await fs.writeFile(file, dockerSave('amd64'));
    const out = path.join(dir, 'docker.squashfs');
    const { name } = await squashfsFromOci(file, 'x86_64', out);
    assert.equal(name, 'test:latest (linux/amd64)');
    checkFlattened(out);
  });

  test('the wrong architecture, a missing platform and a bad digest are refused', async () => {
    const file = path.join(dir, 'arm.tar');
    await fs.writeFile(file, dockerSave('arm64'));
    await assert.rejects(
      squashfsFromOci(file, 'x86_64', path.join(dir, 'x.squashfs')),
      /holds a arm64 image, not amd64/,
    );
    const amdOnly = path.join(dir, 'oci-amd');
    await ociLayout(amdOnly, ['amd64']);
    await assert.rejects(
      squashfsFromOci(amdOnly, 'arm64', path.join(dir, 'y.squashfs')),
      /has no linux\/arm64 image/,
    );
    const corrupt = path.join(dir, 'oci-corrupt');
    await ociLayout(corrupt, ['amd64'], true);
    await assert.rejects(squashfsFromOci(corrupt, 'x86_64', path.join(dir, 'z.squashfs')), (e: unknown) => {
      return e instanceof ImageInvalid && /does not match its (digest|diff_id)/.test(e.message);
    });
    await assert.rejects(
      squashfsFromOci(dir, 'x86_64', path.join(dir, 'w.squashfs')),
      /neither an OCI image layout/,
    );
  });

  test('buildImages follows hearth.images.json', async () => {
    const pkg = path.join(dir, 'pkg');
    await fs.mkdir(path.join(pkg, 'root-x86_64'), { recursive: true });
    await fs.writeFile(path.join(pkg, 'root-x86_64', 'f'), 'x');
    await fs.writeFile(path.join(pkg, 'image.tar'), dockerSave('amd64'));
    await fs.writeFile(
      path.join(pkg, 'hearth.images.json'),
      JSON.stringify({
        images: { main: { type: 'dir', path: 'root-{arch}' }, side: { type: 'oci', path: 'image.tar' } },
      }),
    );
    const config = await readImagesConfig(path.join(pkg, 'hearth.images.json'));
    const work = path.join(dir, 'work');
    await fs.mkdir(work);
    const built = await buildImages(config, {
      dir: pkg,
      architectures: ['x86_64'],
      workDir: work,
      cacheDir: path.join(dir, 'cache'),
    });
    assert.deepEqual(
      built.map((b) => [b.name, b.arch, path.basename(b.file)]),
      [
        ['main', 'x86_64', 'main-x86_64.squashfs'],
        ['side', 'x86_64', 'side-x86_64.squashfs'],
      ],
    );
    await fs.writeFile(path.join(pkg, 'bad.json'), JSON.stringify({ images: { main: { type: 'docker' } } }));
    await assert.rejects(
      readImagesConfig(path.join(pkg, 'bad.json')),
      /images\.main\.type: type must be one of dir, oci, debian/,
    );
  });

  // The default test run stays on this machine; this one downloads from the Debian mirror.
  const mirror = process.env['HEARTH_TEST_MIRROR']
    ? false
    : 'reaches the Debian mirror: `make test-mirror` runs it';
  test(
    'a Debian root from mmdebstrap, cached by its recipe',
    { timeout: 300_000, skip: mirror },
    async () => {
      const cacheDir = path.join(dir, 'debian-cache');
      const source = {
        suite: 'bookworm',
        variant: 'extract',
        packages: ['busybox-static'],
        components: ['main'],
      };
      const first = await squashfsFromDebian(source, 'x86_64', { cacheDir });
      assert.equal(first.cached, false);
      assert.ok(listing(first.file).includes('bin/busybox'));
      const second = await squashfsFromDebian(source, 'x86_64', { cacheDir });
      assert.deepEqual(second, { file: first.file, cached: true });
      assert.deepEqual(await fs.readdir(cacheDir), [path.basename(first.file)]);
    },
  );
});
