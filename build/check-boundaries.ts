// `make check`: the architecture's boundaries, held by the checker instead of a sentence.
// Over every non-test file of core/src:
// - what touches the machine — child processes, D-Bus, servers, writes to the filesystem —
//   only where it belongs: the host adapters (core/src/host/), the surfaces' servers, the
//   in-container runtime, and the few places listed below with why;
// - no import cycle (type-only imports count: the layers are the point).
// Prints every finding as `file: what` and exits 1 if there is one. An argument names
// another source tree to check (its test does that with trees made to break the rules).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = process.argv[2] ? path.resolve(process.argv[2]) : path.join(ROOT, 'core/src');

/** Where each kind of machine access may be, by path prefix under core/src, with why. */
const ALLOWED: Record<string, { pattern: RegExp; what: string; places: Record<string, string> }> = {
  childProcess: {
    pattern: /from ['"](node:)?child_process['"]/,
    what: 'imports node:child_process',
    places: {
      'host/': 'the host adapters: the one run() and the tools it runs',
      'runtime/': 'the runtime inside a container runs the package’s daemons, hooks and probes',
    },
  },
  dbus: {
    pattern: /from ['"]dbus-next['"]/,
    what: 'imports dbus-next',
    places: { 'host/': 'the host adapters' },
  },
  servers: {
    pattern: /\b(?:http|https|net|tls)\.createServer\(|\bnew WebSocketServer\(/,
    what: 'creates a server',
    places: {
      'host/': 'the host adapters (a container’s channel socket)',
      'rpc/http.ts': 'the HTTP and WebSocket surface',
      'runtime/': 'the runtime inside a container',
    },
  },
  fsWrites: {
    pattern:
      /\b(?:fs|fsp|fsSync)\.(?:writeFile|appendFile|rm|rename|mkdir|mkdtemp|chmod|chown|unlink|copyFile|cp|symlink|truncate|rmdir|utimes|writeSync|openSync)(?:Sync)?\(/,
    what: 'writes to the filesystem',
    places: {
      'host/': 'the host adapters',
      'runtime/': 'the runtime inside a container',
      'log/log.ts': 'the daemon’s own log file',
      'state/db.ts': 'the database file and its directory',
      'cli/': 'the CLI on a person’s machine (its saved sessions)',
    },
  },
  network: {
    pattern: /(?<![.\w])fetch\(|\b(?:http|https)\.(?:request|get)\(/,
    what: 'reaches out over the network',
    places: {
      'host/': 'the host adapters (downloads)',
      'rpc/app-proxy.ts': 'the proxy to packages’ web UIs',
      'client/': 'the client, which talks to a box',
      'cli/': 'the CLI, a client',
      'mcp/bridge.ts': 'hearth mcp, a client of the box',
      'runtime/': 'the runtime inside a container (its health probes)',
    },
  },
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = sources(SRC);
const problems: string[] = [];
const rel = (f: string) => path.relative(SRC, f);

for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  for (const rule of Object.values(ALLOWED)) {
    if (!rule.pattern.test(text)) continue;
    if (Object.keys(rule.places).some((p) => rel(file).startsWith(p))) continue;
    problems.push(`core/src/${rel(file)}: ${rule.what} (allowed in ${Object.keys(rule.places).join(', ')})`);
  }
}

// --- import cycles ---------------------------------------------------------------------

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
const graph = new Map<string, string[]>();
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const deps = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const target = path.resolve(path.dirname(file), m[1] ?? m[2]!);
    if (target.startsWith(SRC) && fs.existsSync(target)) deps.add(target);
  }
  graph.set(file, [...deps]);
}

// Tarjan's strongly connected components: any with more than one file is a cycle.
let index = 0;
const order = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
const cycles: string[][] = [];
function visit(v: string): void {
  order.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!order.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
  }
  if (low.get(v) === order.get(v)) {
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component);
  }
}
for (const file of graph.keys()) if (!order.has(file)) visit(file);
for (const c of cycles) problems.push(`import cycle: ${c.map(rel).sort().join(' → ')}`);

// --- size ----------------------------------------------------------------------------------

const MAX_LINES = 500;
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').length;
  if (lines > MAX_LINES)
    problems.push(`core/src/${rel(file)}: ${lines} lines (at most ${MAX_LINES}: split it by its jobs)`);
}

if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n${problems.length} boundary problem(s)\n`);
  process.exit(1);
}
process.stdout.write(`boundaries: ${files.length} files, no machine access out of place, no import cycle\n`);
