import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hearthCommand, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

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
