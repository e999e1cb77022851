import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { packHpk } from '#sdk/hpk/pack.ts';
import { keygen, loadSigningKey } from '#sdk/keys.ts';
import type { ManifestInput } from '#sdk/manifest.ts';
import { sampleFiles, sampleManifest, tempDir } from '#sdk/testing/fixtures.ts';
import { Events } from '../events/events.ts';
import { idRangeForSlot } from '../host/containers.ts';
import { copyTree } from '../host/copy.ts';
import { FakeLxc } from '../host/fake-lxc.ts';
import type { Mounts } from '../host/mounts.ts';
import { silentLogger } from '../log/log.ts';
import { Notifications } from '../notifications/notifications.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import type { Channels } from './effects-host.ts';
import { Packages } from './packages.ts';
import { Signers } from './signers.ts';

const noMounts = {
  listMounts: async () => [],
  unmountAll: async () => {},
  unmount: async () => {},
} as unknown as Mounts;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A runtime that answers migrate as the test says, and records what it was asked. */
function fakeChannels(migrate: (params: { from: string; to: string }) => Promise<unknown>) {
  const calls: string[] = [];
  const peer = {
    call: async (method: string, params: { from: string; to: string }) => {
      calls.push(method);
      return method === 'runtime.migrate' ? migrate(params) : { ok: true };
    },
  };
  return {
    calls,
    channels: {
      peer: () => peer,
      waitForPeer: async () => peer,
      beforeStart: (_id: string, work: (p: typeof peer) => Promise<unknown>) => work(peer),
    } as unknown as Channels,
  };
}

async function setup(
  options: { freeBytes?: number; minFreeBytes?: number; channels?: Channels; hearthVersion?: string } = {},
) {
  const root = await tempDir('hearth-packages-');
  dirs.push(root);
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  const signers = new Signers({ db });
  const lxc = new FakeLxc();
  const events = new Events({ db, retentionDays: 30 });
  const packages = new Packages({
    db,
    state,
    notifications: new Notifications({ db, state }),
    events,
    signers,
    lxc,
    mounts: noMounts,
    log: silentLogger,
    packagesDir: path.join(root, 'packages'),
    arch: 'x86_64',
    subnet: '10.73.0.0/24',
    prepareContainer: async () => ({
      arch: 'x86_64',
      network: { bridge: 'hearth0', subnet: '10.73.0.0/24', nftTable: 'hearth' },
      hearthBinary: '/usr/bin/hearth',
      runtime: { dir: '/rt', digest: 'x', loader: null },
      socketsDir: '/run/hearth/packages',
    }),
    specFor: (pkg, d, address, env) => ({
      name: `hearth-${pkg.id}`,
      image: path.join(d.version, 'images/x86_64/main.squashfs'),
      dataDir: d.container,
      idmap: idRangeForSlot(pkg.slot),
      volumes: pkg.manifest.volumes.map((v) => ({ source: path.join(d.volumes, v.id), target: v.mountPath })),
      hearthBinary: env.hearthBinary,
      init: ['/usr/lib/hearth/hearth', 'container-runtime'],
      memoryMiB: 64,
      cpus: 1,
      network: { bridge: 'hearth0', subnet: '10.73.0.0/24', address },
    }),
    freeBytes: async () => options.freeBytes ?? 1e12,
    ...(options.minFreeBytes ? { minFreeBytes: options.minFreeBytes } : {}),
    // No runtime here: nothing to wait for (a real one connects when its container starts).
    channels:
      options.channels ??
      ({
        peer: () => undefined,
        waitForPeer: () => Promise.reject(new Error('no runtime')),
      } as unknown as Channels),
    copyTree,
    ...(options.hearthVersion ? { hearthVersion: options.hearthVersion } : {}),
  });
  const key = await keygen(path.join(root, 'signing.key'));
  const pack = async (manifest: Partial<ManifestInput> = {}) => {
    const work = await tempDir();
    dirs.push(work);
    const files = await sampleFiles(work);
    const out = path.join(work, 'p.hpk');
    await packHpk({
      out,
      manifest: sampleManifest({ dependencies: [], ...manifest }),
      ...files,
      key: await loadSigningKey(key.file),
    });
    return out;
  };
  return { root, db, state, signers, lxc, packages, events, key, pack };
}

