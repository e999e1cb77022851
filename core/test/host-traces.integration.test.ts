import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { vethName } from '../src/host/lxc-parse.ts';
import { run } from '../src/host/run.ts';
import { hostTraces, tracesProblems } from './host-traces.ts';
import { containerHost, leaseNetwork, log, lxcSkipReason } from './lxc-harness.ts';
import { required } from './required.ts';

/**
 * The fault test's look for leftovers (host-traces.ts) on real LXC: an image that another
 * process's mount namespace still holds after our stop is told apart from one that is
 * attached with nothing holding it — the first goes when that process ends, the second is
 * a leak and counts.
 */

const skip = required(
  lxcSkipReason() || (fs.existsSync('/dev/loop-control') ? false : 'needs loop devices'),
  'the host-traces tests',
);
const leased = leaseNetwork();
const at = (host: number) => leased.subnet.replace(/\.0\/24$/, `.${host}`);

const attachedTo = async (file: string) =>
  (
    JSON.parse((await run(['losetup', '-J', '-l'], { log })).stdout || '{"loopdevices":[]}') as {
      loopdevices: { name: string; 'back-file': string | null }[];
    }
  ).loopdevices.filter((l) => l['back-file'] === file);

test(
  "a stopped container's image held by another process's mount namespace is told, not counted, and goes with it",
  { skip },
  async (t) => {
    const { lxc, mounts, dir, lxcPath, image, net, specFor, cleanup } = await containerHost(t, {
      network: leased,
    });
    const spec = specFor(`hearth-held-${process.pid}`, at(2), {});
    const traces = () =>
      hostTraces({
        root: dir,
        container: spec.name,
        veth: vethName(path.join(lxcPath, spec.name)),
        bridge: net.bridge,
        nftTable: net.nftTable,
      });
    await lxc.create(spec);
    await lxc.start(spec.name);
    const running = await traces();
    assert.equal(running.loops.length, 1, `the image: ${JSON.stringify(running)}`);
    assert.deepEqual(running.heldElsewhere, []);

    // What mdns.integration.test.ts does for its avahi-daemons (ip netns exec … unshare -m):
    // a mount namespace of its own, a copy of the host's mounts, the container's among them.
    const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '600'], { stdio: 'ignore' });
    const gone = new Promise((resolve) => holder.once('close', resolve));
    cleanup(async () => {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
      await gone;
    });
    const own = fs.readlinkSync('/proc/self/ns/mnt');
    while (fs.readlinkSync(`/proc/${holder.pid}/ns/mnt`) === own) await sleep(20);

    await lxc.stop(spec.name, { timeoutS: 5 });
    assert.deepEqual(await mounts.listMounts(lxcPath), [], 'nothing mounted here after the stop');
    const held = await traces();
    assert.deepEqual(held.loops, [], 'not counted');
    assert.equal(held.heldElsewhere.length, 1, held.heldElsewhere.join(', '));
    assert.match(
      held.heldElsewhere[0]!,
      new RegExp(`${image}: mounted in mnt:\\[\\d+\\] \\(pid ${holder.pid} sleep: sleep 600\\)`),
    );
    assert.deepEqual(
      tracesProblems(held, {
        running: false,
        container: spec.name,
        veth: vethName(path.join(lxcPath, spec.name)),
        nftRules: running.nftRules,
      }),
      [],
    );

    // The kernel detaches it (autoclear) once the copy is gone with its namespace.
    holder.kill('SIGKILL');
    await gone;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
      if ((await attachedTo(image)).length === 0) break;
    }
    assert.deepEqual(await attachedTo(image), [], 'detached once its holder ended');
    const after = await traces();
    assert.deepEqual([after.loops, after.heldElsewhere], [[], []]);
  },
);

test(
  'a loop device attached to an image under the root with nothing holding it is a leak',
  { skip },
  async (t) => {
    const { dir, lxcPath, image, net, cleanup } = await containerHost(t, { network: leased });
    // No autoclear: what a `mount -o loop` cut between attaching and mounting could leave
    // without LOOP_CONFIGURE (util-linux before 2.36 or Linux before 5.8).
    const device = (await run(['losetup', '--find', '--show', '--read-only', image], { log })).stdout.trim();
    cleanup(() => run(['losetup', '-d', device], { log }));
    const name = `hearth-leak-${process.pid}`;
    const now = await hostTraces({
      root: dir,
      container: name,
      veth: vethName(path.join(lxcPath, name)),
      bridge: net.bridge,
      nftTable: net.nftTable,
    });
    assert.deepEqual(now.loops, [`${device} ${image}`]);
    assert.deepEqual(now.heldElsewhere, []);
    assert.deepEqual(
      tracesProblems(now, {
        running: false,
        container: name,
        veth: vethName(path.join(lxcPath, name)),
        nftRules: now.nftRules,
      }),
      [`loop devices: ${device} ${image}, want none`],
    );
  },
);
