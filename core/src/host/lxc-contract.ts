import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerSpec, Lxc } from './containers.ts';

/**
 * What the packages service relies on from an `Lxc`, as one sequence of checks. It runs
 * against the in-memory fake (unit tests) and against real LXC (integration tests), so
 * the fake the domain is tested with cannot drift from the real adapter.
 *
 * `spec(name)` gives a runnable container spec with one volume whose source does not
 * exist yet; `name` is a fresh hearth-* name.
 */
export async function checkLxcContract(
  lxc: Lxc,
  spec: (name: string) => ContainerSpec,
  name: string,
): Promise<void> {
  const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
  const s = spec(name);
  assert.ok(
    s.volumes.length > 0 && !fs.existsSync(s.volumes[0]!.source),
    'the spec has a volume not made yet',
  );

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

  // Created: stopped, listed as ours, volumes made; a second create is refused.
  await lxc.create(s);
  assert.ok(fs.statSync(s.volumes[0]!.source).isDirectory(), 'create makes missing volume directories');
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

  // Stopped (twice is once), started again, destroyed while running.
  await lxc.stop(name, { timeoutS: 5 });
  await lxc.stop(name, { timeoutS: 5 });
  assert.equal((await lxc.info(name)).state, 'STOPPED');
  await lxc.start(name);
  const kept = path.join(s.volumes[0]!.source, 'kept');
  fs.writeFileSync(kept, 'data');
  await lxc.destroy(name);
  await lxc.destroy(name);
  assert.equal(
    (await lxc.list()).find((c) => c.name === name),
    undefined,
  );
  await assert.rejects(lxc.info(name), code('not_found'));
  assert.equal(fs.readFileSync(kept, 'utf8'), 'data', 'destroy leaves the volumes');
  assert.equal(fs.existsSync(path.join(s.dataDir, 'upper')), false, 'destroy removes the writable layer');

  // The same name can be created again after a destroy.
  await lxc.create(s);
  await lxc.destroy(name);
}