test('install verifies, unpacks and records; reconcile creates and starts the container', async () => {
  const s = await setup();
  s.signers.add(s.key.publicKey, 'us');
  const pkg = await s.packages.install(await s.pack(), { allowUntrusted: false, start: true });
  assert.equal(pkg.phase, 'installed');
  assert.equal(pkg.desired, 'running');
  const base = path.join(s.root, 'packages/hello-world');
  assert.ok(fs.existsSync(path.join(base, 'versions/1.2.0/manifest.json')));
  assert.ok(fs.existsSync(path.join(base, 'versions/1.2.0/images/x86_64/main.squashfs')));
  assert.ok(!fs.existsSync(path.join(base, 'versions/1.2.0/images/arm64')), 'only this box’s architecture');
  assert.ok(fs.statSync(path.join(base, 'volumes/data')).isDirectory());
  assert.deepEqual(s.lxc.calls, ['create hearth-hello-world', 'start hearth-hello-world']);
  const published = s.state.get('packages', 'hello-world') as { address: string; phase: string };
  assert.equal(published.address, '10.73.0.2');
  assert.equal(published.phase, 'installed');
});

test('an unknown signer, an unmet dependency or too little space refuse with nothing left behind', async () => {
  const s = await setup();
  const file = await s.pack();
  await assert.rejects(s.packages.install(file, { allowUntrusted: false, start: true }), {
    code: 'hpk_unknown_signer',
  });
  s.signers.add(s.key.publicKey, 'us');
  const needsDb = await s.pack({
    dependencies: [{ id: 'postgres', versionRange: '^15.2', requireRunning: true }],
  });
  await assert.rejects(s.packages.install(needsDb, { allowUntrusted: false, start: true }), {
    code: 'dependency_unmet',
    message: /postgres \^15\.2 is not installed/,
  });
  assert.deepEqual(s.packages.list(), []);
  const left = fs.existsSync(path.join(s.root, 'packages'))
    ? fs.readdirSync(path.join(s.root, 'packages'))
    : [];
  assert.deepEqual(left, []);

  const full = await setup({ freeBytes: 1000 });
  full.signers.add(full.key.publicKey, 'us');
  await assert.rejects(full.packages.install(await full.pack(), { allowUntrusted: false, start: true }), {
    code: 'not_enough_space',
  });
  assert.deepEqual(full.lxc.calls, []);

  // Room for the package, but not for it and what the box keeps free.
  const tight = await setup({ freeBytes: 600 * 1048576, minFreeBytes: 512 * 1048576 });
  tight.signers.add(tight.key.publicKey, 'us');
  await assert.rejects(tight.packages.install(await tight.pack(), { allowUntrusted: false, start: true }), {
    code: 'not_enough_space',
    message: /the data drive has 600 MiB free; this needs \d+ MiB and the box keeps 512 MiB free/,
  });
  assert.deepEqual(tight.lxc.calls, []);
  const [refused] = tight.events.list({ limit: 10 });
  assert.deepEqual(
    [refused!.package, refused!.kind, refused!.detail.operation, refused!.detail.code],
    ['hello-world', 'failed', 'installed', 'not_enough_space'],
  );
});

test('every operation is an event of its package, and so is each step the loop takes by itself', async () => {
  const s = await setup();
  s.signers.add(s.key.publicKey, 'us');
  await s.packages.install(await s.pack(), { allowUntrusted: false, start: true });
  await s.packages.setDesired('hello-world', 'stopped');
  await s.packages.setDesired('hello-world', 'running');
  await s.packages.restart('hello-world');
  // A crash: the container stops with no step of ours; the pass sees it (and backs off).
  await s.lxc.stop('hearth-hello-world');
  await s.packages.reconcile();
  await assert.rejects(s.packages.restart('nope'), { code: 'not_found' });
  await s.packages.uninstall('hello-world', { keepData: false, force: false });
  assert.deepEqual(
    s.events
      .list({ limit: 50 })
      .reverse()
      .map((e) => [e.package, e.kind, e.detail.step ?? e.detail.operation ?? e.detail.version ?? null]),
    [
      ['hello-world', 'reconciled', 'create-container'],
      ['hello-world', 'reconciled', 'start'],
      ['hello-world', 'installed', '1.2.0'],
      ['hello-world', 'reconciled', 'stop'],
      ['hello-world', 'stopped', null],
      ['hello-world', 'reconciled', 'start'],
      ['hello-world', 'started', null],
      ['hello-world', 'restarted', null],
      ['hello-world', 'crashed', null],
      ['nope', 'failed', 'restarted'],
      ['hello-world', 'removed', null],
    ],
  );
});

test('a package that needs a newer Hearth is refused before anything is unpacked', async () => {
  const s = await setup({ hearthVersion: '0.1.0' });
  s.signers.add(s.key.publicKey, 'us');
  await assert.rejects(
    s.packages.install(await s.pack({ minHearthVersion: '99.0.0' }), { allowUntrusted: false, start: true }),
    { code: 'hearth_too_old', message: /needs Hearth 99\.0\.0 or newer/ },
  );
  assert.deepEqual(s.lxc.calls, []);
  assert.equal(
    (
      await s.packages.install(await s.pack({ minHearthVersion: '0.1.0' }), {
        allowUntrusted: false,
        start: false,
      })
    ).version,
    '1.2.0',
  );
});

