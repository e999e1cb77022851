import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hearthCommand, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { readerEnv, runShell, shellCommands } from './reader-shell.ts';

/**
 * The MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`, a pinned devDependency
 * that `make deps` installs from the npm registry) against the daemon: a client that is
 * not ours, checking that /mcp speaks MCP as others read it.
 */
const REPO = path.resolve(import.meta.dirname, '../..');
const PACKAGE = path.join(REPO, 'node_modules/@modelcontextprotocol/inspector');

function inspectorBin(): string {
  const manifest = path.join(PACKAGE, 'package.json');
  if (!fs.existsSync(manifest)) {
    throw new Error('the MCP Inspector is not installed: run `make deps` (it is a devDependency)');
  }
  const bin = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }).bin;
  return path.join(PACKAGE, bin['mcp-inspector']!);
}

function inspect(
  args: string[],
  home: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // HOME in the test's root: the Inspector keeps a catalog of servers under ~/.mcp-inspector.
    const child = spawn(process.execPath, [inspectorBin(), '--cli', ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let d: TestDaemon;
let token: string;
before(async () => {
  d = await startTestDaemon();
  await setUp(d);
  token = (
    await d.client({ bearer: d.localToken }).call('auth.token.create', { name: 'inspector', scope: 'read' })
  ).token;
});
after(() => d.cleanup());

test('the Inspector CLI lists the tools (strictly checked for portability) and calls server.info', async () => {
  const http = [`${d.url}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${token}`];
  const listed = await inspect([...http, '--method', 'tools/list', '--strict'], d.root);
  assert.equal(listed.code, 0, listed.stderr);
  const { tools } = JSON.parse(listed.stdout) as { tools: { name: string }[] };
  assert.ok(tools.some((t) => t.name === 'server.info'));
  assert.ok(!tools.some((t) => t.name === 'package.uninstall'), 'a read token sees no admin tools');
  assert.match(listed.stderr, /0 errors/);

  const called = await inspect([...http, '--method', 'tools/call', '--tool-name', 'server.info'], d.root);
  assert.equal(called.code, 0, called.stderr);
  const result = JSON.parse(called.stdout) as { structuredContent: { hostname: string }; isError?: boolean };
  assert.equal(result.isError, undefined);
  assert.equal(result.structuredContent.hostname, 'testbox');
});

test('the Inspector CLI reaches the same tools through the stdio bridge', async () => {
  const [command, ...pre] = hearthCommand();
  const called = await inspect(
    [
      ...['--method', 'tools/call', '--tool-name', 'server.echo', '--tool-arg', 'message=hi'],
      ...['--', command!, ...pre, 'mcp', '--host', d.url, '--token', token],
    ],
    d.root,
  );
  assert.equal(called.code, 0, called.stderr);
  assert.deepEqual(JSON.parse(called.stdout).structuredContent, { message: 'hi' });
});

test('docs/mcp.md as written: the token command on the box, then the Inspector command with it', async (t) => {
  const doc = fs.readFileSync(path.join(REPO, 'docs/mcp.md'), 'utf8');
  const [create, inspector, ...more] = shellCommands(doc, { bare: true });
  assert.deepEqual(more, [], 'the doc has the two commands this test runs');
  assert.match(create!, /^hearth auth token create /);
  // The version the doc pins is the one installed here (and so in npm's cache).
  const pinned = (
    JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')) as { version: string }
  ).version;
  assert.match(
    inspector!,
    new RegExp(`^npx @modelcontextprotocol/inspector@${pinned.replaceAll('.', '\\.')} `),
  );

  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-mcp-reader-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  // On the box: hearth is installed, and this box's daemon is under the test's root.
  const bin = fs.mkdtempSync(path.join(home, 'bin-'));
  const [command, ...pre] = hearthCommand();
  fs.writeFileSync(path.join(bin, 'hearth'), `#!/bin/sh\nexec ${[command, ...pre].join(' ')} "$@"\n`, {
    mode: 0o755,
  });
  const env = readerEnv(home, { HEARTH_ROOT: d.root });
  env['PATH'] = `${bin}:${env['PATH']}`;
  const made = await runShell(create!, home, env);
  assert.equal(made.code, 0, made.output);
  const token = /\b(hth_[A-Za-z0-9_-]+)/.exec(made.output)?.[1];
  assert.ok(token, made.output);
  // The doc's placeholders: the box's address and the token just made. Run in the
  // checkout, where the pinned version is installed (a devDependency), npx takes it from
  // there; anywhere else it downloads that same version, which a test may not.
  const listed = await runShell(
    inspector!.replaceAll('http://hearth.local', d.url).replaceAll('hth_…', token),
    REPO,
    env,
  );
  assert.equal(listed.code, 0, listed.output);
  const tools = (JSON.parse(listed.stdout) as { tools: { name: string }[] }).tools;
  assert.ok(
    tools.some((x) => x.name === 'package.restart'),
    'an operate token sees package.restart',
  );
  assert.ok(!tools.some((x) => x.name === 'package.uninstall'), 'and not what needs admin');
});
