import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerSpec, Lxc } from './containers.ts';

/**
 * What the packages service relies on from an `Lxc`, as one sequence of checks. It runs
 * against the in-memory fake (unit tests) and against real LXC (integration tests), so
 * the fake the domain is tested with cannot drift from the real adapter: the writable
 * layer (made by create, owned by the container's root, kept by stop, gone with destroy),
 * the volumes (a missing one made and owned by the container's root — which is how kept
 * data finds its id range again — an existing one left as it is, both kept by destroy),
 * the data dir (removed by destroy when nothing else is in it), and a start that fails
 * (a clear error, the container still there and stopped, nothing mounted, and a start
 * that works once the cause is gone).
 *
 * `spec(name)` gives a runnable container spec with one volume whose source does not
 * exist yet; `name` is a fresh hearth-* name. `mounted()` lists what the adapter has
 * mounted for its containers (the fake mounts nothing). Ownership is checked as root only
 * (only root can give files to other ids).
 */
export async function checkLxcContract(
  lxc: Lxc,
  spec: (name: string) => ContainerSpec,
  name: string,
  mounted: () => Promise<string[]> = async () => [],
): Promise<void> {
  const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
  const asRoot = process.getuid?.() === 0;
  const base = spec(name);
  assert.ok(
    base.volumes.length > 0 && !fs.existsSync(base.volumes[0]!.source),
    'the spec has a volume not made yet',
  );
  // A second volume that exists already, owned by someone else: kept data stays as it is.
  const existing = path.join(path.dirname(base.volumes[0]!.source), 'existing');
  fs.mkdirSync(existing, { recursive: true, mode: 0o755 });
  const stranger = 4321;
  if (asRoot) fs.chownSync(existing, stranger, stranger);
  const s: ContainerSpec = { ...base, volumes: [...base.volumes, { source: existing, target: '/existing' }] };
  const owner = (p: string) => fs.statSync(p).uid;

  // Unknown and foreign names.
  for (const call of [
    () => lxc.start(name),
    () => lxc.stop(name),
    () => lxc.info(name),
    () => lxc.logs(name),
  ]) {
    await assert.rejects(call(), code('not_found'));
  }
  await lxc.destroy(name); // gone already is fine
  await assert.rejects(lxc.start('not-ours'), code('foreign_container'));
  await assert.rejects(lxc.destroy('not-ours'), code('foreign_container'));
  await assert.rejects(lxc.create({ ...s, name: 'not-ours' }), code('foreign_container'));
  await assert.rejects(lxc.create({ ...s, image: `${s.image}.missing` }), code('not_found'));
  assert.equal(fs.existsSync(s.volumes[0]!.source), false, 'a refused create makes nothing');

  // Created: stopped, listed as ours, writable layer and missing volumes made; a second create is refused.
  await lxc.create(s);
  assert.ok(fs.statSync(s.volumes[0]!.source).isDirectory(), 'create makes missing volume directories');
  const upper = path.join(s.dataDir, 'upper');
  assert.ok(fs.statSync(upper).isDirectory(), 'create makes the writable layer');
  assert.ok(fs.statSync(path.join(s.dataDir, 'work')).isDirectory(), 'and its work dir');
  if (asRoot) {
    assert.equal(owner(s.volumes[0]!.source), s.idmap.hostId, 'a made volume is the container root’s');
    assert.equal(owner(upper), s.idmap.hostId, 'the writable layer is the container root’s');
    assert.equal(owner(existing), stranger, 'an existing volume keeps its owner');
  }
  await assert.rejects(lxc.create(s), code('conflict'));
  let info = await lxc.info(name);
  assert.equal(info.state, 'STOPPED');
  assert.equal(info.pid, null);
  const listed = (await lxc.list()).find((c) => c.name === name);
  assert.equal(listed?.state, 'STOPPED');
  assert.equal(listed?.foreign, false);
  await assert.rejects(lxc.exec(name, ['true']), code('container_not_running'));
  assert.ok(Array.isArray(await lxc.logs(name)));

  // Started (twice is once): running, with an init pid.
  await lxc.start(name);
  await lxc.start(name);
  info = await lxc.info(name);
  assert.equal(info.state, 'RUNNING');
  assert.equal(typeof info.pid, 'number');
  assert.equal((await lxc.list()).find((c) => c.name === name)?.state, 'RUNNING');
  assert.equal((await lxc.exec(name, ['/bin/sh', '-c', 'exit 0'])).exitCode, 0);

  // Frozen for a backup's copy, thawed after (thawing twice is once).
  await lxc.freeze(name);
  assert.equal((await lxc.info(name)).state, 'FROZEN');
  await lxc.thaw(name);
  await lxc.thaw(name);
  assert.equal((await lxc.info(name)).state, 'RUNNING');

  // Stopped (twice is once): nothing mounted, the writable layer kept.
  await lxc.stop(name, { timeoutS: 5 });
  await lxc.stop(name, { timeoutS: 5 });
  assert.equal((await lxc.info(name)).state, 'STOPPED');
  assert.deepEqual(await mounted(), [], 'a stopped container holds no mount');
  const layer = path.join(upper, 'written-by-the-container');
  fs.writeFileSync(layer, 'layer');

  // A start that fails (its image is gone): says so, stays stopped, mounts nothing; it
  // starts once the image is back, with its writable layer as it was.
  fs.renameSync(s.image, `${s.image}.away`);
  await assert.rejects(lxc.start(name), code('container_start_failed'));
  assert.equal((await lxc.info(name)).state, 'STOPPED');
  assert.equal((await lxc.list()).find((c) => c.name === name)?.state, 'STOPPED');
  assert.deepEqual(await mounted(), [], 'a failed start leaves no mount');
  fs.renameSync(`${s.image}.away`, s.image);
  await lxc.start(name);
  assert.equal((await lxc.info(name)).state, 'RUNNING');
  assert.equal(fs.readFileSync(layer, 'utf8'), 'layer', 'stop and start keep the writable layer');

  // Destroyed while running (twice is once): the volumes stay, the layer and the data dir go.
  const kept = path.join(s.volumes[0]!.source, 'kept');
  fs.writeFileSync(kept, 'data');
  await lxc.destroy(name);
  await lxc.destroy(name);
  assert.equal(
    (await lxc.list()).find((c) => c.name === name),
    undefined,
  );
  await assert.rejects(lxc.info(name), code('not_found'));
  assert.deepEqual(await mounted(), [], 'destroy leaves no mount');
  assert.equal(fs.readFileSync(kept, 'utf8'), 'data', 'destroy leaves the volumes');
  assert.ok(fs.existsSync(existing), 'and the volume that was there before');
  assert.equal(fs.existsSync(upper), false, 'destroy removes the writable layer');
  assert.equal(fs.existsSync(s.dataDir), false, 'and the data dir, left empty');

  // The same name can be created again after a destroy, onto the kept volume (whose owner
  // it keeps); a data dir holding something else stays, without the writable layer.
  if (asRoot) fs.chownSync(s.volumes[0]!.source, stranger, stranger);
  await lxc.create(s);
  if (asRoot) assert.equal(owner(s.volumes[0]!.source), stranger, 'a kept volume keeps its owner');
  fs.writeFileSync(path.join(s.dataDir, 'not-the-layer'), 'x');
  await lxc.destroy(name);
  assert.deepEqual(fs.readdirSync(s.dataDir), ['not-the-layer']);
  fs.rmSync(s.dataDir, { recursive: true });
}
