// Writes the SDK's generated files; a test (src/generated.test.ts) fails when they are
// stale. Run after changing the manifest schema or the template:
//   node sdk/scripts/generate.ts
import fs from 'node:fs/promises';
import path from 'node:path';
import { manifestJsonSchema } from '../src/manifest.ts';

const sdk = path.resolve(import.meta.dirname, '..');

/** Every file of sdk/template/, by relative path (what `hearth-sdk init` writes). */
export async function readTemplate(dir = path.join(sdk, 'template')): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of (await fs.readdir(dir, { recursive: true, withFileTypes: true })).sort((a, b) =>
    path.join(a.parentPath, a.name).localeCompare(path.join(b.parentPath, b.name)),
  )) {
    if (!entry.isFile()) continue;
    const abs = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, abs)] = await fs.readFile(abs, 'utf8');
  }
  return files;
}

/** The generated files, by path relative to sdk/, as values (compared parsed, so formatting does not matter). */
export async function generated(): Promise<Record<string, unknown>> {
  return {
    'manifest.schema.json': manifestJsonSchema(),
    'src/template-files.json': await readTemplate(),
  };
}

if (import.meta.main) {
  for (const [file, value] of Object.entries(await generated())) {
    await fs.writeFile(path.join(sdk, file), `${JSON.stringify(value, null, 2)}\n`);
    process.stderr.write(`wrote sdk/${file}\n`);
  }
}
