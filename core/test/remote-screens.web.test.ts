import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, startBrowser } from './browser.ts';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { assertAccessible, DESKTOP, PHONE, personContext, screenshot, webEnv } from './web-harness.ts';

/*
 * The SSH and VPN screens (Settings → SSH, Settings → VPN) in Debian's Chromium against a
 * real daemon: a key pasted and listed with the fingerprint ssh-keygen gives it, the host
 * keys' fingerprints shown, a VPN device added with its QR code and config file, revoked.
 * axe-core on each, both themes, phone and desktop. The VPN's interface lives in a network
 * namespace of the test's, as in vpn.integration.test.ts, so nothing touches this machine's.
 */

const skip =
  browserSkipReason() ||
  (process.getuid?.() !== 0 ? 'needs root (a network namespace for the VPN)' : false) ||
  (!fs.existsSync('/usr/bin/wireguard-go') ? 'needs wireguard-go (make deps)' : false);
const NS = `hvw-${process.pid}`;

describe('the SSH and VPN screens', { skip }, () => {
  let d: TestDaemon;
  let browser: Browser;
  let tmp: string;
  const undo: (() => Promise<unknown>)[] = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-remote-web-'));
    undo.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));
    execFileSync('ip', ['netns', 'add', NS]);
    undo.push(async () => execFileSync('ip', ['netns', 'del', NS]));
    d = await startTestDaemon({
      env: webEnv(),
      args: [
        ...['--vpn-netns', NS, '--vpn-interface', `wgw${process.pid % 100000}`],
        ...['--vpn-endpoint', 'home.example.org'],
      ],
    });
    // Stopped (not killed) first: its wireguard-go goes with it.
    undo.push(async () => {
      await d.stop();
      await d.cleanup();
    });
    await setUp(d);
    fs.mkdirSync(path.join(d.root, 'home/hearth'), { recursive: true });
    fs.mkdirSync(path.join(d.root, 'etc/ssh'), { recursive: true });
    const hostKey = path.join(d.root, 'etc/ssh/ssh_host_ed25519_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const b = await startBrowser();
    undo.push(b.close);
    browser = b.browser;
  });
  after(async () => {
    for (const u of undo.reverse()) await u().catch(() => {});
  });

  const signIn = async (page: Page) => {
    await page.goto(d.url);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
  };
  const fingerprintOf = (pub: string) =>
    execFileSync('ssh-keygen', ['-l', '-f', pub]).toString().split(' ')[1]!;

  test('an SSH key pasted, listed with its fingerprint, removed; the host key shown', async () => {
    const { page, context, problems } = await personContext(browser);
    await signIn(page);
    await page.goto(`${d.url}/#/settings/ssh`);
    await page.getByText('No SSH keys').waitFor();
    await page.getByText(fingerprintOf(path.join(d.root, 'etc/ssh/ssh_host_ed25519_key.pub'))).waitFor();
    const key = path.join(tmp, 'k');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'anna@laptop', '-f', key]);
    const pub = fs.readFileSync(`${key}.pub`, 'utf8');
    await page.getByLabel('Public key').fill(pub);
    await page.getByRole('button', { name: 'Add key' }).click();
    await page.getByText(fingerprintOf(`${key}.pub`)).waitFor();
    // A line with options before the key is refused in words.
    await page.getByLabel('Public key').fill(`command="id" ${pub}`);
    await page.getByRole('button', { name: 'Add key' }).click();
    await page
      .getByRole('alert')
      .getByText(/no options before it/)
      .waitFor();
    await page.getByRole('button', { name: 'Remove: anna@laptop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await page.getByText('No SSH keys').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a VPN device added with its QR code and config, then revoked', async () => {
    const { page, context, problems } = await personContext(browser);
    await signIn(page);
    await page.goto(`${d.url}/#/settings/vpn`);
    await page.getByText('No devices').waitFor();
    await page.getByLabel('Device name').fill('Anna phone');
    await page.getByLabel('It reaches').selectOption('lan');
    await page.getByRole('button', { name: 'Add device' }).click();
    await page.getByRole('img', { name: 'QR code of the WireGuard config' }).waitFor();
    const href = await page.getByRole('link', { name: 'Download the config' }).getAttribute('href');
    const config = decodeURIComponent(href!.replace(/^data:text\/plain;charset=utf-8,/, ''));
    assert.match(config, /^Endpoint = home\.example\.org:51820$/m);
    assert.match(config, /^\[Interface\]\nPrivateKey = /);
    await page.locator('[data-item="Anna phone"]').getByText('the box and the home network').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke: Anna phone' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('No devices').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  for (const theme of ['light', 'dark'] as const) {
    for (const [width, viewport] of Object.entries({ phone: PHONE, desktop: DESKTOP })) {
      test(`both screens with content under axe, ${theme}, ${width}`, async () => {
        const api = d.client({ bearer: d.localToken });
        const added = await api.call('vpn.peer.add', { name: `laptop-${theme}-${width}` });
        const { page, context } = await personContext(browser, { colorScheme: theme, viewport });
        await signIn(page);
        await page.goto(`${d.url}/#/settings/vpn`);
        await page.getByRole('button', { name: `Show config: ${added.name}` }).click();
        await page.getByRole('img', { name: 'QR code of the WireGuard config' }).waitFor();
        await assertAccessible(page, `vpn (${theme}, ${width})`);
        await screenshot(page, `settings-vpn-${theme}-${width}`);
        await page.goto(`${d.url}/#/settings/ssh`);
        await page.getByText('The box’s host keys').waitFor();
        await assertAccessible(page, `ssh (${theme}, ${width})`);
        await screenshot(page, `settings-ssh-${theme}-${width}`);
        await api.call('vpn.peer.remove', { name: added.name });
        await context.close();
      });
    }
  }
});
