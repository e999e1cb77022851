import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { hearthCommand, type TestDaemon } from './daemon.ts';

/**
 * The SDK's own MCP client connected to a test daemon as a given credential: over HTTP to
 * `/mcp`, or through `hearth mcp` (the stdio bridge) — the same tests run over both.
 */
export type Connect = (credential: Credential, capabilities?: ClientCapabilities) => Promise<Client>;

/** An API token or a session token, or root on the box (the local socket, stdio only). */
export type Credential = { bearer: string } | { local: true };

export const httpConnect =
  (d: TestDaemon): Connect =>
  async (credential, capabilities = {}) => {
    const bearer = 'bearer' in credential ? credential.bearer : d.localToken;
    const client = new Client({ name: 'hearth-test', version: '1.0.0' }, { capabilities });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', d.url), {
        requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
      }),
    );
    return client;
  };

export const stdioConnect =
  (d: TestDaemon): Connect =>
  async (credential, capabilities = {}) => {
    const [command, ...pre] = hearthCommand();
    const where =
      'bearer' in credential ? ['--host', d.url, '--token', credential.bearer] : ['--root', d.root];
    const client = new Client({ name: 'hearth-test', version: '1.0.0' }, { capabilities });
    await client.connect(
      new StdioClientTransport({
        command: command!,
        args: [...pre, 'mcp', ...where],
        // Only what the bridge needs: no HEARTH_* from the test's own environment.
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: d.root },
        stderr: 'pipe',
      }),
    );
    return client;
  };

/** The text of a tool result's first content block. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content[0]?.text ?? '';
}
