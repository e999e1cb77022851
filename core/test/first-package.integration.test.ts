import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HearthClient } from '../src/client/client.ts';
import { nodeTransport } from '../src/client/node-transport.ts';
import { hostBridge } from '../src/host/bridge.ts';
import { hostLxc } from '../src/host/lxc.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { PASSWORD } from './daemon.ts';
import { leaseNetwork, log, lxcSkipReason, restoreAfter } from './lxc-harness.ts';
import { readerEnv, runShell, shellCommands } from './reader-shell.ts';
import { required } from './required.ts';
import { IMAGE_CACHE, REPO } from './services.ts';

/**
 * docs/first-package.md, run as written from a fresh shell in a scratch directory outside
 * the checkout: first the line `make dev` prints for the reader to paste, then every `$ `
 * line of the guide's shell blocks, in order, in one shell — against a daemon started
 * with `make dev`'s own command line (its root and port this test's, and a network of its
 * own), with real containers. The SDK comes from the `make sdk-pack` tarball.
 */
const GUIDE = path.join(REPO, 'docs/first-package.md');
const NETWORK = leaseNetwork();
const SDK_VERSION = (
  JSON.parse(fs.readFileSync(path.join(REPO, 'sdk/package.json'), 'utf8')) as { version: string }
).version;
const TARBALL = path.join(REPO, `out/hearth-sdk-${SDK_VERSION}.tgz`);

/**
 * What `make dev` would run and print, from make itself (`-n`: nothing is built or run
 * here): the daemon's command line and the `export` line for the reader's shell.
 */
function makeDev(vars: Record<string, string>): { argv: string[]; paste: string } {
  const dry = execFileSync(
    'make',
    ['-n', '-s', 'dev', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)],
    { cwd: REPO, encoding: 'utf8' },
  ).split('\n');
  const exec = dry.find((l) => l.startsWith('exec '));
  const paste = dry.map((l) => /^echo '\s*(export .*)'$/.exec(l)?.[1]).find(Boolean);
  assert.ok(exec && paste, `make -n dev:\n${dry.join('\n')}`);
  return { argv: exec.slice('exec '.length).trim().split(/\s+/), paste };
}

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(REPO, 'out/hearth')) ? false : 'needs out/hearth: run `make build`') ||
    (fs.existsSync(TARBALL) ? false : `needs ${path.relative(REPO, TARBALL)}: run \`make sdk-pack\``),
  'the first-package guide test',
);

const undo: (() => unknown)[] = [];
after(async () => {
  for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
});

test('the first-package guide works as written', { skip, timeout: 300_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-guide-'));
  fs.chmodSync(root, 0o711);
  undo.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const { argv, paste } = makeDev({
    DEV_ROOT: root,
    DEV_PORT: '0',
    DEV_FLAGS: `--bridge ${NETWORK.bridge} --subnet ${NETWORK.subnet} --nft-table ${NETWORK.nftTable}`,
  });
  // Its own process group, killed whatever happens (tracked from the spawn).
  const daemon = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let daemonOutput = '';
  for (const stream of [daemon.stdout, daemon.stderr])
    stream.on('data', (b: Buffer) => {
      daemonOutput += b.toString();
    });
  undo.push(async () => {
    const lxc = hostLxc({ lxcPath: path.join(root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    for (const c of await lxc.list().catch(() => [])) await lxc.destroy(c.name);
    await hostMounts(log).unmountAll(root);
    await hostBridge(log).teardown(NETWORK);
  });
  undo.push(async () => {
    if (daemon.exitCode !== null || daemon.signalCode !== null) return;
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    process.kill(-daemon.pid!, 'SIGKILL');
    await exited;
  });
  restoreAfter((u) => undo.push(u), ['/etc/subuid', '/etc/subgid', '/proc/sys/net/ipv4/ip_forward']);

  // The reader finishes the setup wizard at the address make dev printed.
  const infoFile = path.join(root, 'run/hearth/daemon.json');
  for (const deadline = Date.now() + 30_000; !fs.existsSync(infoFile); await sleep(50))
    assert.ok(
      Date.now() < deadline && daemon.exitCode === null,
      `make dev's daemon did not start:\n${daemonOutput}`,
    );
  const { port } = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const { token } = await new HearthClient(nodeTransport({ url })).call('setup.execute', {
    hostname: 'testbox',
    password: PASSWORD,
  });

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-reader-'));
  undo.push(() => fs.rmSync(work, { recursive: true, force: true }));
  // Not part of the guide but of this machine: the template's image recipe is
  // hello-world's, found in the build cache rather than downloaded.
  fs.mkdirSync(path.join(work, 'cache'));
  fs.symlinkSync(IMAGE_CACHE, path.join(work, 'cache/hearth-sdk'));
  const env = readerEnv(work, { XDG_CACHE_HOME: path.join(work, 'cache') });

  const commands = shellCommands(fs.readFileSync(GUIDE, 'utf8'));
  assert.ok(commands.length >= 15, 'the guide has its commands');
  const script = [
    'set -eu',
    ...[paste, ...commands].map((c) => `echo "+ ${c.replaceAll('"', '\\"').replaceAll('$', '\\$')}"\n${c}`),
  ].join('\n');
  const { code, output } = await runShell(script, work, env);
  assert.equal(
    code,
    0,
    `${output}\n--- make dev's daemon ---\n${daemonOutput.split('\n').slice(-30).join('\n')}`,
  );
  assert.match(output, /Hello from my first package!/, 'the edited page was served');
  assert.match(output, /It works!/, 'the action changed the page');
  assert.ok(!fs.existsSync(path.join(work, 'my-packages', 'out')), 'nothing of the checkout was needed');
  // The tarball carries the SDK's types: an editor (here tsc) checks the package against them,
  // and a wrong one is refused — the types are real, not `any`.
  const pkg = path.join(work, 'my-packages', 'my-site', 'hearth.package.ts');
  const typecheck = (file: string) =>
    spawnSync(
      process.execPath,
      [
        path.join(REPO, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        ...['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--strict'],
        ...['--allowImportingTsExtensions', '--skipLibCheck'],
        ...['--typeRoots', path.join(REPO, 'node_modules/@types'), '--types', 'node'],
        file,
      ],
      { encoding: 'utf8' },
    );
  const good = typecheck(pkg);
  assert.equal(good.status, 0, `${good.stdout}${good.stderr}`);
  const wrong = path.join(path.dirname(pkg), 'wrong.ts');
  fs.writeFileSync(wrong, "import { definePackage } from '@hearth/sdk';\ndefinePackage({ id: 42 });\n");
  const bad = typecheck(wrong);
  assert.notEqual(bad.status, 0, 'a package of the wrong shape typechecks');
  assert.match(bad.stdout, /wrong\.ts\(2,/);
  const admin = new HearthClient(nodeTransport({ url, bearer: token }));
  assert.deepEqual(await admin.call('package.list'), []);
});
