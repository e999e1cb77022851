import { ImageInvalid } from '../errors.ts';
import type { TarType } from '../tar/tar.ts';

/**
 * Flattening OCI layers without extracting them: which entry of which layer ends up in
 * the final tree. Pure, so the whiteout rules are tested without a single file.
 *
 * Rules (OCI image spec, "Representing Changes"): layers apply bottom to top; an entry
 * replaces the same path below it (two directories merge: the upper one's metadata wins,
 * the children of both stay); `.wh.<name>` removes `<name>` and everything under it from
 * the layers below; `.wh..wh..opq` in a directory removes everything the layers below
 * put in it; a non-directory hides whatever the layers below had under its path. A
 * whiteout never affects its own layer.
 */

export interface LayerEntry {
  /** Normalized: no leading `./` or `/`, no trailing `/`, `''` for the root. */
  path: string;
  type: TarType;
  /** For hard links: the normalized target. */
  linkpath?: string;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Normalizes a path from a layer tar; throws {@link ImageInvalid} for one that climbs
 * out with `..`.
 *
 * @example
 * normalizeLayerPath('./usr/bin/'); // 'usr/bin'
 */
export function normalizeLayerPath(raw: string, where = 'layer'): string {
  const parts = raw.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new ImageInvalid(`${where} has an entry that climbs out with '..': ${raw}`);
  return parts.join('/');
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Strict ancestors of a path, nearest first: `a/b/c` → `a/b`, `a`. */
function* ancestors(p: string): Generator<string> {
  let at = p.lastIndexOf('/');
  while (at > 0) {
    yield p.slice(0, at);
    at = p.lastIndexOf('/', at - 1);
  }
}

/**
 * For each layer, which of its entries go into the flattened tree (`keep[layer][i]`).
 * Whiteout markers and the root entry are never kept. Throws {@link ImageInvalid} for a
 * hard link whose target a later layer replaced or removed (the flattened tree could
 * only point it at the new file).
 *
 * @example
 * planFlatten([
 *   [{ path: 'etc', type: 'directory' }, { path: 'etc/old', type: 'file' }],
 *   [{ path: 'etc/.wh.old', type: 'file' }],
 * ]); // [[true, false], [false]]
 */
export function planFlatten(layers: readonly (readonly LayerEntry[])[]): boolean[][] {
  const keep = layers.map((l) => l.map(() => false));
  /** Where each path of the final tree comes from. */
  const final = new Map<string, { layer: number; index: number; type: TarType }>();
  /** Paths removed, with everything under them, for the layers below the current one. */
  const removed = new Set<string>();
  /** Directories whose contents are hidden from the layers below. */
  const opaque = new Set<string>();

  const hidden = (p: string): boolean => {
    if (removed.has(p)) return true;
    for (const a of ancestors(p)) {
      if (removed.has(a) || opaque.has(a)) return true;
      const f = final.get(a);
      if (f && f.type !== 'directory') return true;
    }
    return false;
  };

  for (let layer = layers.length - 1; layer >= 0; layer--) {
    const entries = layers[layer]!;
    const removals: string[] = [];
    const opaques: string[] = [];
    const seen = new Set<string>();
    // Within one layer the last entry for a path wins, so walk it backwards.
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.path === '') continue;
      const base = baseOf(e.path);
      if (base === OPAQUE) {
        opaques.push(parentOf(e.path));
        continue;
      }
      if (base.startsWith(WHITEOUT)) {
        // `.wh..wh.*` other than the opaque marker is aufs bookkeeping: nothing to apply.
        if (!base.startsWith(`${WHITEOUT}${WHITEOUT}`)) {
          const parent = parentOf(e.path);
          removals.push(parent ? `${parent}/${base.slice(WHITEOUT.length)}` : base.slice(WHITEOUT.length));
        }
        continue;
      }
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      if (final.has(e.path) || hidden(e.path)) continue;
      final.set(e.path, { layer, index: i, type: e.type });
      keep[layer]![i] = true;
    }
    for (const r of removals) removed.add(r);
    for (const o of opaques) opaque.add(o);
  }

  for (const [layer, entries] of layers.entries()) {
    for (const [i, e] of entries.entries()) {
      if (!keep[layer]![i] || e.type !== 'hardlink') continue;
      const target = final.get(e.linkpath ?? '');
      const ok = target && (target.layer < layer || (target.layer === layer && target.index < i));
      if (!ok) {
        throw new ImageInvalid(
          `layer ${layer + 1} hard-links ${e.path} to ${e.linkpath}, which a later layer replaced or removed; flatten the image with a build tool first`,
        );
      }
    }
  }
  return keep;
}
