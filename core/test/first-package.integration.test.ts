import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { hostBridge } from '../src/host/bridge.ts';
import { hostLxc } from '../src/host/lxc.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { leaseNetwork, log, lxcSkipReason, restoreAfter } from './lxc-harness.ts';
import { required } from './required.ts';
import { IMAGE_CACHE, REPO } from './services.ts';

/**
 * docs/first-package.md, run as written: every `$ ` line of its shell blocks, in order,
 * in one shell, in a scratch directory whose out/ holds `hearth` (the built binary) and
 * `hearth-sdk`, against a real daemon with real containers.
 */
const GUIDE = path.join(REPO, 'docs/first-package.md');
const NETWORK = leaseNetwork();

/** The commands of the guide: lines starting with `$ ` inside ```sh blocks. */
export function guideCommands(markdown: string): string[] {
  const commands: string[] = [];
  let inShell = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inShell = line.trim() === '```sh' && !inShell;
    else if (inShell && line.startsWith('$ ')) commands.push(line.slice(2));
  }
  return commands;
}

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(REPO, 'out/hearth-sdk')) ? false : 'needs out/hearth-sdk: run `make build`'),
  'the first-package guide test',
);

const undo: (() => unknown)[] = [];
after(async () => {
  for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
});

test('the first-package guide works as written', { skip, timeout: 300_000 }, async () => {
  const d: TestDaemon = await startTestDaemon({
    args: ['--bridge', NETWORK.bridge, '--subnet', NETWORK.subnet, '--nft-table', NETWORK.nftTable],
  });
  undo.push(() => d.cleanup());
  undo.push(async () => {
    await d.kill();
    const lxc = hostLxc({ lxcPath: path.join(d.root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    for (const c of await lxc.list().catch(() => [])) await lxc.destroy(c.name);
    await hostMounts(log).unmountAll(d.root);
    await hostBridge(log).teardown(NETWORK);
  });
  restoreAfter((u) => undo.push(u), ['/etc/subuid', '/etc/subgid', '/proc/sys/net/ipv4/ip_forward']);
  await setUp(d);

  const work = fs.mkdtempSync(path.join(d.root, 'guide-'));
  fs.mkdirSync(path.join(work, 'out'));
  fs.symlinkSync(process.env['HEARTH_BIN']!, path.join(work, 'out/hearth'));
  fs.symlinkSync(path.join(REPO, 'out/hearth-sdk'), path.join(work, 'out/hearth-sdk'));
  // The template's image recipe is hello-world's: found in the build cache, not downloaded.
  fs.mkdirSync(path.join(work, 'cache'));
  fs.symlinkSync(IMAGE_CACHE, path.join(work, 'cache/hearth-sdk'));

  const commands = guideCommands(fs.readFileSync(GUIDE, 'utf8'));
  assert.ok(commands.length >= 15, 'the guide has its commands');
  const script = [
    'set -eu',
    ...commands.map((c) => `echo "+ ${c.replaceAll('"', '\\"').replaceAll('$', '\\$')}"\n${c}`),
  ].join('\n');
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const sh = spawn('bash', ['-c', script], {
      cwd: work,
      env: { ...process.env, HEARTH_ROOT: d.root, XDG_CACHE_HOME: path.join(work, 'cache'), HOME: work },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    sh.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    sh.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    sh.on('close', (c) => resolve({ code: c, output: out }));
  });
  assert.equal(code, 0, output);
  assert.match(output, /Hello from my first package!/, 'the edited page was served');
  assert.match(output, /It works!/, 'the action changed the page');
  assert.deepEqual(await d.client({ bearer: d.localToken }).call('package.list'), []);
});
