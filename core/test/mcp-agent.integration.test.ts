import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { TestDaemon } from './daemon.ts';
import { leaseNetwork, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { httpConnect, textOf } from './mcp-clients.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';

/**
 * An agent's session through MCP alone, against hello-world in a real container: read the
 * state, find the package, read its logs, restart it, and watch its health come back.
 */
const NETWORK = leaseNetwork();

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`'),
  'the MCP agent test',
);

type Health = Record<string, { status: string; message: string; at: number }>;

describe('an agent operates hello-world through MCP', { skip }, () => {
  let d: TestDaemon;
  const undo: (() => Promise<unknown>)[] = [];
  const installSteps: string[] = [];

  before(async () => {
    const daemon = await packagesDaemon(NETWORK);
    d = daemon.d;
    undo.push(daemon.done);
    // The owner installs hello-world (through MCP too, as root, following its progress); the
    // agent comes later, with an operate token.
    const owner = await httpConnect(d)({ bearer: d.localToken });
    try {
      const installed = await owner.callTool(
        { name: 'package.install', arguments: { path: path.join(SERVICES, 'hello-world.hpk') } },
        undefined,
        { onprogress: (p) => installSteps.push(String(p.message)) },
      );
      assert.equal(installed.isError, undefined, textOf(installed));
    } finally {
      await owner.close();
    }
  });
  after(async () => {
    for (const u of undo.reverse()) await u().catch(() => {});
  });

  test('an install through MCP reports its progress', () => {
    assert.deepEqual(installSteps, ['verify', 'unpack', 'start']);
  });

  // A guard, not a measurement: a package that never heals must not hang the run.
  const guard = { timeout: 180_000 };
  test(
    'read the state → find hello-world → read its logs → restart it → health returns to success',
    guard,
    async () => {
      const { token } = await d
        .client({ bearer: d.localToken })
        .call('auth.token.create', { name: 'house agent', scope: 'operate' });
      const agent = await httpConnect(d)({ bearer: token });
      try {
        // Every change of what the agent subscribed to wakes it; it never polls.
        let wake: () => void = () => {};
        agent.setNotificationHandler(ResourceUpdatedNotificationSchema, () => wake());
        const changed = () =>
          new Promise<void>((resolve) => {
            wake = resolve;
          });
        const readJson = async (uri: string) =>
          JSON.parse(((await agent.readResource({ uri })).contents[0] as { text: string }).text);

        const state = await readJson('hearth://state');
        const [id] = Object.entries(state.packages as Record<string, { title: string }>).find(([, p]) =>
          /hello/i.test(p.title),
        )!;
        assert.equal(id, 'hello-world');
        const uri = `hearth://state/packages/${id}`;
        await agent.subscribeResource({ uri });

        // Healthy first (it was just installed), so the restart is seen to break and mend it.
        const healthyNow = async () => {
          for (;;) {
            const next = changed();
            const pkg = (await readJson(uri)) as { health?: Health };
            const checks = Object.values(pkg.health ?? {});
            if (checks.length > 0 && checks.every((c) => c.status === 'success')) return pkg;
            await next;
          }
        };
        await healthyNow();

        const logs = await agent.readResource({ uri: `hearth://packages/${id}/logs` });
        assert.match((logs.contents[0] as { text: string }).text, /hearth: starting/);

        const seen: string[] = [];
        const before = (await readJson(uri)) as { health: Health };
        const restartedAt = Date.now();
        const restarted = await agent.callTool({ name: 'package.restart', arguments: { id } });
        assert.equal(restarted.isError, undefined, textOf(restarted));
        const answer = restarted.structuredContent as { id: string; status: string };
        assert.deepEqual([answer.id, answer.status], [id, 'running'], textOf(restarted));
        // Healthy again by checks the new runtime ran: the results from before the restart
        // (still "success") must not count.
        for (;;) {
          const next = changed();
          const pkg = (await readJson(uri)) as { health?: Health; status: string };
          const checks = Object.values(pkg.health ?? {});
          seen.push(`${pkg.status}:${checks.map((c) => `${c.status}@${c.at - restartedAt}`).join(',')}`);
          if (
            pkg.status === 'running' &&
            checks.length > 0 &&
            checks.every((c) => c.status === 'success' && c.at >= restartedAt)
          )
            break;
          await next;
        }
        assert.ok(
          Object.values(before.health).every((c) => c.at < restartedAt),
          `the results before the restart are older than it: ${seen.join(' → ')}`,
        );
        const audit = await d
          .client({ bearer: d.localToken })
          .call('audit.list', { method: 'package.restart', limit: 1 });
        assert.equal(audit[0]!.surface, 'mcp');
        assert.equal(audit[0]!.callerName, 'house agent');
        assert.equal(audit[0]!.outcome, 'ok');
      } finally {
        await agent.close();
      }
    },
  );
});
