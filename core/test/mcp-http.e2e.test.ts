import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { httpConnect, textOf } from './mcp-clients.ts';

// What only the HTTP side of /mcp does: credentials, origins, sessions, sizes, the rate limit.
const CALLS_PER_MINUTE = 20;

let d: TestDaemon;
let token: string;
before(async () => {
  d = await startTestDaemon({ args: ['--mcp-calls-per-minute', String(CALLS_PER_MINUTE)] });
  await setUp(d);
  token = (
    await d.client({ bearer: d.localToken }).call('auth.token.create', { name: 'http agent', scope: 'read' })
  ).token;
});
after(() => d.cleanup());

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One raw request to /mcp; an SSE answer is read until the server ends it. */
function request(method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const url = new URL('/mcp', d.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        headers: {
          Accept: 'application/json, text/event-stream',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const initialize = (protocolVersion = LATEST_PROTOCOL_VERSION) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });

/** The JSON-RPC messages of an SSE answer. */
const events = (a: Answer) =>
  a.body
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l.length > 6)
    .map((l) => JSON.parse(l.slice(6)) as { result?: { protocolVersion?: string }; error?: unknown });

const bearer = (t = token) => ({ Authorization: `Bearer ${t}` });

test('no credential, or a bad one, gets 401 with what to do', async () => {
  const none = await request('POST', {}, initialize());
  assert.equal(none.status, 401);
  assert.match(none.headers['www-authenticate'] ?? '', /^Bearer/);
  const error = JSON.parse(none.body).error;
  assert.equal(error.data.code, 'unauthorized');
  assert.match(error.data.hint, /hearth auth token create/);
  const bad = await request('POST', bearer('hth_notarealtoken'), initialize());
  assert.equal(bad.status, 401);
  assert.equal(JSON.parse(bad.body).error.data.code, 'invalid_token');
});

test('protocol versions are negotiated as the SDK does it', async () => {
  const older = await request('POST', bearer(), initialize('2025-03-26'));
  assert.equal(older.status, 200);
  assert.equal(events(older)[0]!.result!.protocolVersion, '2025-03-26');
  const unknown = await request('POST', bearer(), initialize('1999-01-01'));
  assert.equal(events(unknown)[0]!.result!.protocolVersion, LATEST_PROTOCOL_VERSION);
  const session = unknown.headers['mcp-session-id'] as string;
  const wrong = await request(
    'POST',
    { ...bearer(), 'mcp-session-id': session, 'mcp-protocol-version': '1999-01-01' },
    JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  );
  assert.equal(wrong.status, 400);
});

test('pages of other sites are refused, also under a name rebound to the box', async () => {
  const host = new URL(d.url).host;
  const other = await request('POST', { ...bearer(), Origin: 'http://evil.example' }, initialize());
  assert.equal(other.status, 403);
  // DNS rebinding: the browser thinks it talks to evil.example, so Origin and Host agree.
  const port = new URL(d.url).port;
  const rebound = await request(
    'POST',
    { ...bearer(), Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` },
    initialize(),
  );
  // Refused by the Host check every surface has, before /mcp sees it.
  assert.equal(rebound.status, 421);
  assert.equal(JSON.parse(rebound.body).error.data.code, 'host_not_allowed');
  const own = await request('POST', { ...bearer(), Origin: `http://${host}` }, initialize());
  assert.equal(own.status, 200);
});

test('sessions: one credential cannot use another’s, DELETE ends one, GET needs one', async () => {
  const opened = await request('POST', bearer(), initialize());
  const session = opened.headers['mcp-session-id'] as string;
  assert.ok(session);
  const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const other = (
    await d.client({ bearer: d.localToken }).call('auth.token.create', { name: 'other', scope: 'admin' })
  ).token;
  const stolen = await request('POST', { ...bearer(other), 'mcp-session-id': session }, list);
  assert.equal(stolen.status, 404);
  const mine = await request('POST', { ...bearer(), 'mcp-session-id': session }, list);
  assert.equal(mine.status, 200);
  assert.ok(events(mine)[0]!.result);

  assert.equal((await request('GET', bearer())).status, 400);
  assert.equal((await request('DELETE', { ...bearer(), 'mcp-session-id': session })).status, 200);
  assert.equal((await request('POST', { ...bearer(), 'mcp-session-id': session }, list)).status, 404);
});

test('a body over the limit is refused with 413; a body that is not JSON with 400', async () => {
  const big = await request('POST', bearer(), JSON.stringify({ padding: 'x'.repeat(2 << 20) }));
  assert.equal(big.status, 413);
  assert.equal((await request('POST', bearer(), '{not json')).status, 400);
});

test('a revoked token stops working within its open session', async () => {
  const admin = d.client({ bearer: d.localToken });
  const t = await admin.call('auth.token.create', { name: 'short-lived', scope: 'read' });
  const client = await httpConnect(d)({ bearer: t.token });
  try {
    assert.equal((await client.callTool({ name: 'server.time', arguments: {} })).isError, undefined);
    await admin.call('auth.token.revoke', { id: t.id });
    await assert.rejects(client.callTool({ name: 'server.time', arguments: {} }), /not valid/);
  } finally {
    await client.close().catch(() => {});
  }
});

test('tool calls are rate-limited per token, with when to try again', async () => {
  const t = (
    await d.client({ bearer: d.localToken }).call('auth.token.create', { name: 'busy', scope: 'read' })
  ).token;
  const client = await httpConnect(d)({ bearer: t });
  try {
    let limited: string | undefined;
    for (let i = 0; i <= CALLS_PER_MINUTE && !limited; i++) {
      const r = await client.callTool({ name: 'server.time', arguments: {} });
      if (r.isError) limited = textOf(r);
    }
    assert.match(limited ?? 'never limited', /try again in \d+ s \(rate_limited\)/);
    // Another token has its own allowance.
    const other = await httpConnect(d)({ bearer: token });
    assert.equal((await other.callTool({ name: 'server.time', arguments: {} })).isError, undefined);
    await other.close();
  } finally {
    await client.close();
  }
});
