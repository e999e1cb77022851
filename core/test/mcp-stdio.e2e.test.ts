import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { runHearth, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { stdioConnect, textOf } from './mcp-clients.ts';
import { mcpClientTests } from './mcp-suite.ts';

// The same client tests through `hearth mcp`, the stdio bridge a desktop client starts.
mcpClientTests('stdio (hearth mcp --host)', stdioConnect);

let d: TestDaemon;
before(async () => {
  d = await startTestDaemon();
  await setUp(d);
});
after(() => d.cleanup());

test('on the box, hearth mcp --root reaches the daemon over its local socket as root', async () => {
  const client = await stdioConnect(d)({ local: true });
  try {
    const { tools } = await client.listTools();
    assert.ok(
      tools.some((t) => t.name === 'package.uninstall'),
      'root sees admin tools',
    );
    const info = await client.callTool({ name: 'server.info', arguments: {} });
    assert.equal(info.isError, undefined, textOf(info));
    const [entry] = await d
      .client({ bearer: d.localToken })
      .call('audit.list', { method: 'server.info', limit: 1 });
    assert.equal(entry!.surface, 'mcp');
    assert.equal(entry!.callerKind, 'local');
    assert.equal(entry!.address, 'local');
  } finally {
    await client.close();
  }
});

test('the bridge opens a new session, subscriptions and all, when the daemon restarts', async () => {
  let box = await startTestDaemon();
  try {
    await setUp(box);
    // On the box: the local socket keeps its path across a restart (a TCP port 0 would not).
    const client = await stdioConnect(box)({ local: true });
    try {
      let heard: () => void;
      const updated = new Promise<void>((resolve) => {
        heard = resolve;
      });
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => heard());
      await client.subscribeResource({ uri: 'hearth://state/notifications' });
      assert.equal((await client.callTool({ name: 'server.time', arguments: {} })).isError, undefined);

      // Sessions live in the daemon's memory: the new daemon knows none of them.
      await box.stop();
      box = await box.restart();
      const time = await client.callTool({ name: 'server.time', arguments: {} });
      assert.equal(time.isError, undefined, textOf(time));
      await box
        .client({ bearer: box.localToken })
        .call('notification.create', { title: 'after the restart' });
      await updated;
    } finally {
      await client.close();
    }
  } finally {
    await box.cleanup();
  }
});

test('a box that cannot be reached answers the client’s request with what to do', async () => {
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'pipe', version: '1' } },
  };
  // Port 1 on loopback: nothing listens there.
  const r = await runHearth(['mcp', '--host', 'http://127.0.0.1:1', '--token', 'hth_unused'], {
    input: `${JSON.stringify(initialize)}\n`,
  });
  assert.equal(r.code, 0);
  const answer = JSON.parse(r.stdout.trim()) as { id: number; error: { message: string } };
  assert.equal(answer.id, 1);
  assert.match(answer.error.message, /cannot reach the Hearth daemon at http:\/\/127\.0\.0\.1:1 — hint/);
  assert.match(r.stderr, /hearth mcp: cannot reach/);
});
