import type http from 'node:http';
import type { McpOptions, McpService } from './mcp.ts';

export interface McpSurface {
  handle(req: http.IncomingMessage, res: http.ServerResponse, surface: 'http' | 'local'): Promise<void>;
  close(): Promise<void>;
  /** Ends sessions whose credential has ended (nothing to do before the first request). */
  recheck(): void;
}

/**
 * `/mcp`, loaded at its first request. The MCP SDK (its protocol schemas, its JSON Schema
 * validator) would otherwise add to every start of the daemon and to its idle memory, for
 * a surface most boxes use rarely or never.
 */
export function mcpSurface(options: McpOptions): McpSurface {
  let service: Promise<McpService> | undefined;
  let loaded: McpService | undefined;
  return {
    handle: async (req, res, surface) => {
      service ??= import('./mcp.ts').then((m) => {
        loaded = new m.McpService(options);
        return loaded;
      });
      return (await service).handle(req, res, surface);
    },
    recheck: () => loaded?.recheck(),
    close: async () => {
      await (await service)?.close();
    },
  };
}
