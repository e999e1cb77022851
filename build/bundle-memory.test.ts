import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Metafile } from 'esbuild';
import { ENTRY, RUNTIME, roleProblems, runtimeBytes, toAscii } from './bundle-memory.ts';

type Kind = 'import-statement' | 'dynamic-import' | 'require-call';

/** A metafile of inputs that import each other as given ([path, kind] per import). */
function meta(graph: Record<string, [string, Kind][]>): Metafile {
  const inputs: Metafile['inputs'] = {};
  for (const [file, imports] of Object.entries(graph)) {
    inputs[file] = {
      bytes: 100,
      imports: imports.map(([p, kind]) =>
        p.startsWith('node:') ? { path: p, kind, external: true } : { path: p, kind },
      ),
    };
  }
  const bytesInOutput = Object.fromEntries(Object.keys(graph).map((f) => [f, { bytesInOutput: 1000 }]));
  return { inputs, outputs: { 'out.cjs': { bytes: 0, inputs: bytesInOutput, imports: [], exports: [] } } };
}

const lean = {
  [ENTRY]: [
    ['node:path', 'import-statement'],
    ['core/src/cli/daemon-command.ts', 'dynamic-import'],
    [RUNTIME, 'dynamic-import'],
  ],
  'core/src/cli/daemon-command.ts': [['core/src/daemon.ts', 'import-statement']],
  'core/src/daemon.ts': [['node_modules/ws/index.js', 'require-call']],
  'node_modules/ws/index.js': [],
  [RUNTIME]: [
    ['core/src/errors.ts', 'import-statement'],
    ['node_modules/zod/index.js', 'import-statement'],
    // A dynamic import is a part of its own, loaded only when that code runs.
    ['core/src/mcp/server.ts', 'dynamic-import'],
  ],
  'core/src/errors.ts': [['node:util', 'import-statement']],
  'node_modules/zod/index.js': [],
  'core/src/mcp/server.ts': [],
} satisfies Record<string, [string, Kind][]>;

test('a bundle whose roles load only their own part passes, and the runtime part is counted', () => {
  assert.deepEqual(roleProblems(meta(lean)), []);
  assert.deepEqual(runtimeBytes(meta(lean)), { modules: 3, bytes: 3000 });
});

test('main.ts importing a role at the top is refused', () => {
  const problems = roleProblems(
    meta({
      ...lean,
      [ENTRY]: [...lean[ENTRY], ['core/src/cli/cli.ts', 'import-statement']],
      'core/src/cli/cli.ts': [],
    }),
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /main\.ts imports core\/src\/cli\/cli\.ts at the top/);
});

test('the runtime reaching the daemon is refused, with the chain that brings it in', () => {
  const problems = roleProblems(
    meta({
      ...lean,
      'core/src/errors.ts': [['core/src/rpc/methods.ts', 'import-statement']],
      'core/src/rpc/methods.ts': [['node_modules/@modelcontextprotocol/sdk/x.js', 'require-call']],
      'node_modules/@modelcontextprotocol/sdk/x.js': [],
    }),
  );
  assert.deepEqual(problems, [
    `the container runtime loads the MCP SDK: ${RUNTIME} → core/src/errors.ts → core/src/rpc/methods.ts → node_modules/@modelcontextprotocol/sdk/x.js`,
    `the container runtime loads the registry's schemas: ${RUNTIME} → core/src/errors.ts → core/src/rpc/methods.ts`,
  ]);
});

test('toAscii escapes what is above ASCII and leaves the rest as it is', () => {
  assert.equal(toAscii('// a — b…\nconst x = "plain";\n'), '// a \\u2014 b\\u2026\nconst x = "plain";\n');
  // A character beyond the BMP is two escapes, its UTF-16 halves.
  assert.equal(toAscii('/* 🔥 */'), '/* \\ud83d\\udd25 */');
  assert.equal(toAscii('nothing to do'), 'nothing to do');
});
