import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { publicKeyToBase64, type SigningKey } from '../keys.ts';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarWriteHeader } from '../tar/tar.ts';
import { sampleFiles, sampleManifest, tempDir } from '../testing/fixtures.ts';
import { HpkError } from './errors.ts';
import { canonicalText, type MemberDigest, signatureFile } from './format.ts';
import { packHpk } from './pack.ts';
import { type ReadHpkOptions, readHpk, unpackHpk } from './read.ts';

const newKey = (): SigningKey => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyToBase64(publicKey) };
};
const signer = newKey();
const stranger = newKey();

let dir: string;
before(async () => {
  dir = await tempDir('hpk-test-');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

interface Entry {
  header: TarWriteHeader;
  data?: Buffer;
  /** Leave this member out of the SIGNATURE list. */
  unlisted?: boolean;
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const fakeImage = (tag: string) => Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(5000, tag)]);

/** The members of a valid package, as tar entries we can bend. */
function validEntries(manifest = sampleManifest()): Entry[] {
  const file = (p: string, data: string | Buffer): Entry => ({
    header: { path: p, type: 'file' },
    data: Buffer.from(data),
  });
  return [
    file('manifest.json', JSON.stringify(manifest)),
    file('LICENSE', 'MIT License\n'),
    file('icon.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>'),
    file('instructions.md', '# Hello\n'),
    file('code/index.js', 'module.exports = {};\n'),
    file('images/arm64/main.squashfs', fakeImage('a')),
    file('images/x86_64/main.squashfs', fakeImage('x')),
  ];
}

type SignatureMode = { key: SigningKey | null } | { raw: string } | 'none';

/** Writes entries plus a SIGNATURE (over the listed regular members) to a fresh .hpk. */
async function craft(
  name: string,
  entries: Entry[],
  signature: SignatureMode = { key: signer },
): Promise<string> {
  const listed: MemberDigest[] = entries
    .filter((e) => e.header.type === 'file' && !e.unlisted)
    .map((e) => ({ path: e.header.path, size: e.data?.length ?? 0, sha256: sha(e.data ?? Buffer.alloc(0)) }));
  const all = [...entries];
  if (signature !== 'none') {
    const text = 'raw' in signature ? signature.raw : signatureFile(listed, signature.key);
    all.push({ header: { path: 'SIGNATURE', type: 'file' }, data: Buffer.from(text) });
  }
  const parts: Buffer[] = [];
  for (const e of all) {
    parts.push(encodeHeader({ ...e.header, size: e.data?.length ?? e.header.size ?? 0 }));
    if (e.data) parts.push(e.data, Buffer.alloc(padding(e.data.length)));
  }
  parts.push(END_OF_ARCHIVE);
  const file = path.join(dir, `${name}.hpk`);
  await fs.writeFile(file, Buffer.concat(parts));
  return file;
}

/** A GNU 'L' header (a long name for the next entry), which packages may not use. */
function gnuLongName(name: string): Buffer {
  const header = encodeHeader({ path: '././@LongLink', type: 'file', size: name.length + 1 });
  header.write('L', 156, 'latin1');
  header.fill(0x20, 148, 156);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const data = Buffer.concat([Buffer.from(`${name}\0`)]);
  return Buffer.concat([header, data, Buffer.alloc(padding(data.length))]);
}

const replace = (entries: Entry[], p: string, entry: Entry | null): Entry[] =>
  entries.flatMap((e) => (e.header.path === p ? (entry ? [entry] : []) : [e]));

/** Reads and unpacks like an install would; returns the error, and checks nothing was left on disk. */
async function install(file: string, options: ReadHpkOptions = {}): Promise<HpkError> {
  const root = await fs.mkdtemp(path.join(dir, 'install-'));
  try {
    const pkg = await readHpk(file, { trustedSigners: [signer.publicKey], arch: 'x86_64', ...options });
    await unpackHpk(pkg, path.join(root, 'pkg'));
    assert.fail('the package was accepted');
  } catch (e) {
    if (!(e instanceof HpkError)) throw e;
    assert.deepEqual(await fs.readdir(root), [], 'something was left on disk');
    return e;
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

describe('hpk: a valid package', () => {
  test('packs, verifies and unpacks only the box architecture', async () => {
    const files = await sampleFiles(await fs.mkdtemp(path.join(dir, 'files-')));
    const out = path.join(dir, 'good.hpk');
    await packHpk({ out, manifest: sampleManifest(), ...files, key: signer });
    const pkg = await readHpk(out, { trustedSigners: [signer.publicKey], arch: 'arm64' });
    assert.equal(pkg.manifest.id, 'hello-world');
    assert.deepEqual(pkg.signer, { publicKey: signer.publicKey, trusted: true });
    assert.deepEqual([...pkg.members.keys()].sort(), [
      'LICENSE',
      'SIGNATURE',
      'code/index.js',
      'icon.svg',
      'images/arm64/main.squashfs',
      'images/x86_64/main.squashfs',
      'instructions.md',
      'manifest.json',
    ]);
    const dest = path.join(dir, 'unpacked', 'hello-world');
    const unpacked = await unpackHpk(pkg, dest);
    assert.deepEqual(unpacked.images, [
      { name: 'main', arch: 'arm64', path: path.join(dest, 'images/arm64/main.squashfs') },
    ]);
    assert.deepEqual((await fs.readdir(path.join(dest, 'images'))).sort(), ['arm64']);
    assert.equal(await fs.readFile(path.join(dest, 'LICENSE'), 'utf8'), 'MIT License\n');
    assert.deepEqual(await fs.readdir(path.join(dir, 'unpacked')), ['hello-world']);
    await assert.rejects(unpackHpk(pkg, dest), { code: 'destination_exists' });
  });

  test('packing is reproducible', async () => {
    const files = await sampleFiles(await fs.mkdtemp(path.join(dir, 'files-')));
    const a = path.join(dir, 'repro-a.hpk');
    const b = path.join(dir, 'repro-b.hpk');
    await packHpk({ out: a, manifest: sampleManifest(), ...files, key: signer });
    await packHpk({ out: b, manifest: sampleManifest(), ...files, key: signer });
    assert.deepEqual(await fs.readFile(a), await fs.readFile(b));
  });

  test('the signature covers the canonical text', async () => {
    const file = await craft('canonical', validEntries());
    const pkg = await readHpk(file, { trustedSigners: [signer.publicKey] });
    const text = canonicalText([...pkg.members.values()].filter((m) => m.path !== 'SIGNATURE'));
    assert.match(text, /^hpk-v1\nLICENSE\t12\t[0-9a-f]{64}\ncode\/index\.js\t/);
    const sig = JSON.parse(
      (await fs.readFile(file)).toString('latin1').match(/\{\s*"format": "hpk-v1"[\s\S]*?\n\}/)![0],
    ) as { signature: string };
    assert.ok(
      crypto.verify(
        null,
        Buffer.from(text),
        crypto.createPublicKey(signer.privateKey),
        Buffer.from(sig.signature, 'base64'),
      ),
    );
  });

  test('an untrusted signer or an unsigned package passes with allowUntrusted', async () => {
    const strangers = await craft('stranger-ok', validEntries(), { key: stranger });
    const pkg = await readHpk(strangers, { trustedSigners: [signer.publicKey], allowUntrusted: true });
    assert.deepEqual(pkg.signer, { publicKey: stranger.publicKey, trusted: false });
    const unsigned = await craft('unsigned-ok', validEntries(), { key: null });
    assert.equal((await readHpk(unsigned, { allowUntrusted: true })).signer, null);
  });

  test('tolerates directory entries for its own folders', async () => {
    const entries = [{ header: { path: 'images/', type: 'directory' as const } }, ...validEntries()];
    await readHpk(await craft('dirs', entries), { trustedSigners: [signer.publicKey] });
  });
});

describe('hpk: the refusal corpus', () => {
  const big = Buffer.alloc(5000);
  const cases: {
    name: string;
    code: string;
    member?: string;
    make: () => Promise<string>;
    options?: ReadHpkOptions;
  }[] = [
    {
      name: 'a member changed after signing',
      code: 'hpk_tampered_member',
      member: 'code/index.js',
      make: async () => {
        const file = await craft('tampered', validEntries());
        const bytes = await fs.readFile(file);
        const at = bytes.indexOf('module.exports');
        bytes[at] = 'M'.charCodeAt(0);
        await fs.writeFile(file, bytes);
        return file;
      },
    },
    {
      name: 'a member list re-signed by someone else under the signer’s name',
      code: 'hpk_bad_signature',
      member: 'SIGNATURE',
      make: async () => {
        const entries = validEntries();
        const listed = entries.map((e) => ({
          path: e.header.path,
          size: e.data!.length,
          sha256: sha(e.data!),
        }));
        const forged = JSON.parse(signatureFile(listed, stranger));
        forged.publicKey = signer.publicKey;
        return craft('bad-signature', entries, { raw: JSON.stringify(forged) });
      },
    },
    {
      name: 'a member list edited after signing',
      code: 'hpk_bad_signature',
      member: 'SIGNATURE',
      make: async () => {
        const entries = validEntries();
        const listed = entries.map((e) => ({
          path: e.header.path,
          size: e.data!.length,
          sha256: sha(e.data!),
        }));
        const signed = JSON.parse(signatureFile(listed, signer));
        signed.members[0].size += 1;
        return craft('edited-list', entries, { raw: JSON.stringify(signed) });
      },
    },
    {
      name: 'a signer that is not trusted',
      code: 'hpk_unknown_signer',
      make: () => craft('unknown-signer', validEntries(), { key: stranger }),
    },
    {
      name: 'no signature at all',
      code: 'hpk_unsigned',
      make: () => craft('unsigned', validEntries(), { key: null }),
    },
    {
      name: 'a path climbing out with ..',
      code: 'hpk_path_traversal',
      member: 'code/../../etc/cron.d/x',
      make: () =>
        craft('traversal', [
          ...validEntries(),
          { header: { path: 'code/../../etc/cron.d/x', type: 'file' }, data: big },
        ]),
    },
    {
      name: 'an absolute path',
      code: 'hpk_absolute_path',
      member: '/etc/passwd',
      make: () =>
        craft('absolute', [...validEntries(), { header: { path: '/etc/passwd', type: 'file' }, data: big }]),
    },
    {
      name: 'a symlink',
      code: 'hpk_symlink',
      member: 'code/index.js',
      make: () =>
        craft(
          'symlink',
          replace(validEntries(), 'code/index.js', {
            header: { path: 'code/index.js', type: 'symlink', linkpath: '/etc/shadow' },
          }),
        ),
    },
    {
      name: 'a hard link inside the package',
      code: 'hpk_hardlink',
      member: 'LICENSE',
      make: () =>
        craft(
          'hardlink',
          replace(validEntries(), 'LICENSE', {
            header: { path: 'LICENSE', type: 'hardlink', linkpath: 'instructions.md' },
          }),
        ),
    },
    {
      name: 'a hard link escaping the package',
      code: 'hpk_hardlink_escape',
      member: 'LICENSE',
      make: () =>
        craft(
          'hardlink-escape',
          replace(validEntries(), 'LICENSE', {
            header: { path: 'LICENSE', type: 'hardlink', linkpath: '../../etc/shadow' },
          }),
        ),
    },
    {
      name: 'a device node',
      code: 'hpk_special_file',
      member: 'images/x86_64/main.squashfs',
      make: () =>
        craft(
          'device',
          replace(validEntries(), 'images/x86_64/main.squashfs', {
            header: { path: 'images/x86_64/main.squashfs', type: 'block-device', devmajor: 8, devminor: 0 },
          }),
        ),
    },
    {
      name: 'a fifo',
      code: 'hpk_special_file',
      member: 'instructions.md',
      make: () =>
        craft(
          'fifo',
          replace(validEntries(), 'instructions.md', { header: { path: 'instructions.md', type: 'fifo' } }),
        ),
    },
    {
      name: 'a member over the size limit',
      code: 'hpk_member_too_large',
      member: 'images/arm64/main.squashfs',
      make: () => craft('member-too-large', validEntries()),
      options: { maxMemberBytes: 4096 },
    },
    {
      name: 'a manifest over its fixed cap',
      code: 'hpk_member_too_large',
      member: 'manifest.json',
      make: () =>
        craft(
          'huge-manifest',
          replace(validEntries(), 'manifest.json', {
            header: { path: 'manifest.json', type: 'file' },
            data: Buffer.alloc(1024 * 1024 + 1, 0x20),
          }),
        ),
    },
    {
      name: 'a package over the total limit',
      code: 'hpk_too_large',
      make: () => craft('too-large', validEntries()),
      options: { maxTotalBytes: 8192 },
    },
    {
      name: 'no image for the box architecture',
      code: 'hpk_missing_architecture',
      make: () => {
        const m = sampleManifest({
          architectures: ['arm64'],
          images: [{ name: 'main', architectures: ['arm64'] }],
        });
        return craft('missing-arch', replace(validEntries(m), 'images/x86_64/main.squashfs', null));
      },
    },
    {
      name: 'a manifest that breaks the schema',
      code: 'hpk_invalid_manifest',
      member: 'manifest.json',
      make: () => craft('invalid-manifest', validEntries(sampleManifest({ id: 'Not An Id' }))),
    },
    {
      name: 'a manifest that is not JSON',
      code: 'hpk_invalid_manifest',
      member: 'manifest.json',
      make: () =>
        craft(
          'manifest-not-json',
          replace(validEntries(), 'manifest.json', {
            header: { path: 'manifest.json', type: 'file' },
            data: Buffer.from('{'),
          }),
        ),
    },
    {
      name: 'a truncated file',
      code: 'hpk_truncated',
      make: async () => {
        const file = await craft('truncated', validEntries());
        const bytes = await fs.readFile(file);
        await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
        return file;
      },
    },
    {
      name: 'a member twice',
      code: 'hpk_duplicate_member',
      member: 'manifest.json',
      make: () => {
        const entries = validEntries();
        return craft('duplicate', [...entries, { ...entries[0]!, unlisted: true }]);
      },
    },
    {
      name: 'a member the format does not have',
      code: 'hpk_unexpected_member',
      member: 'postinst.sh',
      make: () =>
        craft('unexpected', [
          ...validEntries(),
          { header: { path: 'postinst.sh', type: 'file' }, data: big },
        ]),
    },
    {
      name: 'a member the manifest does not call for',
      code: 'hpk_unexpected_member',
      member: 'icon.png',
      make: () =>
        craft('unexpected-icon', [
          ...validEntries(),
          { header: { path: 'icon.png', type: 'file' }, data: big },
        ]),
    },
    {
      name: 'a required member left out (and out of the list)',
      code: 'hpk_missing_member',
      member: 'LICENSE',
      make: () => craft('missing-license', replace(validEntries(), 'LICENSE', null)),
    },
    {
      name: 'no SIGNATURE',
      code: 'hpk_missing_member',
      member: 'SIGNATURE',
      make: () => craft('no-signature', validEntries(), 'none'),
    },
    {
      name: 'a member added without being signed',
      code: 'hpk_unsigned_member',
      member: 'icon.png',
      make: () =>
        craft('unsigned-member', [
          ...validEntries(),
          { header: { path: 'icon.png', type: 'file' }, data: big, unlisted: true },
        ]),
    },
    {
      name: 'a damaged header',
      code: 'hpk_corrupt',
      make: async () => {
        const file = await craft('corrupt', validEntries());
        const bytes = await fs.readFile(file);
        bytes[5] = bytes[5]! ^ 0xff;
        await fs.writeFile(file, bytes);
        return file;
      },
    },
    {
      name: 'a GNU long-name entry',
      code: 'hpk_unsupported_entry',
      make: async () => {
        const file = await craft('gnu-longname', validEntries());
        const bytes = await fs.readFile(file);
        await fs.writeFile(file, Buffer.concat([gnuLongName('code/index.js'), bytes]));
        return file;
      },
    },
    {
      name: 'data smuggled after the end of the archive',
      code: 'hpk_corrupt',
      make: async () => {
        const file = await craft('trailing', validEntries());
        await fs.appendFile(file, 'hello');
        return file;
      },
    },
  ];

  for (const c of cases) {
    test(`${c.code}: ${c.name}`, async () => {
      const file = await c.make();
      const e = await install(file, c.options);
      assert.equal(e.code, c.code, `${e.code}: ${e.message}`);
      if (c.member) {
        assert.equal(e.member, c.member);
        assert.ok(e.message.includes(c.member), `the message should name ${c.member}: ${e.message}`);
      }
    });
  }

  test('the corpus covers every refusal code', () => {
    assert.equal(new Set(cases.map((c) => c.code)).size, 21);
  });

  test('a package changed between verification and unpacking leaves nothing behind', async () => {
    const file = await craft('swap', validEntries());
    const pkg = await readHpk(file, { trustedSigners: [signer.publicKey], arch: 'x86_64' });
    const bytes = await fs.readFile(file);
    const at = bytes.indexOf(fakeImage('x').subarray(0, 64)) + 100;
    bytes[at] = bytes[at]! ^ 1;
    await fs.writeFile(file, bytes);
    const root = await fs.mkdtemp(path.join(dir, 'swap-'));
    await assert.rejects(unpackHpk(pkg, path.join(root, 'pkg')), {
      code: 'hpk_tampered_member',
      member: 'images/x86_64/main.squashfs',
    });
    assert.deepEqual(await fs.readdir(root), []);
  });
});

test('what is no package at all is told in plain words, not as a package cut short', async (t) => {
  const dir = await tempDir('hpk-not-');
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const text = path.join(dir, 'notes.txt');
  await fs.writeFile(text, 'a shopping list\n');
  const empty = path.join(dir, 'empty.hpk');
  await fs.writeFile(empty, '');
  const binary = path.join(dir, 'photo.hpk');
  await fs.writeFile(binary, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]));
  const cases: [string, string, RegExp][] = [
    [text, 'hpk_corrupt', /notes\.txt is not a Hearth package: it is a text file/],
    [dir, 'hpk_corrupt', /is not a Hearth package: it is a directory/],
    [empty, 'hpk_corrupt', /is not a Hearth package: the file is empty/],
    [binary, 'hpk_corrupt', /is not a Hearth package: it is not the archive a package is/],
    [path.join(dir, 'missing.hpk'), 'file_not_found', /^there is no file .*missing\.hpk$/],
  ];
  for (const [file, code, message] of cases) {
    await assert.rejects(readHpk(file), (e: unknown) => {
      assert.equal((e as HpkError).code, code, String(e));
      assert.match((e as Error).message, message);
      assert.doesNotMatch((e as HpkError).hint ?? '', /cut short|get the package again/);
      return true;
    });
  }
});
