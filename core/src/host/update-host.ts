import { HearthError } from '../errors.ts';
import { callSystemBus } from './system-bus.ts';

/** Reads the update feed: one GET, no redirects, at most `maxBytes`. */
export async function fetchFeed(url: string, maxBytes: number): Promise<Buffer> {
  const failed = (why: string) =>
    new HearthError('download_failed', `could not read the update feed at ${url}: ${why}`, {
      hint: 'check the feed address in the settings and the box’s connection',
    });
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw failed(e instanceof Error ? e.message : String(e));
  }
  if (!response.ok || !response.body) throw failed(`the server answered HTTP ${response.status}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    // One byte over is enough for the parser to say "too large"; the rest is never read.
    if (size > maxBytes) {
      chunks.push(Buffer.from(chunk).subarray(0, maxBytes + 1 - (size - chunk.length)));
      await response.body.cancel().catch(() => {});
      break;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/**
 * Reboots through logind; on the Pi with the firmware's `tryboot` flag ("0 tryboot" as the
 * reboot parameter, what `reboot "0 tryboot"` does), so it reads tryboot.txt once.
 */
export function updateReboot(busAddress?: string): (tryboot: boolean) => Promise<void> {
  const call = (member: string, signature: string, body: unknown[]) =>
    callSystemBus(busAddress, {
      destination: 'org.freedesktop.login1',
      path: '/org/freedesktop/login1',
      interface: 'org.freedesktop.login1.Manager',
      member,
      signature,
      body,
    });
  return async (tryboot) => {
    try {
      if (tryboot) await call('SetRebootParameter', 's', ['0 tryboot']);
      await call('Reboot', 'b', [false]);
    } catch (e) {
      throw new HearthError(
        'power_failed',
        `logind refused the reboot: ${e instanceof Error ? e.message : String(e)}`,
        {
          cause: e,
        },
      );
    }
  };
}
