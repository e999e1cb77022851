// What build/bundle.ts holds the bundle to, so that each process of the one binary pays only
// for its own part (ARCHITECTURE.md, "Memory"):
// - the roles are imported when main.ts has chosen one, and each is a bundle of its own
//   (roles/<role>.cjs): the dispatcher's output holds nothing but main.ts and the loader, so
//   a process compiles, and V8 keeps the source of, its own role only;
// - within a role, esbuild wraps every module in a function run at its first import;
// - the container runtime, one per service container, reaches nothing of the daemon's;
// - the source is ASCII: V8 keeps a script with one character above Latin-1 in two bytes a
//   character, and the binary's whole source is on the heap of every process.
import type { Metafile } from 'esbuild';

export const ENTRY = 'core/src/main.ts';
export const RUNTIME = 'core/src/runtime/container-runtime.ts';
/** Each role's module, bundled on its own as roles/<role>.cjs. */
export const ROLES: Record<string, string> = {
  daemon: 'core/src/cli/daemon-command.ts',
  cli: 'core/src/cli/cli.ts',
  runtime: RUNTIME,
};
/**
 * Parts of the daemon loaded at their first use, each a bundle of its own
 * (roles/<name>.cjs, loaded by the role loader when the daemon's code requires
 * `hearth-part:<name>`), and the libraries only that part may hold: the daemon's own
 * bundle holds neither their source nor their code until it needs them.
 */
export const PARTS: Record<string, { entry: string; what: string; holds: string[] }> = {
  x509: {
    entry: 'core/src/tls/x509-lib.ts',
    what: 'the certificates library (@peculiar/x509, tsyringe, reflect-metadata)',
    holds: ['node_modules/@peculiar/', 'node_modules/tsyringe/', 'node_modules/reflect-metadata/'],
  },
  acme: {
    entry: 'core/src/host/acme-lib.ts',
    what: 'the ACME client (acme-client, axios, node-forge)',
    holds: ['node_modules/acme-client/', 'node_modules/axios/', 'node_modules/node-forge/'],
  },
};
/** What no output may hold, by input path prefix, with why. */
export const NOWHERE: Record<string, string> = {
  'node_modules/acme-client/node_modules/@peculiar/':
    "acme-client's own @peculiar/x509 1.x (it uses the x509 part, 2.x: one copy of the library)",
};

/** The inputs the dispatcher's own output may hold: main.ts and build/bundle.ts's role loader. */
const IN_DISPATCHER = (input: string) => input === ENTRY || input.startsWith('hearth-role:');

/** The output built from `entry`, with its inputs. */
function outputOf(meta: Metafile, entry: string) {
  return Object.entries(meta.outputs).find(([, o]) => o.entryPoint === entry);
}

/** What the container runtime must not load, by input path prefix, with what it is. */
export const NOT_IN_RUNTIME: Record<string, string> = {
  'core/src/daemon.ts': 'the daemon',
  'core/src/cli/': 'the CLI',
  'core/src/mcp/': 'the MCP surface',
  'node_modules/@modelcontextprotocol/': 'the MCP SDK',
  'core/src/rpc/methods.ts': "the registry's schemas",
  'core/src/host/': "the host's adapters",
  'node_modules/ws/': 'the WebSocket library',
  'node_modules/dbus-next/': 'D-Bus',
  'node_modules/better-sqlite3/': 'SQLite',
  // The protocol is checked by runtime/shape.ts; the package's code brings its own zod, and
  // is loaded only when a hook or an action runs.
  'node_modules/zod/': 'zod',
  'sdk/src/manifest.ts': "the SDK's manifest schemas",
  // TLS and OpenSSL's set-up: an HTTPS probe imports it when it runs.
  'node:https': 'node:https',
};

/**
 * The inputs that run once `from` runs, each with the input that brought it in: static
 * imports and requires, transitively. A dynamic import is where another part begins.
 * Node's built-in modules (external) are in it as leaves, named `node:<name>`.
 */
export function staticClosure(meta: Metafile, from: string): Map<string, string | null> {
  const seen = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.kind === 'dynamic-import') continue;
      if (imp.external) {
        const builtin = imp.path.startsWith('node:') ? imp.path : `node:${imp.path}`;
        if (!seen.has(builtin)) seen.set(builtin, file);
        continue;
      }
      if (seen.has(imp.path)) continue;
      seen.set(imp.path, file);
      queue.push(imp.path);
    }
  }
  return seen;
}

/** What breaks the roles' separation, one line each; empty when the bundle keeps it. */
export function roleProblems(meta: Metafile): string[] {
  const problems: string[] = [];
  for (const imp of meta.inputs[ENTRY]?.imports ?? []) {
    if (!imp.external && imp.kind !== 'dynamic-import') {
      problems.push(
        `${ENTRY} imports ${imp.path} at the top: every role would load it (import it when its role is chosen)`,
      );
    }
  }
  const dispatcher = outputOf(meta, ENTRY);
  for (const input of Object.keys(dispatcher?.[1].inputs ?? {}).filter((i) => !IN_DISPATCHER(i))) {
    problems.push(
      `${dispatcher?.[0]} holds ${input}: every process would hold its source (bundle it in its role)`,
    );
  }
  for (const [file, output] of Object.entries(meta.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      for (const [name, part] of Object.entries(PARTS)) {
        if (output.entryPoint === part.entry) continue;
        if (part.holds.some((prefix) => input.startsWith(prefix))) {
          problems.push(
            `${file} holds ${input}: only the ${name} part may (${part.what}, loaded at first use)`,
          );
        }
      }
      const never = Object.keys(NOWHERE).find((prefix) => input.startsWith(prefix));
      if (never !== undefined) problems.push(`${file} holds ${input}: ${NOWHERE[never]}`);
    }
  }
  const runtime = staticClosure(meta, RUNTIME);
  const held = Object.keys(outputOf(meta, RUNTIME)?.[1].inputs ?? {});
  for (const [prefix, what] of Object.entries(NOT_IN_RUNTIME)) {
    const found = [...runtime.keys()].find((f) => f.startsWith(prefix));
    if (found !== undefined) {
      const chain = [found];
      for (let by = runtime.get(found); by; by = runtime.get(by)) chain.unshift(by);
      problems.push(`the container runtime loads ${what}: ${chain.join(' → ')}`);
      continue;
    }
    const source = held.find((f) => f.startsWith(prefix));
    if (source !== undefined) problems.push(`the container runtime's bundle holds ${what}: ${source}`);
  }
  return problems;
}

/**
 * The runtime's part: the modules it runs at start and their bytes, and the bytes of its
 * whole bundle (what its process holds as source).
 */
export function runtimeBytes(meta: Metafile): { modules: number; bytes: number; bundle: number } {
  const output = outputOf(meta, RUNTIME)?.[1];
  const inputs = output?.inputs ?? {};
  const part = [...staticClosure(meta, RUNTIME).keys()].filter((f) => !f.startsWith('node:'));
  return {
    modules: part.length,
    bytes: part.reduce((n, f) => n + (inputs[f]?.bytesInOutput ?? 0), 0),
    bundle: output?.bytes ?? 0,
  };
}

/**
 * The source with every character above ASCII written as a `\uXXXX` escape. esbuild already
 * escapes them in strings, regular expressions and names (its default `charset`); what is
 * left is in comments, where the escape changes nothing but the comment. A template
 * literal's raw text is the one place an escape would change the program: bundle.ts checks
 * that both sources minify (comments dropped) to the same program.
 */
export function toAscii(source: string): string {
  return source.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
