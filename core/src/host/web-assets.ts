import fs from 'node:fs';
import path from 'node:path';
import sea from 'node:sea';

/** One file of the web UI, as build/web.ts wrote it into `out/web/manifest.json`. */
export interface WebFile {
  path: string;
  type: string;
  immutable: boolean;
  encodings: ('br' | 'gzip')[];
  bytes: number;
}

export interface WebAssets {
  /** Identifies this build of the UI (its files and sizes). */
  digest: string;
  files: Map<string, WebFile>;
  /** The file's bytes, as stored or in one of its precompressed encodings. */
  read(file: WebFile, encoding?: 'br' | 'gzip'): Buffer;
}

const SUFFIX = { br: '.br', gzip: '.gz' } as const;

/**
 * The web UI's files: from the directory `HEARTH_WEB_DIR` names (the tree's `out/web`,
 * when the daemon runs from source), or from the single executable's assets (`web/…`,
 * put there by build/sea.sh). Undefined when neither holds a build of the UI. Files are
 * read once, when first asked for, and kept (a few hundred kilobytes in all).
 */
export function loadWebAssets(dir = process.env['HEARTH_WEB_DIR']): WebAssets | undefined {
  let readRaw: (rel: string) => Buffer;
  if (dir) {
    readRaw = (rel) => fs.readFileSync(path.join(dir, rel));
  } else if (sea.isSea()) {
    readRaw = (rel) => Buffer.from(sea.getAsset(`web/${rel}`));
  } else {
    return undefined;
  }
  let manifest: { digest: string; files: WebFile[] };
  try {
    manifest = JSON.parse(readRaw('manifest.json').toString('utf8'));
  } catch {
    return undefined;
  }
  const cache = new Map<string, Buffer>();
  return {
    digest: manifest.digest,
    files: new Map(manifest.files.map((f) => [f.path, f])),
    read(file, encoding) {
      const rel = file.path.slice(1) + (encoding ? SUFFIX[encoding] : '');
      let body = cache.get(rel);
      if (!body) {
        body = readRaw(rel);
        cache.set(rel, body);
      }
      return body;
    },
  };
}
