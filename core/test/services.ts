import fs from 'node:fs';
import path from 'node:path';
import { loadSigningKey } from '#sdk/keys.ts';
import { packDir } from '#sdk/pack/pack-dir.ts';

/** Where `make services` keeps what tests and benchmarks of real packages use. */
export const REPO = path.resolve(import.meta.dirname, '../..');
export const SERVICES = path.join(REPO, 'out/services');
export const DEV_KEY = process.env['HEARTH_SERVICE_KEY'] ?? '/var/cache/hearth-build/keys/dev-signing.key';
/** Debian images built by `make services`: packing a variant finds them here, no download. */
export const IMAGE_CACHE = '/var/cache/hearth-build/images';

/**
 * A variant of a first-party package, packed with the development key into `work`: its
 * hearth.package.ts copied from services/ with `edits` (exact text → replacement) applied.
 */
export async function packVariant(
  service: string,
  work: string,
  edits: [string, string][],
  out: string,
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(work, `${service}-`));
  fs.cpSync(path.join(REPO, 'services', service), dir, { recursive: true });
  const entry = path.join(dir, 'hearth.package.ts');
  let code = fs.readFileSync(entry, 'utf8');
  for (const [from, to] of edits) {
    if (!code.includes(from))
      throw new Error(`services/${service}/hearth.package.ts has no ${JSON.stringify(from)}`);
    code = code.replace(from, to);
  }
  fs.writeFileSync(entry, code);
  await packDir({
    dir,
    out,
    key: await loadSigningKey(DEV_KEY),
    cacheDir: IMAGE_CACHE,
    sdkDir: path.join(REPO, 'sdk'),
  });
  return out;
}
