import type http from 'node:http';

/**
 * node:http ↔ the web-standard Request and Response the SDK's transport speaks. The SDK's
 * own node wrapper goes through `@hono/node-server`; this one is short, and lets `/mcp` read
 * the body under its limit before the SDK sees it and keep long-lived streams countable.
 */

/** Where a response's stream is counted while it is open: the idle sweep spares a session with one. */
export interface StreamCount {
  open: number;
  lastSeen: number;
}

export function toWebRequest(req: http.IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  // The body was read already (parsedBody): the transport never reads it again.
  return new Request(new URL(req.url ?? '/mcp', 'http://hearth'), { method: req.method ?? 'GET', headers });
}

/** Writes a web Response (JSON, or an SSE stream) to node:http, until either side ends. */
export async function pipeResponse(
  response: Response,
  res: http.ServerResponse,
  streams: StreamCount,
): Promise<void> {
  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  res.flushHeaders();
  streams.open += 1;
  const reader = response.body.getReader();
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  void closed.then(() => reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await Promise.race([new Promise((r) => res.once('drain', r)), closed]);
    }
  } catch {
    // The client went away, or the session ended: the stream just stops.
  } finally {
    streams.open -= 1;
    streams.lastSeen = Date.now();
    res.end();
  }
}
