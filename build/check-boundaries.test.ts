import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const CHECKER = path.join(import.meta.dirname, 'check-boundaries.ts');

/** Runs the checker over a source tree made of `files`. */
function check(files: Record<string, string>): { code: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boundaries-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    const r = spawnSync(process.execPath, [CHECKER, dir], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the boundaries checker passes a tree that keeps the rules', () => {
  const r = check({
    'host/run.ts': "import { spawn } from 'node:child_process';\nexport const run = spawn;\n",
    'packages/plan.ts': "import type { X } from './types.ts';\nexport const plan = (x: X) => x;\n",
    'packages/types.ts': 'export type X = number;\n',
    'packages/plan.test.ts': "import fs from 'node:fs';\nfs.writeFileSync('/tmp/x', '');\n",
  });
  assert.equal(r.code, 0, r.out);
});

test('the boundaries checker finds machine access out of place, cycles and big files', () => {
  const r = check({
    'packages/a.ts':
      "import { b } from './b.ts';\nimport { spawn } from 'node:child_process';\nexport const a = b;\n",
    'packages/b.ts': "import type { a } from './a.ts';\nexport const b = 1 as unknown as typeof a;\n",
    'checks/disk.ts': "import fs from 'node:fs';\nfs.writeFileSync('/etc/x', '');\n",
    'events/net.ts': "import net from 'node:net';\nnet.createServer();\nawait fetch('http://x');\n",
    'status/bus.ts': "import dbus from 'dbus-next';\nexport default dbus;\n",
    'big.ts': 'export const x = 1;\n'.repeat(501),
  });
  assert.equal(r.code, 1);
  for (const want of [
    /packages\/a\.ts: imports node:child_process/,
    /checks\/disk\.ts: writes to the filesystem/,
    /events\/net\.ts: creates a server/,
    /events\/net\.ts: reaches out over the network/,
    /status\/bus\.ts: imports dbus-next/,
    /import cycle: packages\/a\.ts → packages\/b\.ts/,
    /big\.ts: 502 lines/,
  ]) {
    assert.match(r.out, want);
  }
});
