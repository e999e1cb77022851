import crypto from 'node:crypto';
import { z } from 'zod';
import { parsePublicKey } from '#sdk/keys.ts';
import { compareVersions, isVersion } from '#sdk/semver.ts';
import { HearthError } from '../errors.ts';

/*
 * The update feed: a small signed index of releases that any static HTTPS server can host
 * beside the bundles. `feed.json` is an envelope —
 *   { "payload": "<the index as JSON text>", "key": "<base64 ed25519 public key>",
 *     "signature": "<base64 ed25519 signature over payload's UTF-8 bytes>" }
 * — so the bytes signed are the bytes read: no canonical form to get wrong. The index:
 *   { "format": 1, "sequence": 7, "published": "2026-12-07T00:00:00Z",
 *     "releases": [{ "version": "0.3.0", "platform": "x86_64", "bundle": "hearth-0.3.0-x86_64.raucb",
 *                    "size": 312000000, "sha256": "<hex>", "notes": "…" }] }
 * The key is ed25519 like the .hpk signer's; it says who published the index. The bundle
 * itself carries RAUC's own CMS signature, which the box checks again (a bundle from an
 * upload or a path has no feed around it). `sequence` only grows: a box refuses a feed
 * older than the last it accepted, so a mirror cannot replay an old index to hold a box
 * back on a release with known holes.
 * Everything here is pure: the text in, a verified value or a refusal with its own reason.
 */

export const PLATFORMS = ['x86_64', 'raspberrypi'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Bounds: a feed is an index, not a place for bulk. */
export const FEED_MAX_BYTES = 256 * 1024;
const MAX_RELEASES = 200;
const MAX_NOTES = 8 * 1024;
const MAX_BUNDLE_BYTES = 8 * 1024 ** 3;

export type FeedRefusal =
  | 'too_large'
  | 'malformed'
  | 'unsigned'
  | 'untrusted_key'
  | 'bad_signature'
  | 'invalid_index'
  | 'replayed';

export class FeedRefused extends HearthError {
  readonly reason: FeedRefusal;
  constructor(reason: FeedRefusal, message: string) {
    super('update_feed_refused', message, {
      hint: 'the feed was not changed on this box; check the feed URL in the settings or try again later',
      data: { reason },
    });
    this.reason = reason;
  }
}

const printable = (max: number) =>
  z
    .string()
    .max(max)
    // Notes are shown to people: no control characters beyond line breaks and tabs.
    .refine((s) => !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(s), {
      message: 'holds control characters',
    });

const release = z
  .object({
    version: z.string().max(64).refine(isVersion, { message: 'not a version (semver)' }),
    platform: z.enum(PLATFORMS),
    // A file name beside feed.json: no directories, no traversal, no URL of elsewhere.
    bundle: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, 'a plain file name'),
    size: z.number().int().positive().max(MAX_BUNDLE_BYTES),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
    notes: printable(MAX_NOTES).default(''),
  })
  .strict();
export type Release = z.infer<typeof release>;

const index = z
  .object({
    format: z.literal(1),
    sequence: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    published: z.iso.datetime(),
    releases: z.array(release).max(MAX_RELEASES),
  })
  .strict();
export type FeedIndex = z.infer<typeof index>;

const envelope = z
  .object({
    payload: z.string().max(FEED_MAX_BYTES),
    key: z.string().max(100),
    signature: z.string().max(200),
  })
  .strict();

export interface ParseFeedOptions {
  /** Base64 ed25519 public keys whose feeds the box takes. */
  trustedKeys: readonly string[];
  /** The sequence of the last feed the box took; an older one is a replay. */
  lastSequence?: number;
}

/** Verifies and parses feed.json; throws {@link FeedRefused} with the reason otherwise. */
export function parseFeed(text: string | Buffer, o: ParseFeedOptions): FeedIndex {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  if (bytes.length > FEED_MAX_BYTES) {
    throw new FeedRefused(
      'too_large',
      `the feed is ${bytes.length} bytes; at most ${FEED_MAX_BYTES} are read`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new FeedRefused('malformed', 'the feed is not JSON');
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && !('signature' in raw)) {
    throw new FeedRefused('unsigned', 'the feed is not signed');
  }
  const env = envelope.safeParse(raw);
  if (!env.success)
    throw new FeedRefused('malformed', 'the feed is not a signed envelope (payload, key, signature)');
  const { payload, key, signature } = env.data;
  if (!o.trustedKeys.includes(key)) {
    throw new FeedRefused('untrusted_key', 'the feed is signed by a key this box does not trust');
  }
  let valid = false;
  try {
    const sig = Buffer.from(signature, 'base64');
    valid = sig.length === 64 && crypto.verify(null, Buffer.from(payload, 'utf8'), parsePublicKey(key), sig);
  } catch {
    valid = false;
  }
  if (!valid) throw new FeedRefused('bad_signature', 'the feed’s signature does not match its contents');
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    throw new FeedRefused('invalid_index', 'the signed index is not JSON');
  }
  const parsed = index.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'the index';
    throw new FeedRefused(
      'invalid_index',
      `the signed index is invalid at ${where}: ${issue?.message ?? 'unknown'}`,
    );
  }
  if (o.lastSequence !== undefined && parsed.data.sequence < o.lastSequence) {
    throw new FeedRefused(
      'replayed',
      `the feed is older (sequence ${parsed.data.sequence}) than one this box already read (${o.lastSequence})`,
    );
  }
  return parsed.data;
}

/** Signs an index (the release side and tests): the envelope as feed.json holds it. */
export function signFeed(idx: FeedIndex, privateKey: crypto.KeyObject, publicKey: string): string {
  const payload = JSON.stringify(idx);
  const signature = crypto.sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64');
  return `${JSON.stringify({ payload, key: publicKey, signature }, null, 2)}\n`;
}

/**
 * The release a box on `platform` at `current` should move to: the newest for its
 * platform, newer than what runs — or exactly `version` when the owner names one (an older
 * one only with `allowDowngrade`). Null when nothing newer is there.
 */
export function pickRelease(
  feed: FeedIndex,
  o: { platform: Platform; current: string; version?: string; allowDowngrade?: boolean },
): Release | null {
  const mine = feed.releases.filter((r) => r.platform === o.platform);
  if (o.version !== undefined) {
    const named = mine.find((r) => r.version === o.version);
    if (!named) return null;
    return acceptable(named.version, o.current, o.allowDowngrade ?? false) ? named : null;
  }
  const newer = mine.filter((r) => compareVersions(r.version, o.current) > 0);
  newer.sort((a, b) => compareVersions(b.version, a.version));
  return newer[0] ?? null;
}

/** Whether a bundle of `version` may replace `current`: newer, or older only when asked. */
export function acceptable(version: string, current: string, allowDowngrade: boolean): boolean {
  const order = compareVersions(version, current);
  return order > 0 || (order < 0 && allowDowngrade);
}
