import { httpConnect } from './mcp-clients.ts';
import { mcpClientTests } from './mcp-suite.ts';

// The SDK's own client against /mcp of a real daemon (the built binary under make test).
mcpClientTests('Streamable HTTP', httpConnect);
