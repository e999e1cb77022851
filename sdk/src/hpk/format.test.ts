import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { publicKeyToBase64 } from '../keys.ts';
import { parseManifest } from '../manifest.ts';
import { sampleManifest } from '../testing/fixtures.ts';
import {
  canonicalText,
  classifyMember,
  isCanonicalOrder,
  requiredMembers,
  signatureFile,
  signatureFileSchema,
} from './format.ts';

const h = (c: string) => c.repeat(64);

describe('canonical text', () => {
  test('is the header line plus one line per member, sorted by the bytes of the path', () => {
    const text = canonicalText([
      { path: 'images/x86_64/main.squashfs', size: 3, sha256: h('c') },
      { path: 'LICENSE', size: 10, sha256: h('a') },
      { path: 'images/arm64/main.squashfs', size: 2, sha256: h('b') },
      { path: 'code/index.js', size: 0, sha256: h('d') },
    ]);
    assert.equal(
      text,
      `hpk-v1\nLICENSE\t10\t${h('a')}\ncode/index.js\t0\t${h('d')}\nimages/arm64/main.squashfs\t2\t${h('b')}\nimages/x86_64/main.squashfs\t3\t${h('c')}\n`,
    );
    assert.equal(canonicalText([]), 'hpk-v1\n');
  });

  test('SIGNATURE holds the sorted list and a signature over its canonical text', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const members = [
      { path: 'manifest.json', size: 5, sha256: h('e') },
      { path: 'LICENSE', size: 1, sha256: h('f') },
    ];
    const sig = signatureFileSchema.parse(
      JSON.parse(signatureFile(members, { privateKey, publicKey: publicKeyToBase64(publicKey) })),
    );
    assert.deepEqual(
      sig.members.map((m) => m.path),
      ['LICENSE', 'manifest.json'],
    );
    assert.ok(isCanonicalOrder(sig.members));
    assert.ok(
      crypto.verify(
        null,
        Buffer.from(canonicalText(members)),
        publicKey,
        Buffer.from(sig.signature!, 'base64'),
      ),
    );
    const unsigned = signatureFileSchema.parse(JSON.parse(signatureFile(members, null)));
    assert.equal(unsigned.signature, null);
    assert.equal(unsigned.publicKey, null);
  });
});

describe('members', () => {
  test('only the format’s paths are members', () => {
    assert.deepEqual(classifyMember('images/arm64/main.squashfs'), {
      kind: 'image',
      arch: 'arm64',
      image: 'main',
    });
    for (const p of [
      './manifest.json',
      'images/riscv64/main.squashfs',
      'images/x86_64/Main.squashfs',
      'code/other.js',
      'icon.gif',
    ]) {
      assert.equal(classifyMember(p), null, p);
    }
  });

  test('the manifest decides the required members', () => {
    assert.deepEqual(requiredMembers(parseManifest(sampleManifest())), [
      'manifest.json',
      'LICENSE',
      'icon.svg',
      'instructions.md',
      'code/index.js',
      'images/arm64/main.squashfs',
      'images/x86_64/main.squashfs',
    ]);
  });
});
