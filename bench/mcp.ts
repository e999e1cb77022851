// The MCP rows of `make bench` (see run.ts's header), on a daemon of their own whose MCP rate
// limit is lifted (the default would refuse a bench's thousands of calls a minute). Requests
// are sent raw, one at a time, over one node:http keep-alive connection, so the figures are
// the daemon's and not a client library's:
//
// - tools/list latency: as an admin API token (every tool, every schema), in an open
//   session, LIST_CALLS times after WARMUP; p50 and p99. The notes add what the SDK's own
//   client takes for the same list (it compiles every output schema on each list).
// - tools/call round trip: `server.info` as an MCP tool call (POST /mcp, the answer framed
//   as server-sent events) and the same call over JSON-RPC (POST /rpc/v1), with the same
//   read token, in alternating blocks of BLOCK calls, ROUNDS times, so both see the same
//   machine; p50 of each, and their ratio. The difference is MCP's own: the session, the
//   SDK's validation, SSE framing, and the result carried as text and as structured content.
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { nodeFetch } from '../core/src/mcp/bridge.ts';
import { setUp, startTestDaemon, type TestDaemon } from '../core/test/daemon.ts';
import { fmt, percentile } from './measure.ts';
import type { PackageBenchHost } from './packages.ts';
import type { Row } from './run.ts';

async function mcpClient(d: TestDaemon, bearer: string): Promise<Client> {
  const client = new Client({ name: 'hearth-bench', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', d.url), { fetch: nodeFetch({ url: d.url, bearer }) }),
  );
  return client;
}

const WARMUP = 300;
const LIST_CALLS = 1000;
const SDK_LIST_CALLS = 100;
const BLOCK = 250;
const ROUNDS = 4;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** POSTs `body` to `url` over `agent` and reads the whole answer (an SSE one ends with its call). */
function post(
  agent: http.Agent,
  url: string,
  headers: Record<string, string>,
  body: object,
): Promise<Answer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(payload)),
          Accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** An MCP session opened by hand: a function that sends one request in it and checks the answer. */
async function rawSession(agent: http.Agent, d: TestDaemon, bearer: string) {
  const url = `${d.url}/mcp`;
  const auth = { Authorization: `Bearer ${bearer}` };
  const init = await post(agent, url, auth, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'bench', version: '1' },
    },
  });
  const session = String(init.headers['mcp-session-id']);
  const headers = { ...auth, 'mcp-session-id': session, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
  await post(agent, url, headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
  let id = 0;
  return async (method: string, params: object = {}): Promise<string> => {
    const a = await post(agent, url, headers, { jsonrpc: '2.0', id: ++id, method, params });
    if (a.status !== 200 || !a.body.includes('"result"') || a.body.includes('"isError":true')) {
      throw new Error(`MCP ${method} failed: HTTP ${a.status} ${a.body.slice(0, 300)}`);
    }
    return a.body;
  };
}

/** Runs `call` `n` times one after another; the latency of each, in ms. */
async function timed(n: number, call: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    out.push(performance.now() - t0);
  }
  return out;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

export async function mcpBench(host: PackageBenchHost): Promise<{ rows: Row[]; notes: string[] }> {
  const d = await startTestDaemon({
    root: host.tempDir('hearth-bench-mcp-'),
    args: ['--mcp-calls-per-minute', '1000000'],
  });
  host.undo(() => d.cleanup());
  await setUp(d);
  const admin = d.client({ bearer: d.localToken });
  const adminToken = (await admin.call('auth.token.create', { name: 'bench mcp admin', scope: 'admin' }))
    .token;
  const readToken = (await admin.call('auth.token.create', { name: 'bench mcp read', scope: 'read' })).token;
  // One connection, as an agent's client would keep.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  host.undo(() => agent.destroy());
  const lister = await rawSession(agent, d, adminToken);
  const caller = await rawSession(agent, d, readToken);
  const rpcHeaders = { Authorization: `Bearer ${readToken}` };
  const callRpc = async () => {
    const a = await post(agent, `${d.url}/rpc/v1`, rpcHeaders, {
      jsonrpc: '2.0',
      id: 1,
      method: 'server.info',
    });
    if (a.status !== 200 || !a.body.includes('"result"')) throw new Error(`server.info failed: ${a.body}`);
  };
  const callTool = () => caller('tools/call', { name: 'server.info', arguments: {} });

  host.say(`mcp: tools/list ×${LIST_CALLS}`);
  await timed(WARMUP, () => lister('tools/list'));
  const list = sorted(await timed(LIST_CALLS, () => lister('tools/list')));
  const listBody = await lister('tools/list');
  const toolCount = (listBody.match(/"inputSchema"/g) ?? []).length;
  // What the SDK's client adds on top of the same list.
  const sdk = await mcpClient(d, adminToken);
  host.undo(() => sdk.close());
  const sdkList = sorted(await timed(SDK_LIST_CALLS, () => sdk.listTools()));
  await sdk.close();

  host.say(`mcp: tools/call vs JSON-RPC, ${ROUNDS} rounds of ${BLOCK}`);
  await timed(WARMUP, callTool);
  await timed(WARMUP, callRpc);
  const mcp: number[] = [];
  const json: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    json.push(...(await timed(BLOCK, callRpc)));
    mcp.push(...(await timed(BLOCK, callTool)));
  }
  const m = sorted(mcp);
  const j = sorted(json);
  // Stopped (and waited for) here, so its CPU time counts as the bench's own in run.ts's note.
  agent.destroy();
  await d.stop();

  const ratio = percentile(m, 50) / percentile(j, 50);
  return {
    rows: [
      {
        metric: `MCP tools/list latency p50 (admin token, ${toolCount} tools)`,
        value: `${fmt(percentile(list, 50), 2)} ms`,
      },
      {
        metric: 'MCP tools/call server.info round trip p50 (read token)',
        value: `${fmt(percentile(m, 50), 2)} ms`,
        baseline: `${fmt(percentile(j, 50), 2)} ms JSON-RPC server.info`,
        ratio: `${fmt(ratio, 2)}× the JSON-RPC time`,
      },
    ],
    notes: [
      `MCP tools/list: p99 ${fmt(percentile(list, 99), 2)} ms over ${LIST_CALLS} calls; the answer is ` +
        `${fmt(listBody.length / 1024, 1)} KiB; through the SDK's client p50 ${fmt(percentile(sdkList, 50), 2)} ms`,
      `MCP tools/call server.info: p99 ${fmt(percentile(m, 99), 2)} ms; JSON-RPC p99 ` +
        `${fmt(percentile(j, 99), 2)} ms (${ROUNDS * BLOCK} calls each, one at a time)`,
    ],
  };
}
