import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { METHODS } from '../../core/src/rpc/methods.ts';

/*
 * Every method of the registry a box owner would use has a place in the web UI: web/
 * calls it through the typed client (its name appears there, as the client's argument),
 * or it is below, with the reason it has none. A new method without either fails here —
 * the issue that adds it lands its screen, or its line here, with it.
 */
const NOT_IN_THE_UI: Record<string, string> = {
  'rpc.discover':
    'for programs that learn the API at run time; the UI is typed from the registry at build time',
  'server.echo': 'a connectivity probe for API clients',
  'state.get': 'the UI holds the state document through state.subscribe instead',
  'package.list': 'the state document carries the installed packages, live',
  'notification.list': 'the state document carries the newest notifications, live',
  'notification.create':
    'for scripts and packages to tell the owner something; the owner does not notify himself',
  'server.check.list': 'the state document carries the checks and their findings, live',
  'server.metrics': 'the UI charts server.metrics.history and the state document’s metrics',
  'tor.status': 'the state document carries tor’s state and every onion address, live',
  'server.update.status': 'the state document carries the OS update’s state (/update), live',
  'auth.password.reset': 'root on the box itself only (hearth auth password reset), for a forgotten password',
};

const WEB = path.join(import.meta.dirname, '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

const code = sources(WEB)
  .map((f) => fs.readFileSync(f, 'utf8'))
  .join('\n');
const names = METHODS.map((m) => m.name as string);

test('every method has a place in the web UI or a reason not to', () => {
  const missing = names.filter((n) => !(n in NOT_IN_THE_UI) && !code.includes(`'${n}'`));
  assert.deepEqual(missing, [], 'methods without a screen: call them from web/, or list them with a reason');
});

test('the list of methods without a screen holds no stale or used entry', () => {
  for (const n of Object.keys(NOT_IN_THE_UI)) {
    assert.ok(names.includes(n), `${n} is not a method any more`);
    assert.ok(!code.includes(`'${n}'`), `${n} is called by web/ now: take it off the list`);
  }
});

test('web/ defines no type or schema the registry defines: no zod, no hand-written method list', () => {
  assert.doesNotMatch(code, /from 'zod'/);
  // Imports from the core are types only, but for the client and the patch applier.
  const valueImports = [...code.matchAll(/^import \{[^}]*\} from '(\.\.\/)+core\/src\/([^']+)'/gm)].map(
    (m) => m[2],
  );
  assert.deepEqual([...new Set(valueImports)].sort(), ['client/client.ts', 'state/json-patch.ts']);
});
