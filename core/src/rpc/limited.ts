import type http from 'node:http';
import type { HearthError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { toRpcError } from './errors.ts';
import { readBody, send } from './http-util.ts';

/*
 * Limited mode (daemon-update.ts `startEarly`): the data drive is missing or unreadable, so
 * nothing that needs the database can run. The daemon still answers — the web UI and the
 * CLI learn what is wrong and what to do — and still tells systemd it is ready, because a
 * missing drive is not the OS's fault: a trial boot must not be taken for a failed one.
 * `setup.status` answers with `limited`; every other method with the problem as its error;
 * pages are the web UI's own, which shows the problem from setup.status.
 */

const MAX_BODY = 64 * 1024;

export function limitedHandler(o: {
  problem: HearthError;
  hostname: () => string;
  page: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}) {
  const limited = {
    code: o.problem.code,
    message: o.problem.message,
    ...(o.problem.hint ? { hint: o.problem.hint } : {}),
  };
  const answer = (call: unknown) => {
    const c = (call && typeof call === 'object' ? call : {}) as { id?: unknown; method?: unknown };
    const id = typeof c.id === 'string' || typeof c.id === 'number' ? c.id : null;
    if (c.method === 'setup.status') {
      return {
        jsonrpc: '2.0',
        id,
        result: { setupComplete: true, hostname: o.hostname(), version: VERSION, limited },
      };
    }
    return {
      jsonrpc: '2.0',
      id,
      error: { ...toRpcError(o.problem), data: { ...toRpcError(o.problem).data, limited: true } },
    };
  };
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/rpc/v1') return o.page(req, res);
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_BODY));
    } catch {
      return send(res, 400, {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'the request body is not valid JSON' },
      });
    }
    // A batch gets one answer per call, bounded like the body.
    send(res, 200, Array.isArray(body) ? body.slice(0, 100).map(answer) : answer(body));
  };
}
