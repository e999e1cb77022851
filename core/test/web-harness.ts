import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

const REPO = path.resolve(import.meta.dirname, '../..');
const AXE = fs.readFileSync(path.join(REPO, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** Where the browser tests leave their screenshots (a CI artifact). */
export const ARTIFACTS = path.join(REPO, 'out/test-artifacts/web');

/** The env a daemon under test serves the web UI with: the binary's own assets, or out/web from source. */
export function webEnv(): NodeJS.ProcessEnv {
  return process.env['HEARTH_BIN'] ? {} : { HEARTH_WEB_DIR: path.join(REPO, 'out/web') };
}

/** A port free now, for a daemon that must come back on the same one after a restart. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

/**
 * A browser context like a person's: a page that fails the test on a script error or a
 * Content-Security-Policy violation (the pages must need neither inline script nor eval).
 */
export async function personContext(
  browser: Browser,
  o: {
    colorScheme?: 'light' | 'dark';
    viewport?: { width: number; height: number };
    userAgent?: string;
  } = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({
    colorScheme: o.colorScheme ?? 'light',
    viewport: o.viewport ?? DESKTOP,
    ...(o.userAgent ? { userAgent: o.userAgent } : {}),
  });
  const problems: string[] = [];
  context.on('page', (p) => watch(p, problems));
  const page = await context.newPage();
  return { context, page, problems };
}

function watch(page: Page, problems: string[]): void {
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
}

/**
 * axe-core over the page as it is now: no serious or critical violation. axe is evaluated
 * through the DevTools protocol, which the page's CSP does not govern (the page itself
 * could not load it, by design).
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            ctx: unknown,
            o: unknown,
          ) => Promise<{
            violations: {
              id: string;
              impact: string;
              help: string;
              nodes: { target: unknown; failureSummary: string }[];
            }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, {
      resultTypes: ['violations'],
    });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`,
      );
  });
  assert.deepEqual(violations, [], `accessibility of ${what}`);
}

/** A screenshot of the page as `<name>.png` under ARTIFACTS. */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
