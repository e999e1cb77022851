import fs from 'node:fs';
import path from 'node:path';
import { hostMounts } from '../src/host/mounts.ts';
import { run } from '../src/host/run.ts';
import { log } from './lxc-harness.ts';

/**
 * What one container of a test daemon leaves on the host outside its directories: links
 * (the host-side veth, anything else on the test's bridge), loop devices backing files
 * under the daemon's root, mounts under it, LXC's cgroups named after the container, and
 * the rules of the test's nft table. A fault test compares these with what the package's
 * state allows, so a start cut short that leaks any of them is seen.
 */
export interface HostTraces {
  /** Links enslaved to the bridge, and any link with the container's veth name. */
  links: string[];
  /**
   * Loop devices whose backing file is under the root, but for those `heldElsewhere`.
   */
  loops: string[];
  /**
   * Loop devices under the root whose filesystem is mounted in another process's mount
   * namespace, not this one's and not the container's: a copy that process took of the
   * host's mounts (unshare -m, ip netns exec) while the image was mounted. Where / is a
   * private mount (as on the test machines, which run no systemd), unmounting here does
   * not reach such a copy, so the image stays attached until that process ends; the
   * kernel detaches it then. Nothing of the daemon's, and nothing it could undo: a loop
   * device that no one holds any more is in `loops` again, and counts.
   */
  heldElsewhere: string[];
  mounts: string[];
  /** `lxc.payload.<name>`, `lxc.monitor.<name>[-N]` in any cgroup hierarchy, once each. */
  cgroups: string[];
  /** How many rules the nft table holds (undefined: no such table). */
  nftRules: number | undefined;
}

export async function hostTraces(o: {
  root: string;
  container: string;
  veth: string;
  bridge: string;
  nftTable: string;
}): Promise<HostTraces> {
  const links = (
    JSON.parse((await run(['ip', '-j', 'link', 'show'], { log })).stdout) as {
      ifname: string;
      master?: string;
    }[]
  )
    .filter((l) => l.master === o.bridge || l.ifname === o.veth)
    .map((l) => l.ifname)
    .sort();
  const attached = (
    (
      JSON.parse(
        (await run(['losetup', '-J', '-l', '-O', 'NAME,BACK-FILE,MAJ:MIN'], { log })).stdout ||
          '{"loopdevices":[]}',
      ) as { loopdevices: { name: string; 'back-file': string | null; 'maj:min': string }[] }
    ).loopdevices ?? []
  ).filter((l) => (l['back-file'] ?? '').replace(/ \(deleted\)$/, '').startsWith(o.root + path.sep));
  const loops: string[] = [];
  const heldElsewhere: string[] = [];
  // Mounted here it is ours, whoever else holds a copy of the mount (any process that
  // unshared its mount namespace since); only one not mounted here is looked for elsewhere.
  const here = new Set(
    fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[2]),
  );
  const away = attached.filter((l) => !here.has(l['maj:min'].trim()));
  const holders = away.length > 0 ? foreignHolders(o.container) : new Map<string, string>();
  for (const l of attached) {
    const what = `${l.name} ${l['back-file']}`;
    const holder = here.has(l['maj:min'].trim()) ? undefined : holders.get(l['maj:min'].trim());
    if (holder) heldElsewhere.push(`${what}: mounted in ${holder}`);
    else loops.push(what);
  }
  loops.sort();
  heldElsewhere.sort();
  const mounts = (await hostMounts(log).listMounts(o.root)).map((m) => m.mountPoint).sort();
  const pattern = new RegExp(
    `^lxc\\.(?:payload|monitor)\\.${o.container.replace(/[.-]/g, '\\$&')}(?:-\\d+)?$`,
  );
  const cgroups = new Set<string>();
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0 || !/^cgroup2?$/.test(fields[dash + 1] ?? '')) continue;
    for (const e of fs.readdirSync(fields[4]!, { withFileTypes: true })) {
      if (e.isDirectory() && pattern.test(e.name)) cgroups.add(e.name);
    }
  }
  let nftRules: number | undefined;
  try {
    const listed = JSON.parse(
      (await run(['nft', '-j', 'list', 'table', 'ip', o.nftTable], { log })).stdout,
    ) as { nftables: Record<string, unknown>[] };
    nftRules = listed.nftables.filter((x) => 'rule' in x).length;
  } catch {
    nftRules = undefined;
  }
  return { links, loops, heldElsewhere, mounts, cgroups: [...cgroups].sort(), nftRules };
}

/**
 * The block devices (major:minor) mounted in other processes' mount namespaces, each with
 * one such namespace and its processes. A namespace with a process of the container's own
 * (its cgroups) is the container's, not foreign: what it holds counts as held by us.
 */
function foreignHolders(container: string): Map<string, string> {
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined; // the process ended meanwhile, or is a kernel thread
    }
  };
  const own = fs.readlinkSync('/proc/self/ns/mnt');
  const byNamespace = new Map<string, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let ns: string;
    try {
      ns = fs.readlinkSync(`/proc/${entry}/ns/mnt`);
    } catch {
      continue;
    }
    if (ns !== own) byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), Number(entry)]);
  }
  const ours = new RegExp(
    `/lxc\\.(?:payload|monitor)\\.${container.replace(/[.-]/g, '\\$&')}(?:-\\d+)?(?:/|$)`,
    'm',
  );
  const held = new Map<string, string>();
  for (const [ns, pids] of byNamespace) {
    if (pids.some((pid) => ours.test(read(`/proc/${pid}/cgroup`) ?? ''))) continue;
    const pid = pids.find((p) => read(`/proc/${p}/mountinfo`) !== undefined);
    if (pid === undefined) continue;
    const command = (read(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ').trim().slice(0, 160);
    const comm = (read(`/proc/${pid}/comm`) ?? '?').trim();
    const who = `${ns} (pid ${pid} ${comm}${pids.length > 1 ? ` and ${pids.length - 1} more` : ''}: ${command})`;
    for (const line of (read(`/proc/${pid}/mountinfo`) ?? '').split('\n')) {
      const device = line.split(' ')[2];
      if (device && !held.has(device)) held.set(device, who);
    }
  }
  return held;
}

/**
 * Where `now` differs from what a container in `state` may leave: a running one has its
 * veth on the bridge, one loop device (its image) and its cgroups; a stopped or absent one
 * none of these. The nft table keeps the rules it had at first (`nftRules`).
 */
export function tracesProblems(
  now: HostTraces,
  o: { running: boolean; container: string; veth: string; nftRules: number | undefined },
): string[] {
  const problems: string[] = [];
  const want = o.running ? [o.veth] : [];
  if (now.links.join() !== want.join())
    problems.push(
      `links on the bridge: ${now.links.join(', ') || 'none'}, want ${want.join(', ') || 'none'}`,
    );
  if (now.loops.length !== (o.running ? 1 : 0))
    problems.push(
      `loop devices: ${now.loops.join(', ') || 'none'}, want ${o.running ? 'the image' : 'none'}`,
    );
  const payload = `lxc.payload.${o.container}`;
  const strayCgroups = now.cgroups.filter(
    (c) => !(o.running && (c === payload || c === `lxc.monitor.${o.container}`)),
  );
  if (strayCgroups.length > 0) problems.push(`cgroups left: ${strayCgroups.join(', ')}`);
  if (o.running && !now.cgroups.includes(payload))
    problems.push(`no ${payload} cgroup for a running container`);
  if (now.nftRules !== o.nftRules)
    problems.push(`nft rules: ${now.nftRules ?? 'no table'}, had ${o.nftRules}`);
  return problems;
}
