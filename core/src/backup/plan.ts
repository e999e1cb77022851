/*
 * Pure: the steps of a backup, of a restore, and of the recovery after a crash cut one
 * short. Steps carry a group: a failure skips the rest of its group (all groups, for the
 * target's), while steps marked `always` (thaw, the post hook, closing the target) run
 * whatever happened before them — a frozen package is never left frozen.
 */

export type Group = 'target' | 'box' | `package:${string}`;

export type Step = (
  | { kind: 'open-target'; target: string }
  | { kind: 'check-target'; target: string }
  | { kind: 'close-target'; target: string }
  | { kind: 'backup-pre'; id: string }
  | { kind: 'backup-post'; id: string }
  | { kind: 'freeze'; id: string }
  | { kind: 'thaw'; id: string }
  | { kind: 'write-package-settings'; id: string }
  | { kind: 'back-up-package'; id: string; version: string; volumes: string[] }
  | { kind: 'dump-box' }
  | { kind: 'back-up-box' }
  | { kind: 'drop-staging' }
  | { kind: 'restore-to-staging'; id: string; snapshot: string }
  | { kind: 'stop-package'; id: string }
  | { kind: 'set-aside'; id: string }
  | { kind: 'put-in-place'; id: string }
  | { kind: 'start-package'; id: string }
  | { kind: 'wait-healthy'; id: string }
  | { kind: 'drop-aside'; id: string }
  | { kind: 'put-back'; id: string }
) & { group: Group; always?: true };

export type StepKind = Step['kind'];

/** A package as a backup sees it. */
export interface PackageForBackup {
  id: string;
  version: string;
  /** It should run (desired): its container is up, or being brought up (a stopped one holds still by itself). */
  running: boolean;
  /** The package's backup hooks (manifest backup.hasPre / hasPost). */
  hasPre: boolean;
  hasPost: boolean;
  /** The volumes the backup holds: the manifest's backup.volumes, else all. */
  volumes: string[];
}

/**
 * A backup to one target: its repository opened and checked, then each package on its own
 * (quiesced by its hook, or frozen, for the copy), then the box's database by SQLite's
 * online backup. One package failing does not stop the others.
 */
export function planBackup(o: { target: string; packages: PackageForBackup[]; box: boolean }): Step[] {
  const t: Group = 'target';
  const steps: Step[] = [
    { kind: 'open-target', target: o.target, group: t },
    { kind: 'check-target', target: o.target, group: t },
  ];
  for (const p of o.packages) {
    const g: Group = `package:${p.id}`;
    steps.push({ kind: 'write-package-settings', id: p.id, group: g });
    const copy: Step = {
      kind: 'back-up-package',
      id: p.id,
      version: p.version,
      volumes: p.volumes,
      group: g,
    };
    if (!p.running) steps.push(copy);
    else if (p.hasPre || p.hasPost) {
      if (p.hasPre) steps.push({ kind: 'backup-pre', id: p.id, group: g });
      steps.push(copy);
      if (p.hasPost) steps.push({ kind: 'backup-post', id: p.id, group: g, always: true });
    } else {
      steps.push({ kind: 'freeze', id: p.id, group: g }, copy, {
        kind: 'thaw',
        id: p.id,
        group: g,
        always: true,
      });
    }
  }
  if (o.box) {
    steps.push({ kind: 'dump-box', group: 'box' }, { kind: 'back-up-box', group: 'box' });
  }
  steps.push(
    { kind: 'drop-staging', group: t, always: true },
    { kind: 'close-target', target: o.target, group: t, always: true },
  );
  return steps;
}

/**
 * One package back to a snapshot. The snapshot is restored beside the package first (a
 * failure there changes nothing); the current data is only set aside, and dropped once the
 * restored package is healthy. Any failure after the swap puts it back (planPutBack).
 */
/** `running`: the package should run (desired), so it is started again and must turn healthy. */
export function planRestore(o: { target: string; id: string; snapshot: string; running: boolean }): Step[] {
  const g: Group = `package:${o.id}`;
  const t: Group = 'target';
  return [
    { kind: 'open-target', target: o.target, group: t },
    { kind: 'restore-to-staging', id: o.id, snapshot: o.snapshot, group: g },
    // Always: a container that runs (or is starting) holds its volumes' bind mounts, and a
    // swap under it would leave it on the data set aside — and then removed.
    { kind: 'stop-package', id: o.id, group: g },
    { kind: 'set-aside', id: o.id, group: g },
    { kind: 'put-in-place', id: o.id, group: g },
    ...(o.running
      ? [
          { kind: 'start-package', id: o.id, group: g } as const,
          { kind: 'wait-healthy', id: o.id, group: g } as const,
        ]
      : []),
    { kind: 'drop-aside', id: o.id, group: g },
    { kind: 'drop-staging', group: t, always: true },
    { kind: 'close-target', target: o.target, group: t, always: true },
  ];
}

/** The data set aside goes back over what was restored, and the package runs as before. */
export function planPutBack(o: { id: string; running: boolean }): Step[] {
  const g: Group = `package:${o.id}`;
  return [
    { kind: 'stop-package', id: o.id, group: g, always: true },
    { kind: 'put-back', id: o.id, group: g, always: true },
    ...(o.running ? [{ kind: 'start-package', id: o.id, group: g, always: true } as const] : []),
  ];
}

/** What the start finds of a run a crash cut short. */
export interface Interrupted {
  kind: 'backup' | 'restore';
  target: string;
  packages: { id: string; running: boolean; hasPost: boolean }[];
  /** Packages whose current data is set aside (restore). */
  aside: string[];
}

/**
 * After a crash: every package of a backup thawed and its post hook run (its dump
 * removed); a restore's set-aside data put back; the staging and the target's mount let go.
 */
export function planRecovery(r: Interrupted): Step[] {
  const steps: Step[] = [];
  for (const p of r.packages) {
    const g: Group = `package:${p.id}`;
    if (r.kind === 'backup') {
      steps.push({ kind: 'thaw', id: p.id, group: g, always: true });
      if (p.running && p.hasPost) steps.push({ kind: 'backup-post', id: p.id, group: g, always: true });
    } else if (r.aside.includes(p.id)) {
      steps.push(...planPutBack({ id: p.id, running: p.running }));
    }
  }
  steps.push(
    { kind: 'drop-staging', group: 'target', always: true },
    { kind: 'close-target', target: r.target, group: 'target', always: true },
  );
  return steps;
}

/** Which steps run, given which failed so far: the rest of a failed group is skipped, all after a target failure. */
export function shouldRun(step: Step, failedGroups: ReadonlySet<Group>): boolean {
  if (step.always) return true;
  return !failedGroups.has('target') && !failedGroups.has(step.group);
}

/** The tags a package's or the box's snapshot carries (how a restore finds them). */
export const tagsFor = (what: { id: string; version: string } | 'box', run: number): string[] =>
  what === 'box'
    ? ['hearth', 'box', `run:${run}`]
    : ['hearth', `package:${what.id}`, `version:${what.version}`, `run:${run}`];

/** The package a snapshot holds, from its tags, if it holds one. */
export function packageOf(tags: readonly string[]): { id: string; version: string | null } | undefined {
  const id = tags.find((t) => t.startsWith('package:'))?.slice(8);
  if (!id) return undefined;
  return { id, version: tags.find((t) => t.startsWith('version:'))?.slice(8) ?? null };
}
