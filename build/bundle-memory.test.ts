import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Metafile } from 'esbuild';
import { ENTRY, PARTS, RUNTIME, roleProblems, runtimeBytes, toAscii } from './bundle-memory.ts';

type Kind = 'import-statement' | 'dynamic-import' | 'require-call';

/**
 * A metafile of inputs that import each other as given ([path, kind] per import), bundled
 * as build/bundle.ts does: the dispatcher's output holds main.ts (and what `dispatcher`
 * adds), the runtime's output everything the runtime reaches, dynamic imports included.
 */
function meta(graph: Record<string, [string, Kind][]>, dispatcher: string[] = []): Metafile {
  const inputs: Metafile['inputs'] = {};
  for (const [file, imports] of Object.entries(graph)) {
    inputs[file] = {
      bytes: 100,
      imports: imports.map(([p, kind]) =>
        p.startsWith('node:') ? { path: p, kind, external: true } : { path: p, kind },
      ),
    };
  }
  const held = (files: string[]) => Object.fromEntries(files.map((f) => [f, { bytesInOutput: 1000 }]));
  const reached = new Set([RUNTIME]);
  for (const f of reached) for (const i of inputs[f]?.imports ?? []) if (!i.external) reached.add(i.path);
  const output = (entryPoint: string, files: string[]) => ({
    entryPoint,
    bytes: files.length * 1000,
    inputs: held(files),
    imports: [],
    exports: [],
  });
  return {
    inputs,
    outputs: {
      'out/hearth.cjs': output(ENTRY, [ENTRY, 'hearth-role:loader', 'hearth-role:runtime', ...dispatcher]),
      'out/roles/runtime.cjs': output(RUNTIME, [...reached]),
    },
  };
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
    ['core/src/runtime/shape.ts', 'import-statement'],
    // A dynamic import is a part of its own, run only when that code runs (but in its bundle).
    ['core/src/runtime/package-code.ts', 'dynamic-import'],
  ],
  'core/src/errors.ts': [['node:util', 'import-statement']],
  'core/src/runtime/shape.ts': [],
  'core/src/runtime/package-code.ts': [['node:https', 'dynamic-import']],
} satisfies Record<string, [string, Kind][]>;

test('a bundle whose roles load only their own part passes, and the runtime part is counted', () => {
  assert.deepEqual(roleProblems(meta(lean)), []);
  assert.deepEqual(runtimeBytes(meta(lean)), { modules: 3, bytes: 3000, bundle: 4000 });
});

test("the dispatcher's output holding a role's module is refused: every process would hold it", () => {
  assert.deepEqual(roleProblems(meta(lean, ['core/src/errors.ts'])), [
    'out/hearth.cjs holds core/src/errors.ts: every process would hold its source (bundle it in its role)',
  ]);
});

test("the runtime's bundle holding the daemon's code, even behind a dynamic import, is refused", () => {
  const problems = roleProblems(
    meta({
      ...lean,
      'core/src/runtime/package-code.ts': [['core/src/daemon.ts', 'import-statement']],
    }),
  );
  assert.deepEqual(problems, [
    "the container runtime's bundle holds the daemon: core/src/daemon.ts",
    "the container runtime's bundle holds the WebSocket library: node_modules/ws/index.js",
  ]);
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

test('the runtime loading zod, the manifest schemas or node:https at start is refused', () => {
  const problems = roleProblems(
    meta({
      ...lean,
      'core/src/runtime/shape.ts': [
        ['sdk/src/manifest.ts', 'import-statement'],
        ['node:https', 'import-statement'],
      ],
      'sdk/src/manifest.ts': [['node_modules/zod/index.js', 'import-statement']],
      'node_modules/zod/index.js': [],
    }),
  );
  assert.deepEqual(problems, [
    `the container runtime loads zod: ${RUNTIME} → core/src/runtime/shape.ts → sdk/src/manifest.ts → node_modules/zod/index.js`,
    `the container runtime loads the SDK's manifest schemas: ${RUNTIME} → core/src/runtime/shape.ts → sdk/src/manifest.ts`,
    `the container runtime loads node:https: ${RUNTIME} → core/src/runtime/shape.ts → node:https`,
  ]);
});

test("a part's library in another bundle, or acme-client's own @peculiar/x509, is refused", () => {
  const m = meta(lean);
  const output = (entryPoint: string, inputs: string[]) => ({
    entryPoint,
    bytes: 1000,
    inputs: Object.fromEntries(inputs.map((f) => [f, { bytesInOutput: 1000 }])),
    imports: [],
    exports: [],
  });
  m.outputs['out/roles/x509.cjs'] = output(PARTS['x509']!.entry, [
    PARTS['x509']!.entry,
    'node_modules/@peculiar/x509/build/x509.cjs.js',
  ]);
  m.outputs['out/roles/acme.cjs'] = output(PARTS['acme']!.entry, [
    PARTS['acme']!.entry,
    'node_modules/acme-client/src/index.js',
    'node_modules/axios/index.js',
  ]);
  assert.deepEqual(roleProblems(m), [], 'each part holding its own libraries');
  m.outputs['out/roles/daemon.cjs'] = output('core/src/cli/daemon-command.ts', [
    'core/src/cli/daemon-command.ts',
    'node_modules/axios/index.js',
  ]);
  m.outputs['out/roles/acme.cjs'].inputs['node_modules/acme-client/node_modules/@peculiar/x509/x.js'] = {
    bytesInOutput: 1,
  };
  assert.deepEqual(roleProblems(m), [
    "out/roles/acme.cjs holds node_modules/acme-client/node_modules/@peculiar/x509/x.js: acme-client's own @peculiar/x509 1.x (it uses the x509 part, 2.x: one copy of the library)",
    'out/roles/daemon.cjs holds node_modules/axios/index.js: only the acme part may (the ACME client (acme-client, axios, node-forge), loaded at first use)',
  ]);
});

test('toAscii escapes what is above ASCII and leaves the rest as it is', () => {
  assert.equal(toAscii('// a — b…\nconst x = "plain";\n'), '// a \\u2014 b\\u2026\nconst x = "plain";\n');
  // A character beyond the BMP is two escapes, its UTF-16 halves.
  assert.equal(toAscii('/* 🔥 */'), '/* \\ud83d\\udd25 */');
  assert.equal(toAscii('nothing to do'), 'nothing to do');
});
