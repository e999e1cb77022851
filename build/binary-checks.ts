// Checks shared by the tests of the built binaries (binary.integration.test.ts for
// x86_64, arm64.integration.test.ts under qemu-user): they run the real file, with the
// better-sqlite3 addon coming from its SEA asset.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { MIGRATIONS } from '../core/src/state/migrations.ts';
import { required } from '../core/test/required.ts';

const run = promisify(execFile);

export const repo = path.resolve(import.meta.dirname, '..');
const { version } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  version: string;
};
const latestSchema = MIGRATIONS.at(-1)?.version ?? 0;

export interface BinaryUnderTest {
  bin: string;
  /** What `process.arch` says inside the binary. */
  arch: string;
  /** Extra environment, e.g. QEMU_LD_PREFIX. */
  env?: () => Record<string, string>;
}

function tempDir(t: TestContext, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Registers the checks every build of `hearth` must pass. */
export function checkBinary(target: BinaryUnderTest): void {
  const missing = !fs.existsSync(target.bin);
  const skip = required(
    missing ? `${target.bin} is missing: run \`make build\`` : false,
    `${target.arch}: the binary checks`,
  );

  async function hearth(t: TestContext, args: string[]): Promise<string> {
    // A private TMPDIR shows whether the addon's temporary copy is cleaned up.
    const tmp = tempDir(t, 'hearth-tmp-');
    const env: NodeJS.ProcessEnv = { ...process.env, ...target.env?.(), TMPDIR: tmp };
    // The addon must come from the binary itself, not from a file on the side.
    delete env['HEARTH_SQLITE_ADDON'];
    const { stdout } = await run(target.bin, args, { env, timeout: 60_000 });
    assert.deepEqual(fs.readdirSync(tmp), [], 'the binary left files in TMPDIR');
    return stdout;
  }

  test(`${target.arch}: version names the package version and the architecture`, { skip }, async (t) => {
    const out = await hearth(t, ['version']);
    assert.match(
      out,
      new RegExp(`^hearth ${version.replaceAll('.', '\\.')} \\(\\w+\\) .* ${target.arch}\\n$`),
    );
  });

  test(`${target.arch}: db migrate creates the database, then finds it current`, { skip }, async (t) => {
    const root = tempDir(t, 'hearth-root-');
    const db = path.join(root, 'var/lib/hearth/hearth.db');
    assert.equal(
      await hearth(t, ['db', 'migrate', '--root', root]),
      `database ${db}: schema 0 → ${latestSchema}\n`,
    );
    assert.ok(fs.statSync(db).size > 0);
    assert.equal(
      await hearth(t, ['db', 'migrate', '--root', root]),
      `database ${db}: schema ${latestSchema} → ${latestSchema}\n`,
    );
  });
}
