import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, startBrowser } from './browser.ts';
import { PASSWORD, type TestDaemon } from './daemon.ts';
import { leaseNetwork, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { SERVICES } from './services.ts';
import { assertAccessible, freePort, personContext, screenshot, webEnv } from './web-harness.ts';

/*
 * The admin UI as a person uses it, in Debian's Chromium against a real daemon running
 * real packages: sign in, a token, hello-world installed from a file and used, a session
 * killed from elsewhere, the daemon killed and started again under the page, sign out.
 * Every screen on the way is checked with axe-core, and any script error or CSP violation
 * fails the test.
 */

const skip = lxcSkipReason() || browserSkipReason();
const NETWORK = skip ? undefined : leaseNetwork();
const HPK = path.join(SERVICES, 'hello-world.hpk');
const WAIT = { timeout: 90_000 };

describe('the web UI', { skip }, () => {
  let d: TestDaemon;
  let url: string;
  let browser: Browser;
  const undo: (() => Promise<unknown>)[] = [];

  before(async () => {
    const port = await freePort();
    const daemon = await packagesDaemon(NETWORK!, ['--port', String(port)], {
      ...webEnv(),
      HEARTH_METRICS_INTERVAL_SECONDS: '1',
    });
    undo.push(daemon.done);
    d = daemon.d;
    url = `http://127.0.0.1:${port}`;
    assert.equal(d.url, url);
    const b = await startBrowser();
    undo.push(b.close);
    browser = b.browser;
  });
  after(async () => {
    for (const u of undo.reverse()) await u().catch(() => {});
  });

  const signIn = async (page: Page, password = PASSWORD) => {
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  /** /icons/<id>: for callers who may read the box, an SVG under a policy that runs nothing. */
  const iconRules = async () => {
    const anonymous = await fetch(`${url}/icons/hello-world`);
    assert.equal(anonymous.status, 401);
    const auth = { authorization: `Bearer ${d.localToken}` };
    const ok = await fetch(`${url}/icons/hello-world`, { headers: auth });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'image/svg+xml');
    assert.match(ok.headers.get('content-security-policy') ?? '', /default-src 'none'.*sandbox/);
    assert.match(await ok.text(), /<svg/);
    const again = await fetch(`${url}/icons/hello-world`, {
      headers: { ...auth, 'if-none-match': ok.headers.get('etag')! },
    });
    assert.equal(again.status, 304);
    for (const [path, status] of [
      ['/icons/radicale', 404],
      ['/icons/..%2f..%2fetc%2fpasswd', 404],
      ['/icons/hello-world/x', 404],
      ['/icons/Hello', 404],
    ] as const) {
      const r = await fetch(`${url}${path}`, { headers: auth });
      await r.arrayBuffer();
      assert.equal(r.status, status, path);
    }
    const post = await fetch(`${url}/icons/hello-world`, { method: 'POST', headers: auth });
    await post.arrayBuffer();
    assert.equal(post.status, 405);
  };
  const status = (page: Page) => page.locator('.summary .badge').first();

  test('sign in, a token, hello-world from a file, its action and page, stop, sessions, a restart, sign out', async () => {
    const { page, problems } = await personContext(browser);
    try {
      await walk(page, problems);
    } catch (e) {
      // What the page showed when it failed, beside the error.
      await screenshot(page, 'failure').catch(() => {});
      throw e;
    }
  });

  async function walk(page: Page, problems: string[]) {
    // Signing in: a wrong password first.
    await page.goto(url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await assertAccessible(page, 'the sign-in page');
    await screenshot(page, 'login-desktop');
    await signIn(page, 'not the password at all');
    await page.getByRole('alert').filter({ hasText: 'That password is not right.' }).waitFor();
    await signIn(page);
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByText('No services yet').waitFor();
    await assertAccessible(page, 'home without services');

    // An API token: its secret shown once, and it works.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByLabel('What it is for').fill('a script');
    await page.getByRole('button', { name: 'Create the token' }).click();
    const secret = await page.getByLabel('The token: a script').inputValue();
    assert.match(secret, /^hth_/);
    assert.equal((await d.client({ bearer: secret }).call('server.info')).hostname, 'testbox');
    await assertAccessible(page, 'a new token');
    await page.reload();
    await page.locator('[data-item]').filter({ hasText: 'a script' }).waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');

    // hello-world from a file: the upload, the install, its health turning green — no reload.
    await page.getByRole('link', { name: 'Services' }).click();
    await page.getByText('Nothing installed yet').waitFor();
    await page.getByLabel('Package file (.hpk)').setInputFiles(HPK);
    await page.getByRole('button', { name: 'Install' }).click();
    await page.getByRole('heading', { name: 'Hello World' }).waitFor(WAIT);
    await page.locator('[data-check="web"] .badge').filter({ hasText: 'Passing' }).waitFor(WAIT);
    await status(page).filter({ hasText: 'Running' }).waitFor();
    await assertAccessible(page, 'a running service');
    await screenshot(page, 'service-desktop');
    // Its addresses on the LAN, each with a copy box and a QR code.
    const byName = page.locator('[data-addresses="web"] [data-kind="mdns"] input').nth(1);
    await byName.waitFor(WAIT);
    assert.match(await byName.inputValue(), /^https:\/\/testbox-hello-world\.local:\d+\/$/);
    await page
      .locator('[data-addresses="web"] [data-kind="mdns"]')
      .nth(1)
      .getByRole('button', { name: 'QR code' })
      .click();
    await page.getByRole('img', { name: /^QR code of https:\/\/testbox-hello-world\.local:/ }).waitFor();

    // Its action, from the form its JSON Schema makes; then its page says so, through /app.
    await page.getByText('Set greeting').click();
    const field = page.getByLabel('Greeting');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByText('Required.').waitFor();
    await field.fill('Hello from the browser');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('status').filter({ hasText: 'now says “Hello from the browser”' }).waitFor(WAIT);
    const app = await page.context().newPage();
    await app.goto(`${url}/app/hello-world/`);
    await app.getByRole('heading', { name: 'Hello from the browser' }).waitFor();
    await app.close();

    // Stop: the page follows the box, no reload.
    await page.getByRole('button', { name: 'Stop' }).click();
    await status(page).filter({ hasText: 'Stopped' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Start' }).click();
    await page.locator('[data-check="web"] .badge').filter({ hasText: 'Passing' }).waitFor(WAIT);

    // Opening the app signed out: sign in, and land back on the app.
    const second = await personContext(browser, { userAgent: 'Second browser' });
    await second.page.goto(`${url}/app/hello-world/`);
    await second.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(second.page);
    await second.page.getByRole('heading', { name: 'Hello from the browser' }).waitFor(WAIT);
    assert.match(second.page.url(), /\/app\/hello-world\//);

    // A session killed from the first browser sends the second to sign in.
    await second.page.goto(url);
    await second.page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'Password and sign-in' }).click();
    const other = page.locator('[data-session]').filter({ hasText: 'Second browser' });
    await other.getByRole('button', { name: /Sign out/ }).click();
    await other.waitFor({ state: 'detached' });
    await second.page.getByText('Your session has ended. Sign in again.').waitFor(WAIT);
    await assertAccessible(second.page, 'signed out by another browser');
    assert.deepEqual(second.problems, []);
    await second.context.close();

    // The daemon killed under the page, then started again: the page says so and catches up.
    await page.getByRole('link', { name: 'Home' }).click();
    await page.locator('.tile[data-package="hello-world"]').filter({ hasText: 'Running' }).waitFor();
    // Its tile shows the package's own icon, from its .hpk.
    const icon = page.locator('.tile[data-package="hello-world"] img.icon');
    await page.waitForFunction(
      (img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0,
      await icon.elementHandle(),
    );
    await iconRules();
    await d.kill();
    await page.getByText('The connection to the box was lost. Reconnecting…').waitFor(WAIT);
    const restarted = await d.restart();
    undo.push(() => restarted.kill());
    await page.getByText('The box started again.').waitFor(WAIT);
    await restarted.client({ bearer: restarted.localToken }).call('package.stop', { id: 'hello-world' });
    await page.locator('.tile[data-package="hello-world"]').filter({ hasText: 'Stopped' }).waitFor(WAIT);
    await assertAccessible(page, 'home after a restart');

    // Signing out, for good: a reload stays signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(problems, []);
    await page.context().close();
  }
});
