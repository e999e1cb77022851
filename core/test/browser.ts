import fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium: browser tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

export function browserSkipReason(): string | false {
  return fs.existsSync(CHROMIUM) ? false : `needs Debian's chromium (${CHROMIUM}): apt-get install chromium`;
}

/**
 * Starts headless Chromium (as root: without its sandbox) and connects to it. Without the
 * background-networking flags it tries to reach Google's services, which this machine's
 * closed network refuses. `close` ends it, and kills it by PID if it does not go.
 */
export async function startBrowser(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const server = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint()).catch(async (e: unknown) => {
    await server.kill();
    throw e;
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    },
  };
}
