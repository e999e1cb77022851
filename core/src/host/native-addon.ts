import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sea from 'node:sea';

const SQLITE_ASSET = 'better_sqlite3.node';

/**
 * The better-sqlite3 native binding to hand to `new Database(file, { nativeBinding })`.
 *
 * In the single-executable binary the addon travels as an SEA asset: it is written to a
 * private temporary directory, loaded with `process.dlopen`, and removed at once (the
 * mapping stays valid after unlink), so nothing is left behind and no shared path can be
 * raced. `HEARTH_SQLITE_ADDON` names an addon file to load instead (the plain bundle).
 * Running from source returns undefined: better-sqlite3 finds its own build.
 */
export function loadSqliteBinding(): object | undefined {
  const fromEnv = process.env['HEARTH_SQLITE_ADDON'];
  if (fromEnv) return dlopen(fromEnv);
  if (!sea.isSea()) return undefined;
  const bytes = new Uint8Array(sea.getRawAsset(SQLITE_ASSET));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-addon-'));
  const file = path.join(dir, SQLITE_ASSET);
  try {
    fs.writeFileSync(file, bytes, { mode: 0o500 });
    return dlopen(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function dlopen(file: string): object {
  const mod = { exports: {} as object };
  process.dlopen(mod, file);
  return mod.exports;
}
