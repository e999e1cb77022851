import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ElicitRequestSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { METHODS } from '../src/rpc/methods.ts';
import type { Access } from '../src/rpc/registry.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import type { Connect, Credential } from './mcp-clients.ts';
import { textOf } from './mcp-clients.ts';

// Which access levels each scope reaches; the tools a caller sees follow from the registry.
const REACHES: Record<'read' | 'operate' | 'admin', Access[]> = {
  read: ['public', 'read'],
  operate: ['public', 'read', 'operate'],
  admin: ['public', 'read', 'operate', 'admin'],
};
// Not tools: the setup wizard's, logging in and out, and what only a WebSocket can carry.
const NOT_TOOLS = new Set(['setup.execute', 'auth.login', 'auth.logout', 'state.subscribe', 'stream.cancel']);
const expectedTools = (scope: keyof typeof REACHES) =>
  METHODS.filter((m) => REACHES[scope].includes(m.access) && !NOT_TOOLS.has(m.name))
    .map((m) => m.name)
    .sort();

/**
 * The MCP client tests, run with the SDK's client over one way of connecting (HTTP, or the
 * stdio bridge) against a real daemon.
 */
export function mcpClientTests(transport: string, connectTo: (d: TestDaemon) => Connect): void {
  describe(`MCP over ${transport}`, () => {
    let d: TestDaemon;
    let connect: Connect;
    let admin: ReturnType<TestDaemon['client']>;
    const tokens: Record<string, string> = {};
    const clients: Client[] = [];
    const as = async (credential: Credential, capabilities?: Parameters<Connect>[1]) => {
      const c = await connect(credential, capabilities);
      clients.push(c);
      return c;
    };
    const scoped = (scope: string) => as({ bearer: tokens[scope]! });

    before(async () => {
      d = await startTestDaemon();
      await setUp(d);
      connect = connectTo(d);
      admin = d.client({ bearer: d.localToken });
      for (const scope of ['read', 'operate', 'admin'] as const) {
        tokens[scope] = (await admin.call('auth.token.create', { name: `${scope} agent`, scope })).token;
      }
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await d?.cleanup();
    });

    test('each scope sees exactly the tools it may call, with schemas and annotations', async () => {
      for (const scope of ['read', 'operate', 'admin'] as const) {
        const { tools } = await (await scoped(scope)).listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(), expectedTools(scope), scope);
        if (scope === 'read') {
          for (const t of tools) {
            assert.equal(t.annotations?.readOnlyHint, true, `${t.name} is read-only`);
          }
        }
      }
      const { tools } = await (await scoped('admin')).listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      const uninstall = byName.get('package.uninstall')!;
      assert.equal(uninstall.annotations?.destructiveHint, true);
      assert.equal(uninstall.annotations?.readOnlyHint, false);
      assert.ok(uninstall.inputSchema.properties?.['confirm'], 'destructive tools take confirm');
      assert.match(uninstall.description ?? '', /confirm: true/);
      assert.deepEqual(uninstall.inputSchema.required, ['id']);
      const info = byName.get('server.info')!;
      assert.equal(info.annotations?.idempotentHint, true);
      assert.equal(info.outputSchema?.type, 'object');
      assert.ok(info.outputSchema?.properties?.['hostname']);
      assert.equal(
        byName.get('package.list')!.outputSchema,
        undefined,
        'an array result has no output schema',
      );
      assert.equal(byName.get('server.echo')!.inputSchema.properties?.['confirm'], undefined);
    });

    test('good arguments answer with structured content; bad ones with a result that says what to do', async () => {
      const read = await scoped('read');
      const echo = await read.callTool({ name: 'server.echo', arguments: { message: 'hello' } });
      assert.equal(echo.isError, undefined);
      assert.deepEqual(echo.structuredContent, { message: 'hello' });
      assert.deepEqual(JSON.parse(textOf(echo)), { message: 'hello' });
      const info = await read.callTool({ name: 'server.info', arguments: {} });
      assert.equal((info.structuredContent as { hostname: string }).hostname, 'testbox');

      const missing = await read.callTool({ name: 'server.echo', arguments: {} });
      assert.equal(missing.isError, true);
      assert.match(textOf(missing), /invalid_params/);
      assert.match(textOf(missing), /message/);
      const extra = await read.callTool({ name: 'server.echo', arguments: { message: 'x', loud: true } });
      assert.equal(extra.isError, true);
      const unknown = await read.callTool({ name: 'package.get', arguments: { id: 'nope' } });
      assert.equal(unknown.isError, true);
      assert.match(textOf(unknown), /'nope' does not exist/);
      assert.match(textOf(unknown), /No package is installed/);

      await assert.rejects(
        read.callTool({ name: 'no.such.tool', arguments: {} }),
        (e: unknown) => e instanceof McpError && /tools\/list/.test(e.message),
      );
      await assert.rejects(
        read.callTool({ name: 'setup.execute', arguments: {} }),
        (e: unknown) => e instanceof McpError,
        'setup methods are not tools',
      );
    });

    test('an operate token cannot call admin tools; a read token cannot operate', async () => {
      const operate = await scoped('operate');
      const refused = await operate.callTool({
        name: 'auth.token.create',
        arguments: { name: 'x', scope: 'read' },
      });
      assert.equal(refused.isError, true);
      assert.match(textOf(refused), /forbidden/);
      assert.match(textOf(refused), /scope 'admin'/);
      const read = await scoped('read');
      const r = await read.callTool({ name: 'notification.create', arguments: { title: 'nope' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /forbidden/);
      const ok = await operate.callTool({
        name: 'notification.create',
        arguments: { title: 'from operate' },
      });
      assert.equal(ok.isError, undefined, textOf(ok));
    });

    test('a subscription to hearth://state hears of a change made through JSON-RPC', async () => {
      const read = await scoped('read');
      const updates: string[] = [];
      let heard: () => void;
      const notificationsUpdated = new Promise<void>((resolve) => {
        heard = resolve;
      });
      read.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updates.push(n.params.uri);
        if (n.params.uri === 'hearth://state/notifications') heard();
      });
      // Sent in this order within one batch of updates: a wrong one for /server would come first.
      await read.subscribeResource({ uri: 'hearth://state' });
      await read.subscribeResource({ uri: 'hearth://state/server' });
      await read.subscribeResource({ uri: 'hearth://state/notifications' });
      await d
        .client({ bearer: tokens['operate']! })
        .call('notification.create', { title: 'Disk almost full' });
      await notificationsUpdated;
      assert.deepEqual(updates, ['hearth://state', 'hearth://state/notifications']);

      const read2 = await read.readResource({ uri: 'hearth://state/notifications' });
      const content = read2.contents[0] as { text: string; mimeType: string };
      assert.equal(content.mimeType, 'application/json');
      assert.match(content.text, /Disk almost full/);
      const whole = JSON.parse(
        ((await read.readResource({ uri: 'hearth://state' })).contents[0] as { text: string }).text,
      );
      assert.equal(whole.server.hostname, 'testbox');
      await read.unsubscribeResource({ uri: 'hearth://state' });
    });

    test('resources, the logs template and the operate-hearth prompt are listed', async () => {
      const read = await scoped('read');
      const { resources } = await read.listResources();
      assert.ok(resources.some((r) => r.uri === 'hearth://state'));
      assert.ok(resources.some((r) => r.uri === 'hearth://state/server'));
      const { resourceTemplates } = await read.listResourceTemplates();
      assert.deepEqual(
        resourceTemplates.map((t) => t.uriTemplate),
        ['hearth://packages/{id}/logs'],
      );
      await assert.rejects(
        read.readResource({ uri: 'hearth://packages/nope/logs' }),
        (e: unknown) => e instanceof McpError && /package\.list/.test(e.message),
      );
      await assert.rejects(read.readResource({ uri: 'hearth://state/nothing-here' }), McpError);
      const { prompts } = await read.listPrompts();
      assert.deepEqual(
        prompts.map((p) => p.name),
        ['operate-hearth'],
      );
      const prompt = await read.getPrompt({
        name: 'operate-hearth',
        arguments: { goal: 'restart hello-world' },
      });
      const text = (prompt.messages[0]!.content as { text: string }).text;
      assert.match(text, /hearth:\/\/state/);
      assert.match(text, /restart hello-world/);
      assert.doesNotMatch(text, /package\.uninstall/, 'a read token is not offered admin tools');
    });

    test('a destructive call without confirmation is refused, with confirm: true it runs; the audit log says which', async () => {
      const agent = await scoped('admin');
      const victim = await admin.call('auth.token.create', { name: 'old script', scope: 'read' });
      const refused = await agent.callTool({ name: 'auth.token.revoke', arguments: { id: victim.id } });
      assert.equal(refused.isError, true);
      assert.match(textOf(refused), /confirmation_required/);
      assert.match(textOf(refused), /confirm: true/);
      assert.ok(await d.client({ bearer: victim.token }).call('server.info'), 'still valid');

      const done = await agent.callTool({
        name: 'auth.token.revoke',
        arguments: { id: victim.id, confirm: true },
      });
      assert.equal(done.isError, undefined, textOf(done));
      await assert.rejects(d.client({ bearer: victim.token }).call('server.info'));

      const entries = await admin.call('audit.list', { method: 'auth.token.revoke', limit: 10 });
      assert.deepEqual(
        entries.map((e) => [e.surface, e.callerName, e.outcome, e.errorCode, e.confirmation]),
        [
          ['mcp', 'admin agent', 'ok', null, 'argument'],
          ['mcp', 'admin agent', 'error', 'confirmation_required', null],
        ],
      );
      assert.deepEqual(entries[0]!.params, { id: victim.id }, 'confirm is not a param of the method');
    });

    test('a client that can ask the person confirms through elicitation; a no refuses', async () => {
      const asked: string[] = [];
      let answer: 'accept' | 'decline' = 'decline';
      const agent = await as({ bearer: tokens['operate']! }, { elicitation: { form: {} } });
      agent.setRequestHandler(ElicitRequestSchema, (request) => {
        asked.push(request.params.message);
        return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
      });
      const op = d.client({ bearer: tokens['operate']! });
      const n = await op.call('notification.create', { title: 'to remove' });

      const declined = await agent.callTool({
        name: 'notification.remove',
        arguments: { id: n.id, confirm: true },
      });
      assert.equal(declined.isError, true);
      assert.match(textOf(declined), /confirmation_declined/);
      answer = 'accept';
      const removed = await agent.callTool({ name: 'notification.remove', arguments: { id: n.id } });
      assert.equal(removed.isError, undefined, textOf(removed));
      assert.equal(asked.length, 2);
      assert.match(asked[0]!, /'operate agent' wants to run notification\.remove/);

      const entries = await admin.call('audit.list', { method: 'notification.remove', limit: 10 });
      assert.deepEqual(
        entries.map((e) => [e.outcome, e.errorCode, e.confirmation]),
        [
          ['ok', null, 'elicitation'],
          ['error', 'confirmation_declined', null],
        ],
      );
    });

    test('every tool call is in the audit log as MCP, with the token’s name', async () => {
      const read = await scoped('read');
      await read.callTool({ name: 'server.time', arguments: {} });
      const [entry] = await admin.call('audit.list', { method: 'server.time', limit: 1 });
      assert.equal(entry!.surface, 'mcp');
      assert.equal(entry!.callerKind, 'token');
      assert.equal(entry!.callerName, 'read agent');
      assert.equal(entry!.outcome, 'ok');
    });
  });
}
