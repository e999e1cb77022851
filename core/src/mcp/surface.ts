import type http from 'node:http';
import type { McpOptions, McpService } from './mcp.ts';

export interface McpSurface {
  handle(req: http.IncomingMessage, res: http.ServerResponse, surface: 'http' | 'local'): Promise<void>;
  close(): Promise<void>;
}

/**
 * `/mcp`, loaded at its first request. The MCP SDK (its protocol schemas, its JSON Schema
 * validator) would otherwise add to every start of the daemon and to its idle memory, for
 * a surface most boxes use rarely or never.
 */
export function mcpSurface(options: McpOptions): McpSurface {
  let service: Promise<McpService> | undefined;
  return {
    handle: async (req, res, surface) => {
      service ??= import('./mcp.ts').then((m) => new m.McpService(options));
      return (await service).handle(req, res, surface);
    },
    close: async () => {
      await (await service)?.close();
    },
  };
}