test('an action’s input schema is what the package declared', async () => {
  const s = await setup();
  s.signers.add(s.key.publicKey, 'us');
  const input = { type: 'object', properties: { phrase: { type: 'string', writeOnly: true } } };
  await s.packages.install(
    await s.pack({
      actions: [{ id: 'unlock', name: 'Unlock', description: 'd', input, allowedStatuses: ['running'] }],
    }),
    { allowUntrusted: false, start: false },
  );
  assert.deepEqual(s.packages.actionInputSchema('hello-world', 'unlock'), input);
  assert.equal(s.packages.actionInputSchema('hello-world', 'other'), undefined);
  assert.equal(s.packages.actionInputSchema('nothing', 'unlock'), undefined);
  assert.equal(s.packages.actionInputSchema({ id: 1 }, 'unlock'), undefined);
});

test('allowUntrusted installs an unknown signer’s package; installing twice is a conflict', async () => {
  const s = await setup();
  const file = await s.pack();
  const pkg = await s.packages.install(file, { allowUntrusted: true, start: false });
  assert.equal(pkg.signer, s.key.publicKey);
  assert.deepEqual(s.lxc.calls, ['create hearth-hello-world'], 'created, not started');
  await assert.rejects(s.packages.install(file, { allowUntrusted: true, start: false }), {
    code: 'conflict',
  });
});

test('desired state drives the container; uninstall respects dependents and keepData', async () => {
  const s = await setup();
  s.signers.add(s.key.publicKey, 'us');
  await s.packages.install(await s.pack({ id: 'db' }), { allowUntrusted: false, start: true });
  await s.packages.install(
    await s.pack({ id: 'app', dependencies: [{ id: 'db', versionRange: '*', requireRunning: true }] }),
    { allowUntrusted: false, start: true },
  );
  await assert.rejects(s.packages.setDesired('nope', 'running'), { code: 'not_found' });
  await s.packages.setDesired('db', 'stopped');
  assert.equal(s.lxc.containers.get('hearth-db')!.state, 'STOPPED');

  await assert.rejects(s.packages.uninstall('db', { keepData: false, force: false }), {
    code: 'conflict',
    message: /app depends on db/,
  });
  fs.writeFileSync(path.join(s.root, 'packages/app/volumes/data/notes.txt'), 'keep me');
  await s.packages.uninstall('app', { keepData: true, force: false });
  assert.deepEqual(fs.readdirSync(path.join(s.root, 'packages/app')), ['volumes']);
  assert.equal(fs.readFileSync(path.join(s.root, 'packages/app/volumes/data/notes.txt'), 'utf8'), 'keep me');
  await s.packages.uninstall('db', { keepData: false, force: false });
  assert.equal(fs.existsSync(path.join(s.root, 'packages/db')), false);
  assert.deepEqual(s.packages.list(), []);
  assert.equal(s.lxc.containers.size, 0);
});

test('after a crash, an install cut short is removed; orphans go; foreign containers stay', async () => {
  const s = await setup();
  s.db
    .prepare(
      `INSERT INTO packages (id, version, manifest, desired, phase, slot, signer, installed_at, updated_at)
       VALUES ('half', '1.0.0', ?, 'running', 'installing', 0, NULL, 0, 0)`,
    )
    .run(JSON.stringify(sampleManifest({ id: 'half', dependencies: [] })));
  fs.mkdirSync(path.join(s.root, 'packages/half/versions/1.0.0'), { recursive: true });
  s.lxc.containers.set('hearth-half', { state: 'STOPPED', pid: null });
  s.lxc.containers.set('hearth-ghost', { state: 'RUNNING', pid: 1 });
  s.lxc.containers.set('my-own-box', { state: 'RUNNING', pid: 1 });
  await s.packages.reconcile({ startUp: true });
  assert.deepEqual(s.packages.list(), []);
  assert.equal(fs.existsSync(path.join(s.root, 'packages/half')), false);
  assert.deepEqual([...s.lxc.containers.keys()], ['my-own-box']);
});

