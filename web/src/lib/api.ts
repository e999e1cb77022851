import { HearthClient, RpcError } from '../../../core/src/client/client.ts';

export type { ParamsOf, ResultOf } from '../../../core/src/client/client.ts';
export type { MethodName } from '../../../core/src/rpc/methods.ts';
export { RpcError };

/**
 * The box's API over HTTP (`POST /rpc/v1`), with the session cookie: the typed client the
 * whole UI calls through. Method names appear only as its arguments; their params and
 * results are the registry's own types (`import type`: no schema reaches the bundle).
 */
export const api = new HearthClient(async (body) => {
  let res: Response;
  try {
    res = await fetch('/rpc/v1', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Hearth-Request': '1' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
  } catch {
    throw new RpcError({ code: -32000, message: 'the box does not answer', data: { code: 'unreachable' } });
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new RpcError({
      code: -32000,
      message: `the box answered HTTP ${res.status}`,
      data: { code: 'bad_answer' },
    });
  }
});

/** Seconds to wait from an error that says so (`rate_limited`: `data.retryAfterSeconds`). */
export function retryAfterOf(e: unknown): number | undefined {
  if (!(e instanceof RpcError)) return undefined;
  const s = e.data['retryAfterSeconds'];
  return typeof s === 'number' ? Math.ceil(s) : undefined;
}
