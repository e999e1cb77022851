import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, startBrowser } from './browser.ts';
import { PASSWORD, startTestDaemon, type TestDaemon } from './daemon.ts';
import { leaseNetwork, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { SERVICES } from './services.ts';
import { assertAccessible, DESKTOP, PHONE, personContext, screenshot, webEnv } from './web-harness.ts';

/*
 * `make test-web`: every screen of the wizard and the admin UI, in the light and the dark
 * theme, at phone and desktop width — axe-core finds no serious or critical violation on
 * any, and each is written as a screenshot (out/test-artifacts/web/<screen>-<theme>-<width>.png).
 */

const skip = lxcSkipReason() || browserSkipReason();
const NETWORK = skip ? undefined : leaseNetwork();
const THEMES = ['light', 'dark'] as const;
const WIDTHS = { phone: PHONE, desktop: DESKTOP };

/** The admin UI's screens: a route, and what shows once it has loaded. */
const SCREENS: [name: string, route: string, ready: (p: Page) => Promise<unknown>][] = [
  ['home', '/', (p) => p.locator('.tile[data-package="hello-world"]').waitFor()],
  ['services', '/services', (p) => p.locator('tr[data-package="hello-world"]').waitFor()],
  ['service', '/services/hello-world', (p) => p.locator('[data-check="web"]').waitFor()],
  ['notifications', '/notifications', (p) => p.getByText('A note for the screens').first().waitFor()],
  ['backups', '/backups', (p) => p.getByText('No backup targets').waitFor()],
  ['settings-box', '/settings/box', (p) => p.getByText('Hearth version').waitFor()],
  ['settings-security', '/settings/security', (p) => p.locator('[data-session]').first().waitFor()],
  ['settings-tokens', '/settings/tokens', (p) => p.locator('[data-item]').first().waitFor()],
  [
    'settings-notifications',
    '/settings/notifications',
    (p) => p.getByText('Where notifications go').waitFor(),
  ],
  ['settings-signers', '/settings/signers', (p) => p.getByText('Hearth development').waitFor()],
  ['settings-domains', '/settings/domains', (p) => p.getByText('No custom domains').waitFor()],
  ['settings-system', '/settings/system', (p) => p.getByText('Recent activity').waitFor()],
  ['settings-audit', '/settings/audit', (p) => p.locator('tbody tr').first().waitFor()],
  ['settings-trust', '/settings/trust', (p) => p.locator('a[href="/hearth-ca.crt"]').waitFor()],
  ['settings-updates', '/settings/updates', (p) => p.getByText('cannot update itself in place').waitFor()],
];

describe('every screen, both themes, phone and desktop', { skip }, () => {
  let admin: TestDaemon;
  let fresh: TestDaemon;
  let browser: Browser;
  const undo: (() => Promise<unknown>)[] = [];

  before(async () => {
    const daemon = await packagesDaemon(NETWORK!, [], { ...webEnv(), HEARTH_METRICS_INTERVAL_SECONDS: '1' });
    undo.push(daemon.done);
    admin = daemon.d;
    const api = admin.client({ bearer: admin.localToken });
    await api.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await api.call('notification.create', {
      title: 'A note for the screens',
      message: 'Shown on every width.',
    });
    await api.call('auth.token.create', { name: 'screens', scope: 'read' });
    fresh = await startTestDaemon({ env: webEnv() });
    undo.push(() => fresh.cleanup());
    const b = await startBrowser();
    undo.push(b.close);
    browser = b.browser;
  });
  after(async () => {
    for (const u of undo.reverse()) await u().catch(() => {});
  });

  test('signing in and finding a service by keyboard alone, the focus always visible', async () => {
    const { page, context, problems } = await personContext(browser);
    await page.goto(admin.url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // The password field has the focus: type, Enter.
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    const focused = () =>
      page.evaluate(() => {
        // In the page: the DOM's globals (this file is typed for Node).
        const g = globalThis as unknown as {
          document: { activeElement: { textContent: string | null } | null };
          getComputedStyle: (e: unknown) => { outlineStyle: string };
        };
        const el = g.document.activeElement;
        return {
          text: el?.textContent?.trim() ?? '',
          outline: el ? g.getComputedStyle(el).outlineStyle : 'none',
        };
      });
    let found = false;
    for (let i = 0; i < 15 && !found; i++) {
      await page.keyboard.press('Tab');
      const f = await focused();
      assert.notEqual(f.outline, 'none', `the focus on “${f.text}” is visible`);
      found = f.text === 'Services';
    }
    assert.ok(found, 'Services is reachable by Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Services' }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a screen whose code cannot be fetched says so and offers a reload; shown again, it loads', async () => {
    const { page, context } = await personContext(browser);
    await page.goto(admin.url);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    // The box was updated since the tab opened: the screen's chunk is gone.
    await page.route('**/assets/chunk-*.js', (r) => r.fulfill({ status: 404, body: 'gone' }));
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('alert').getByText('This page could not be loaded').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Reload' }).count(), 1);
    await page.unroute('**/assets/chunk-*.js');
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: /Settings/ }).waitFor();
    await context.close();
  });

  for (const theme of THEMES) {
    for (const [width, viewport] of Object.entries(WIDTHS)) {
      test(`the wizard, ${theme}, ${width}`, async () => {
        const { page, context } = await personContext(browser, { colorScheme: theme, viewport });
        const shot = async (name: string) => {
          await assertAccessible(page, `${name} (${theme}, ${width})`);
          await screenshot(page, `${name}-${theme}-${width}`);
        };
        await page.goto(fresh.url);
        await page.getByRole('heading', { name: 'Welcome to your Hearth box' }).waitFor();
        await shot('wizard-welcome');
        await page.getByRole('button', { name: 'Start' }).click();
        await page.getByRole('heading', { name: 'Where should the box keep its data?' }).waitFor();
        await page.locator('.choice').first().waitFor();
        await shot('wizard-drive');
        await page.getByLabel('On the disk Hearth runs from now').check();
        await page.getByRole('button', { name: 'Next' }).click();
        await page.getByLabel('Password', { exact: true }).fill('short');
        await page.getByRole('button', { name: 'Set up the box' }).click();
        await page.getByText('7 more characters needed.').waitFor();
        await shot('wizard-identity');
        await context.close();
      });

      test(`the admin UI, ${theme}, ${width}`, async () => {
        const { page, context } = await personContext(browser, { colorScheme: theme, viewport });
        await page.goto(admin.url);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await assertAccessible(page, `sign-in (${theme}, ${width})`);
        await screenshot(page, `login-${theme}-${width}`);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Home' }).waitFor();
        for (const [name, route, ready] of SCREENS) {
          await page.goto(`${admin.url}/#${route}`);
          await ready(page);
          await assertAccessible(page, `${name} (${theme}, ${width})`);
          await screenshot(page, `${name}-${theme}-${width}`);
        }
        // The dialogs too: uninstall asks for the package's id.
        await page.goto(`${admin.url}/#/services/hello-world`);
        await page.getByRole('button', { name: 'Uninstall…' }).click();
        await page.getByRole('dialog').getByText('Type hello-world to confirm').waitFor();
        await assertAccessible(page, `the uninstall dialog (${theme}, ${width})`);
        await screenshot(page, `uninstall-dialog-${theme}-${width}`);
        await context.close();
      });
    }
  }
});