test('an update snapshots the data, installs the new version and migrates it', async () => {
  const runtime = fakeChannels(async () => ({ ok: true }));
  const s = await setup({ channels: runtime.channels });
  s.signers.add(s.key.publicKey, 'us');
  await s.packages.install(await s.pack({ version: '1.2.0' }), { allowUntrusted: false, start: true });
  const volume = path.join(s.root, 'packages/hello-world/volumes/data');
  fs.writeFileSync(path.join(volume, 'page.html'), 'v1 data');
  const updated = await s.packages.update(
    await s.pack({ version: '1.3.0', migrations: [{ version: '1.3.0', down: true }] }),
    {
      allowUntrusted: false,
    },
  );
  assert.equal(updated.version, '1.3.0');
  assert.equal(updated.phase, 'installed');
  assert.deepEqual(runtime.calls, ['runtime.shutdown', 'runtime.migrate']);
  assert.equal(fs.readFileSync(path.join(volume, 'page.html'), 'utf8'), 'v1 data');
  const base = path.join(s.root, 'packages/hello-world');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(fs.readdirSync(path.join(base, 'versions')), ['1.3.0']);
  assert.equal(fs.existsSync(path.join(base, 'snapshot')), false);
});

test('a failed migration rolls back to the old version with the old data', async () => {
  let volume = '';
  const runtime = fakeChannels(async () => {
    fs.writeFileSync(path.join(volume, 'page.html'), 'half migrated');
    throw new Error('the new schema did not fit');
  });
  const s = await setup({ channels: runtime.channels });
  s.signers.add(s.key.publicKey, 'us');
  await s.packages.install(await s.pack({ version: '1.2.0' }), { allowUntrusted: false, start: true });
  volume = path.join(s.root, 'packages/hello-world/volumes/data');
  fs.writeFileSync(path.join(volume, 'page.html'), 'v1 data');
  await assert.rejects(s.packages.update(await s.pack({ version: '2.0.0' }), { allowUntrusted: false }), {
    code: 'update_failed',
    message: /back at 1\.2\.0 .*the new schema did not fit/,
  });
  const pkg = s.packages.get('hello-world');
  assert.equal(pkg.version, '1.2.0');
  assert.equal(pkg.phase, 'installed');
  assert.equal(fs.readFileSync(path.join(volume, 'page.html'), 'utf8'), 'v1 data');
  assert.deepEqual(fs.readdirSync(path.join(s.root, 'packages/hello-world/versions')), ['1.2.0']);
  await s.packages.reconcile();
  assert.equal(s.lxc.containers.get('hearth-hello-world')?.state, 'RUNNING');
});

test('an update cut short by a crash is rolled back at the next start', async () => {
  const s = await setup();
  s.signers.add(s.key.publicKey, 'us');
  await s.packages.install(await s.pack({ version: '1.2.0' }), { allowUntrusted: false, start: true });
  const base = path.join(s.root, 'packages/hello-world');
  fs.writeFileSync(path.join(base, 'volumes/data/page.html'), 'v1 data');
  // What a crash in the middle of an update leaves: the row at the new version with the
  // old one in `previous`, a complete snapshot, changed volumes, the new version's files.
  fs.cpSync(path.join(base, 'volumes'), path.join(base, 'snapshot'), { recursive: true });
  fs.writeFileSync(path.join(base, 'volumes/data/page.html'), 'v2 data');
  fs.mkdirSync(path.join(base, 'versions/2.0.0'));
  fs.mkdirSync(path.join(base, 'versions/.2.0.0.staging-abc123'));
  const old = s.packages.get('hello-world');
  s.db
    .prepare(
      "UPDATE packages SET phase = 'updating', version = '2.0.0', previous = ? WHERE id = 'hello-world'",
    )
    .run(JSON.stringify({ version: '1.2.0', manifest: old.manifest, signer: old.signer }));
  await s.packages.reconcile({ startUp: true });
  const pkg = s.packages.get('hello-world');
  assert.equal(pkg.version, '1.2.0');
  assert.equal(pkg.phase, 'installed');
  assert.equal(fs.readFileSync(path.join(base, 'volumes/data/page.html'), 'utf8'), 'v1 data');
  assert.deepEqual(fs.readdirSync(path.join(base, 'versions')), ['1.2.0']);
});

test('a downgrade across a migration that cannot be undone is refused before anything changes', async () => {
  const s = await setup();
  s.signers.add(s.key.publicKey, 'us');
  await s.packages.install(
    await s.pack({ version: '2.0.0', migrations: [{ version: '2.0.0', down: false }] }),
    {
      allowUntrusted: false,
      start: true,
    },
  );
  await assert.rejects(
    s.packages.update(await s.pack({ version: '1.0.0', migrations: [] }), {
      allowUntrusted: false,
    }),
    {
      code: 'migration_irreversible',
    },
  );
  assert.equal(s.packages.get('hello-world').version, '2.0.0');
});
