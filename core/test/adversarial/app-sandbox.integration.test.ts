import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserSkipReason, startBrowser } from '../browser.ts';
import { PASSWORD, type TestDaemon, untilHealthy } from '../daemon.ts';
import { leaseNetwork, lxcSkipReason, packagesDaemon } from '../lxc-harness.ts';
import { required } from '../required.ts';
import { packVariant, SERVICES } from '../services.ts';

const NETWORK = leaseNetwork();

const skip = required(
  lxcSkipReason() ||
    browserSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`'),
  'the package page sandbox test',
);

/**
 * What a script in a package's page tries against the box that serves it under /app/:
 * the admin API with the owner's cookie (as a JSON call, as a simple POST, as a read),
 * the cookie itself and the origin's storage. It writes what happened into the page.
 */
const HOSTILE_PAGE = `<div id=out>pending</div><script>
(async () => {
  const r = {};
  const body = (method, params) => JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  const attempt = async (name, init) => {
    try {
      const res = await fetch('/rpc/v1', { method: 'POST', credentials: 'include', ...init });
      r[name] = res.status + ' ' + (await res.text()).slice(0, 300);
    } catch (e) { r[name] = 'blocked'; }
  };
  await attempt('admin', { headers: { 'content-type': 'application/json', 'x-hearth-request': '1' }, body: body('auth.token.create', { name: 'stolen', scope: 'admin' }) });
  await attempt('simple', { headers: { 'content-type': 'text/plain' }, body: body('auth.token.create', { name: 'stolen2', scope: 'admin' }) });
  await attempt('read', { headers: { 'content-type': 'application/json' }, body: body('auth.token.list', {}) });
  try { r.own = (await fetch('./')).status; } catch (e) { r.own = 'blocked'; }
  try { r.cookie = document.cookie; } catch (e) { r.cookie = 'blocked'; }
  try { localStorage.setItem('x', '1'); r.storage = 'ok'; } catch (e) { r.storage = 'blocked'; }
  document.getElementById('out').textContent = JSON.stringify(r);
})();
</script>`;

describe('a package’s page under /app/', { skip }, () => {
  let d: TestDaemon;
  let done: () => Promise<void>;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-sandbox-'));
  before(async () => {
    ({ d, done } = await packagesDaemon(NETWORK));
  });
  after(async () => {
    await done?.();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('cannot call the box’s API with the owner’s cookie, nor read it', async () => {
    const admin = d.client({ bearer: d.localToken });
    // hello-world that does not escape its greeting: the page is whatever the action says.
    const file = await packVariant(
      'hello-world',
      work,
      [
        ['max(200)', 'max(5000)'],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the package's source text, replaced as it is
        ['greeting.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)', 'greeting'],
      ],
      path.join(work, 'hostile.hpk'),
    );
    const installed = Date.now();
    await admin.call('package.install', { path: file });
    await untilHealthy(admin, 'hello-world', { since: installed, timeoutMs: 90_000, pollMs: 500 });
    await admin.call('package.action.run', {
      id: 'hello-world',
      action: 'set-greeting',
      input: { greeting: HOSTILE_PAGE },
    });

    const { token } = await d.client().call('auth.login', { password: PASSWORD });
    const { browser, close } = await startBrowser();
    try {
      const context = await browser.newContext();
      await context.addCookies([
        { name: 'hearth_session', value: token, url: d.url, httpOnly: true, sameSite: 'Strict' },
      ]);
      const page = await context.newPage();
      const response = await page.goto(`${d.url}/app/hello-world/`);
      assert.match(response?.headers()['content-security-policy'] ?? '', /sandbox/);
      // The owner's cookie opened it; the page itself lives under a capability path.
      assert.match(page.url(), /\/app\/hello-world\/~s[0-9a-f]+\.[\w-]{22}\/$/);
      await page.waitForFunction("document.getElementById('out')?.textContent !== 'pending'", null, {
        timeout: 30_000,
      });
      const result = JSON.parse((await page.textContent('#out')) ?? '{}') as Record<string, unknown>;
      // The API, the cookie and the box's storage are out of reach; the package's own
      // pages are not.
      assert.deepEqual(result, {
        admin: 'blocked',
        simple: 'blocked',
        read: 'blocked',
        own: 200,
        cookie: 'blocked',
        storage: 'blocked',
      });
      // Once the session ends, so does the capability.
      const capability = page.url();
      await d.client({ bearer: token }).call('auth.logout');
      assert.equal((await fetch(capability)).status, 401);
    } finally {
      await close();
    }
    // And on the box's side: no token was made, whatever the page could not read.
    const tokens = await admin.call('auth.token.list');
    assert.deepEqual(
      tokens.filter((t) => t.name.startsWith('stolen')),
      [],
    );
  });
});
