import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { publicKeyToBase64 } from '#sdk/keys.ts';
import { type FeedIndex, type FeedRefusal, FeedRefused, parseFeed, pickRelease, signFeed } from './feed.ts';

const pair = () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyToBase64(publicKey) };
};
const owner = pair();
const stranger = pair();
const digest = 'a'.repeat(64);

const index = (over: Partial<FeedIndex> = {}): FeedIndex => ({
  format: 1,
  sequence: 5,
  published: '2026-12-07T00:00:00Z',
  releases: [
    {
      version: '0.2.0',
      platform: 'x86_64',
      bundle: 'hearth-0.2.0-x86_64.raucb',
      size: 10,
      sha256: digest,
      notes: 'two',
    },
    {
      version: '0.3.0',
      platform: 'x86_64',
      bundle: 'hearth-0.3.0-x86_64.raucb',
      size: 10,
      sha256: digest,
      notes: '',
    },
    {
      version: '0.4.0',
      platform: 'raspberrypi',
      bundle: 'hearth-0.4.0-rpi.raucb',
      size: 10,
      sha256: digest,
      notes: '',
    },
  ],
  ...over,
});
const trusted = { trustedKeys: [owner.publicKey] };

function refused(reason: FeedRefusal, f: () => unknown): void {
  assert.throws(
    f,
    (e) => e instanceof FeedRefused && e.reason === reason && e.code === 'update_feed_refused',
  );
}

/** Signs a payload of any shape (to reach the index checks past the signature). */
function signRaw(payload: unknown, key = owner): string {
  const text = JSON.stringify(payload);
  const signature = crypto.sign(null, Buffer.from(text), key.privateKey).toString('base64');
  return JSON.stringify({ payload: text, key: key.publicKey, signature });
}

describe('the update feed', () => {
  test('a feed signed by a trusted key parses, and the newest release for the platform is picked', () => {
    const feed = parseFeed(signFeed(index(), owner.privateKey, owner.publicKey), trusted);
    assert.equal(feed.releases.length, 3);
    assert.equal(pickRelease(feed, { platform: 'x86_64', current: '0.1.0' })?.version, '0.3.0');
    assert.equal(pickRelease(feed, { platform: 'raspberrypi', current: '0.1.0' })?.version, '0.4.0');
    assert.equal(pickRelease(feed, { platform: 'x86_64', current: '0.3.0' }), null);
  });

  test('an older release only when named and allowed; the same version never', () => {
    const feed = parseFeed(signFeed(index(), owner.privateKey, owner.publicKey), trusted);
    assert.equal(pickRelease(feed, { platform: 'x86_64', current: '0.3.0', version: '0.2.0' }), null);
    assert.equal(
      pickRelease(feed, { platform: 'x86_64', current: '0.3.0', version: '0.2.0', allowDowngrade: true })
        ?.version,
      '0.2.0',
    );
    assert.equal(
      pickRelease(feed, { platform: 'x86_64', current: '0.3.0', version: '0.3.0', allowDowngrade: true }),
      null,
    );
    // Another platform's release is never offered, even by name.
    assert.equal(pickRelease(feed, { platform: 'x86_64', current: '0.1.0', version: '0.4.0' }), null);
  });

  test('refuses an unsigned feed, a stranger’s key, and a tampered payload or signature', () => {
    refused('unsigned', () => parseFeed(JSON.stringify(index()), trusted));
    refused('untrusted_key', () =>
      parseFeed(signFeed(index(), stranger.privateKey, stranger.publicKey), trusted),
    );
    // The stranger claims the owner's key: the signature gives it away.
    refused('bad_signature', () =>
      parseFeed(signFeed(index(), stranger.privateKey, owner.publicKey), trusted),
    );
    const env = JSON.parse(signFeed(index(), owner.privateKey, owner.publicKey));
    const tampered = { ...env, payload: env.payload.replace('"size":10', '"size":11') };
    assert.notEqual(tampered.payload, env.payload);
    refused('bad_signature', () => parseFeed(JSON.stringify(tampered), trusted));
    refused('bad_signature', () => parseFeed(JSON.stringify({ ...env, signature: 'AAAA' }), trusted));
    refused('bad_signature', () =>
      parseFeed(JSON.stringify({ ...env, signature: '!!not base64!!' }), trusted),
    );
  });

  test('refuses what is not a feed at all, and what is too large to read', () => {
    refused('malformed', () => parseFeed('not json', trusted));
    refused('malformed', () => parseFeed('{"payload": 1, "key": "x", "signature": "y"}', trusted));
    refused('malformed', () => parseFeed('[]', trusted));
    refused('malformed', () => parseFeed('null', trusted));
    refused('too_large', () => parseFeed(' '.repeat(256 * 1024 + 1), trusted));
  });

  test('refuses a replayed older feed', () => {
    const text = signFeed(index({ sequence: 4 }), owner.privateKey, owner.publicKey);
    refused('replayed', () => parseFeed(text, { ...trusted, lastSequence: 5 }));
    assert.equal(parseFeed(text, { ...trusted, lastSequence: 4 }).sequence, 4);
  });

  test('refuses hostile fields inside a correctly signed index', () => {
    const r = index().releases[0];
    const hostile: Array<[string, unknown]> = [
      ['traversal', { ...r, bundle: '../../etc/shadow' }],
      ['a URL elsewhere', { ...r, bundle: 'https://evil.example/x.raucb' }],
      ['a directory', { ...r, bundle: 'sub/x.raucb' }],
      ['a hidden name', { ...r, bundle: '.raucb' }],
      ['a negative size', { ...r, size: -1 }],
      ['a fractional size', { ...r, size: 1.5 }],
      ['an oversized bundle', { ...r, size: 9 * 1024 ** 3 }],
      ['a short digest', { ...r, sha256: 'abc' }],
      ['an upper-case digest', { ...r, sha256: 'A'.repeat(64) }],
      ['not a version', { ...r, version: 'latest' }],
      ['an unknown platform', { ...r, platform: 'riscv64' }],
      ['terminal escapes in the notes', { ...r, notes: 'ok\u001b[2Jgone' }],
      ['bidi overrides in the notes', { ...r, notes: 'a\u202eb' }],
      ['oversized notes', { ...r, notes: 'x'.repeat(9000) }],
      ['an unknown field', { ...r, run: 'rm -rf /' }],
      ['a prototype key', JSON.parse(`{"__proto__": {"polluted": true}, ${JSON.stringify(r).slice(1)}`)],
    ];
    for (const [what, rel] of hostile) {
      assert.throws(
        () => parseFeed(signRaw({ ...index(), releases: [rel] }), trusted),
        (e) => e instanceof FeedRefused && e.reason === 'invalid_index',
        what,
      );
    }
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    refused('invalid_index', () => parseFeed(signRaw({ ...index(), format: 2 }), trusted));
    refused('invalid_index', () => parseFeed(signRaw({ ...index(), releases: Array(201).fill(r) }), trusted));
    refused('invalid_index', () => parseFeed(signRaw('just a string'), trusted));
    refused('invalid_index', () => parseFeed(signRaw({ ...index(), sequence: -1 }), trusted));
  });
});
