/*
 * What LXC needs of the host around one container, apart from the container itself:
 * root's subordinate id ranges, searchable paths to the lxcpath and the mount sources, and
 * the leftovers a start cut short leaves (empty cgroups, a veth). See host/lxc.ts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/log.ts';
import { type ContainerSpec, IdRangeTaken, PathNotReachable } from './containers.ts';
import { cgroupMountPoints, parseMountInfo, parseSubordinateIds, planIdReservation } from './lxc-parse.ts';
import type { IdRange } from './mounts.ts';
import { CommandFailed, run } from './run.ts';

/** The first directory on the way to `dir` (itself included) that others may not search. */
async function closedDirectory(dir: string): Promise<string | undefined> {
  let closed: string | undefined;
  for (let d = dir; ; d = path.dirname(d)) {
    const st = await fs.stat(d).catch(() => undefined); // not made yet
    if (st && (st.mode & 0o001) === 0) closed = d;
    if (d === path.dirname(d)) return closed;
  }
}

/**
 * LXC checks, as the container's root, that it can reach the lxcpath, and makes the bind
 * mounts inside the container's user namespace: their sources' parents must be searchable.
 * The data dir need not be: the overlay works with the rights of whoever mounted it.
 */
export async function assertReachable(dir: string, spec: ContainerSpec): Promise<void> {
  for (const [d, what] of [
    [dir, 'its lxcpath'] as const,
    ...spec.volumes.map((v) => [path.dirname(v.source), `the volume ${v.target}`] as const),
    [path.dirname(spec.hearthBinary), 'the hearth binary'] as const,
  ]) {
    const closed = await closedDirectory(d);
    if (closed) throw new PathNotReachable(closed, what);
  }
}

/** Adds root's line for `range` to /etc/sub[ug]id when missing; refuses a range given to someone else. */
export async function reserveIds(file: string, range: IdRange, log: Logger): Promise<void> {
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  const plan = planIdReservation(parseSubordinateIds(text), 'root', {
    start: range.hostId,
    count: range.count,
  });
  if (plan.action === 'conflict') throw new IdRangeTaken(file, range, plan.with.owner);
  if (plan.action === 'append') {
    await fs.appendFile(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${plan.line}\n`);
    log.info('reserved host ids for root', { file, line: plan.line });
  }
}

/**
 * Empty cgroups LXC left behind (lxc.payload.<name>, lxc.monitor.<name>[-N]) on every
 * hierarchy; rmdir only succeeds on cgroups without processes, so a live one survives.
 */
export async function removeStaleCgroups(name: string, mountinfo: string): Promise<void> {
  const pattern = new RegExp(`^lxc\\.(?:payload|monitor)\\.${name.replace(/[.-]/g, '\\$&')}(?:-\\d+)?$`);
  const rmTree = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await rmTree(path.join(dir, e.name));
    await fs.rmdir(dir).catch(() => {});
  };
  const roots = cgroupMountPoints(parseMountInfo(await fs.readFile(mountinfo, 'utf8')));
  for (const root of roots) {
    const entries = await fs.readdir(root).catch(() => [] as string[]);
    for (const e of entries.filter((n) => pattern.test(n))) await rmTree(path.join(root, e));
  }
}

/**
 * A stopped container has no host-side veth; one with its name is left from a start cut
 * short (the daemon killed meanwhile) and would make every later start fail.
 */
export async function removeLeftoverVeth(veth: string, log: Logger): Promise<void> {
  try {
    await run(['ip', 'link', 'delete', veth], { log, debianPackage: 'iproute2' });
    log.warn('removed a leftover veth', { veth });
  } catch (e) {
    if (!(e instanceof CommandFailed && /Cannot find device|does not exist/.test(e.stderr))) throw e;
  }
}
