import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/log.ts';
import {
  type BackupStatus,
  type BackupSummary,
  classifyFailure,
  parseBackupLine,
  parseSnapshots,
  type ResticFailure,
  SNAPSHOT_ID,
  type Snapshot,
} from './restic-parse.ts';
import { CommandFailed, runStreaming } from './run.ts';

export type { BackupStatus, BackupSummary, ResticFailure, Snapshot } from './restic-parse.ts';

/** One restic repository and how to open it. The password never goes on a command line. */
export interface ResticRepository {
  /** A local directory (absolute); restic is told it is one (`local:`), whatever it is named. */
  path: string;
  /** A 0600 file holding the password: restic reads it (RESTIC_PASSWORD_FILE). */
  passwordFile: string;
  /** restic's cache of the repository's index, kept on the data drive. */
  cacheDir: string;
}

/** restic failed, and why in its own words' class (for a target's test to say plainly). */
export class ResticError extends Error {
  readonly failure: ResticFailure;
  readonly stderr: string;
  constructor(failure: ResticFailure, stderr: string, cause: unknown) {
    super(`restic failed: ${failure}`, { cause });
    this.failure = failure;
    this.stderr = stderr;
  }
}

export interface Restic {
  /** Whether the repository opens with its password: undefined if it does, else why not. */
  probe(repo: ResticRepository): Promise<ResticFailure | undefined>;
  init(repo: ResticRepository): Promise<void>;
  backup(
    repo: ResticRepository,
    o: { paths: string[]; tags: string[]; onStatus?: (s: BackupStatus) => void; signal?: AbortSignal },
  ): Promise<BackupSummary>;
  snapshots(repo: ResticRepository, o?: { tag?: string }): Promise<Snapshot[]>;
  /** Restores a snapshot (whole, or the paths under `include`) into `target`, which must be empty or new. */
  restore(repo: ResticRepository, o: { snapshot: string; target: string; include?: string[] }): Promise<void>;
  /** Bytes free and whether a file can be written, for a local repository's directory (or the nearest that exists). */
  space(dir: string): Promise<{ freeBytes: number; writable: boolean }>;
}

const HOST = 'hearth';

/** Debian's restic, spawned through host/run.ts with a clean environment. */
export function hostRestic(log: Logger, binary = 'restic'): Restic {
  const env = (repo: ResticRepository): NodeJS.ProcessEnv => ({
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: repo.cacheDir,
    RESTIC_PASSWORD_FILE: repo.passwordFile,
    RESTIC_CACHE_DIR: repo.cacheDir,
    RESTIC_REPOSITORY: `local:${repo.path}`,
    LC_ALL: 'C',
  });
  const restic = async (
    repo: ResticRepository,
    args: string[],
    onLine: (l: string) => void = () => {},
    signal?: AbortSignal,
    maxLineBytes?: number,
  ) => {
    await fs.mkdir(repo.cacheDir, { recursive: true, mode: 0o700 });
    try {
      return await runStreaming([binary, ...args], {
        env: env(repo),
        onLine,
        log,
        debianPackage: 'restic',
        ...(signal ? { signal } : {}),
        ...(maxLineBytes ? { maxLineBytes } : {}),
      });
    } catch (e) {
      if (e instanceof CommandFailed) throw new ResticError(classifyFailure(e.stderr), e.stderr, e);
      throw e;
    }
  };
  return {
    async probe(repo) {
      try {
        await restic(repo, ['cat', 'config']);
        return undefined;
      } catch (e) {
        if (e instanceof ResticError) return e.failure;
        throw e;
      }
    },
    async init(repo) {
      await restic(repo, ['init']);
    },
    async backup(repo, o) {
      let summary: BackupSummary | undefined;
      const errors: string[] = [];
      await restic(
        repo,
        ['backup', '--json', '--host', HOST, ...o.tags.flatMap((t) => ['--tag', t]), '--', ...o.paths],
        (line) => {
          const e = parseBackupLine(line);
          if (e?.kind === 'status') o.onStatus?.(e);
          else if (e?.kind === 'summary') summary = e;
          else if (e?.kind === 'error' && errors.length < 20) errors.push(e.message);
        },
        o.signal,
      );
      if (!summary) throw new ResticError('unknown', errors.join('\n'), undefined);
      return summary;
    },
    async snapshots(repo, o = {}) {
      // The JSON is one line; up to 64 MiB of it is read, longer is refused by the parser.
      let json = '';
      const { droppedLines } = await restic(
        repo,
        ['snapshots', '--json', ...(o.tag ? ['--tag', o.tag] : [])],
        (l) => {
          json += l;
        },
        undefined,
        64 * 1024 * 1024,
      );
      if (droppedLines > 0)
        throw new ResticError('unknown', 'restic listed more than the box reads', undefined);
      return parseSnapshots(json || '[]');
    },
    async restore(repo, o) {
      if (!SNAPSHOT_ID.test(o.snapshot)) throw new Error('not a snapshot id');
      await restic(repo, [
        'restore',
        '--target',
        o.target,
        ...(o.include ?? []).flatMap((p) => ['--include', p]),
        '--',
        o.snapshot,
      ]);
    },
    async space(dir) {
      let at = dir;
      for (;;) {
        const st = await fs.stat(at).catch(() => undefined);
        if (st?.isDirectory()) break;
        const up = path.dirname(at);
        if (up === at) break;
        at = up;
      }
      const s = await fs.statfs(at);
      const probe = path.join(at, `.hearth-write-test-${process.pid}`);
      const writable = await fs
        .writeFile(probe, '')
        .then(() => fs.rm(probe, { force: true }))
        .then(
          () => true,
          () => false,
        );
      return { freeBytes: s.bavail * s.bsize, writable };
    },
  };
}
