import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { parseMountInfo } from '../src/host/lxc-parse.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { run } from '../src/host/run.ts';
import { silentLogger } from '../src/log/log.ts';
import { browserSkipReason, startBrowser } from './browser.ts';
import { PASSWORD, startTestDaemon, type TestDaemon } from './daemon.ts';
import { assertAccessible, PHONE, personContext, screenshot, webEnv } from './web-harness.ts';

/*
 * The setup wizard as a person meets it on a new box, in Debian's Chromium: a drive that
 * holds photos chosen as the data drive (erasing it takes typing "erase"), the name and
 * password, the daemon's own steps while it partitions, formats and copies, the restart in
 * place onto the new drive, and the admin UI signed in at the end. The drives are loop
 * devices this test attaches and detaches (a --dev daemon writes to nothing else).
 */

const skip =
  browserSkipReason() ||
  (process.getuid?.() === 0 && fs.existsSync('/dev/loop-control') ? false : 'needs root and loop devices');
const GiB = 1024 ** 3;

describe('the setup wizard', { skip }, () => {
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-wizard-test-'));
  const attached: string[] = [];
  let d: TestDaemon | undefined;
  let browser: Browser;
  let closeBrowser = async () => {};

  const attach = async (name: string) => {
    const file = path.join(files, `${name}.img`);
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 2 * GiB);
    const device = (await run(['losetup', '--find', '--show', '--partscan', file])).stdout.trim();
    attached.push(device);
    return device;
  };

  before(async () => {
    d = await startTestDaemon({ env: webEnv() });
    const b = await startBrowser();
    browser = b.browser;
    closeBrowser = b.close;
  });
  after(async () => {
    await closeBrowser();
    if (d) {
      await d.kill();
      await hostMounts(silentLogger)
        .unmountAll(d.root)
        .catch(() => {});
      await d.cleanup();
    }
    for (const device of attached) await run(['losetup', '--detach', device]).catch(() => {});
    fs.rmSync(files, { recursive: true, force: true });
  });

  test('welcome → a drive with photos, erased on a typed word → name and password → the real steps → signed in', async () => {
    const photos = await attach('photos');
    await run(['mkfs.ext4', '-q', '-L', 'photos', photos]);
    const { page, problems } = await personContext(browser, { viewport: PHONE });
    try {
      await walk(page, photos);
    } catch (e) {
      await screenshot(page, 'wizard-failure').catch(() => {});
      throw e;
    }
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  async function walk(page: Page, drive: string) {
    await page.goto(d!.url);
    await page.getByRole('heading', { name: 'Welcome to your Hearth box' }).waitFor();
    await assertAccessible(page, 'the welcome step');
    await screenshot(page, 'wizard-welcome-phone');
    await page.getByRole('button', { name: 'Start' }).click();

    await page.getByRole('heading', { name: 'Where should the box keep its data?' }).waitFor();
    const choice = page.locator('.choice').filter({ hasText: drive });
    await choice.getByText('Something is on it. Using it erases everything on it.').waitFor();
    await assertAccessible(page, 'the drive step');
    await choice.locator('input').check();
    await screenshot(page, 'wizard-drive-phone');
    await page.getByRole('button', { name: 'Next' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Everything on this drive will be erased').waitFor();
    const erase = dialog.getByRole('button', { name: 'Erase it' });
    assert.equal(await erase.isDisabled(), true, 'erasing waits for the typed word');
    await dialog.getByLabel('Type erase to confirm').fill('erase');
    await erase.click();

    await page.getByRole('heading', { name: 'Name your box and protect it' }).waitFor();
    await page.getByLabel('Box name').fill('wizardbox');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Set up the box' }).click();
    await page.getByText('7 more characters needed.').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password again').fill(`${PASSWORD}!`);
    await page.getByText('The two passwords are not the same.').waitFor();
    await page.getByLabel('Password again').fill(PASSWORD);
    await assertAccessible(page, 'the name and password step');
    await screenshot(page, 'wizard-identity-phone');
    await page.getByRole('button', { name: 'Set up the box' }).click();

    // The daemon's own steps, as it reports them.
    await page.getByRole('heading', { name: 'Setting up your box' }).waitFor();
    await page.getByText('Formatting it').waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Your box is ready' }).waitFor({ timeout: 120_000 });
    await page.getByRole('link', { name: 'http://wizardbox.local' }).waitFor();
    await assertAccessible(page, 'the done step');
    await screenshot(page, 'wizard-done-phone');

    // The data is on the drive now, and the browser is signed in.
    const root = path.join(d!.root, 'var/lib/hearth');
    const mount = parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))
      .filter((m) => m.mountPoint === root)
      .at(-1);
    assert.ok(mount?.source?.startsWith(drive), `the data is on ${drive} (${mount?.source})`);
    await page.getByRole('button', { name: 'Open your box' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    // The name comes with the state document, once the live connection is up.
    await page.locator('.brand').filter({ hasText: 'wizardbox' }).waitFor();
    await assertAccessible(page, 'home on a phone');
    await screenshot(page, 'home-phone');
  }
});
