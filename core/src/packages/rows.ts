import type { Manifest } from '#sdk/manifest.ts';
import { NotFound } from '../errors.ts';
import { cachedStatement, type Db } from '../state/db.ts';
import type { InstalledSummary } from './checks.ts';
import type { Desired, Phase } from './plan.ts';

/** A package as the packages table has it: what should be on the box. */
export interface InstalledPackage {
  id: string;
  version: string;
  manifest: Manifest;
  desired: Desired;
  phase: Phase;
  slot: number;
  signer: string | null;
  installedAt: number;
  updatedAt: number;
}

/** What an update replaces, kept in the row until it is done, for a rollback. */
export interface Previous {
  version: string;
  manifest: Manifest;
  signer: string | null;
}

export class PackageNotFound extends NotFound {
  constructor(id: string) {
    super('package', id, { hint: 'package.list shows the installed packages' });
  }
}

interface Row {
  id: string;
  version: string;
  manifest: string;
  desired: Desired;
  phase: Phase;
  slot: number;
  signer: string | null;
  installed_at: number;
  updated_at: number;
  previous: string | null;
  keep_data: number;
}

const fromRow = (r: Row): InstalledPackage => ({
  id: r.id,
  version: r.version,
  manifest: JSON.parse(r.manifest) as Manifest,
  desired: r.desired,
  phase: r.phase,
  slot: r.slot,
  signer: r.signer,
  installedAt: r.installed_at,
  updatedAt: r.updated_at,
});

/**
 * The packages table, the desired state of the packages domain: every read and write of
 * it in one place. An operation's phase (installing, updating, removing) is written before
 * it touches the machine, so the first start after a crash knows what was under way.
 */
export class PackageRows {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  list(): InstalledPackage[] {
    return (cachedStatement(this.#db, 'SELECT * FROM packages ORDER BY id').all() as Row[]).map(fromRow);
  }

  find(id: string): InstalledPackage | undefined {
    const row = this.#row(id);
    return row ? fromRow(row) : undefined;
  }

  get(id: string): InstalledPackage {
    const pkg = this.find(id);
    if (!pkg) throw new PackageNotFound(id);
    return pkg;
  }

  exists(id: string): boolean {
    return this.#row(id) !== undefined;
  }

  slots(): number[] {
    return (this.#db.prepare('SELECT slot FROM packages').all() as { slot: number }[]).map((r) => r.slot);
  }

  /** What the dependency checks see: installed packages and whether they should run. */
  summaries(): InstalledSummary[] {
    return this.list()
      .filter((p) => p.phase === 'installed')
      .map((p) => ({
        id: p.id,
        version: p.version,
        running: p.desired === 'running',
        dependencies: p.manifest.dependencies,
      }));
  }

  /** Records a package being installed (phase `installing`); `check` runs in the same transaction. */
  insert(
    m: Manifest,
    o: { desired: Desired; slot: (taken: number[]) => number; signer: string | null; keepData: boolean },
    check: () => void,
  ): void {
    const now = this.#now();
    this.#db.transaction(() => {
      check();
      this.#db
        .prepare(
          `INSERT INTO packages (id, version, manifest, desired, phase, slot, signer, installed_at, updated_at, keep_data)
           VALUES (?, ?, ?, ?, 'installing', ?, ?, ?, ?, ?)`,
        )
        .run(
          m.id,
          m.version,
          JSON.stringify(m),
          o.desired,
          o.slot(this.slots()),
          o.signer,
          now,
          now,
          o.keepData ? 1 : 0,
        );
    })();
  }

  setPhase(id: string, phase: Phase): void {
    this.#db
      .prepare('UPDATE packages SET phase = ?, updated_at = ? WHERE id = ?')
      .run(phase, this.#now(), id);
  }

  setDesired(id: string, desired: Desired): void {
    this.#db
      .prepare('UPDATE packages SET desired = ?, updated_at = ? WHERE id = ?')
      .run(desired, this.#now(), id);
  }

  /** Uninstall: whether its volumes stay must outlive a crash in the middle. */
  beginRemove(id: string, keepData: boolean): void {
    this.#db
      .prepare("UPDATE packages SET keep_data = ?, phase = 'removing', updated_at = ? WHERE id = ?")
      .run(keepData ? 1 : 0, this.#now(), id);
  }

  keepsData(id: string): boolean {
    return this.#row(id)?.keep_data === 1;
  }

  beginUpdate(id: string, previous: Previous): void {
    this.#db
      .prepare("UPDATE packages SET phase = 'updating', previous = ?, updated_at = ? WHERE id = ?")
      .run(JSON.stringify(previous), this.#now(), id);
  }

  /** The new version takes the row's place (the update is not done until finishUpdate). */
  switchVersion(id: string, manifest: Manifest, signer: string | null): void {
    this.#db
      .prepare('UPDATE packages SET version = ?, manifest = ?, signer = ?, updated_at = ? WHERE id = ?')
      .run(manifest.version, JSON.stringify(manifest), signer, this.#now(), id);
  }

  finishUpdate(id: string): void {
    this.#db
      .prepare("UPDATE packages SET phase = 'installed', previous = NULL, updated_at = ? WHERE id = ?")
      .run(this.#now(), id);
  }

  previousOf(id: string): Previous | undefined {
    const previous = this.#row(id)?.previous;
    return previous ? (JSON.parse(previous) as Previous) : undefined;
  }

  /** The version before the update again, installed. */
  rollBack(id: string, previous: Previous): void {
    this.#db
      .prepare(
        "UPDATE packages SET version = ?, manifest = ?, signer = ?, phase = 'installed', previous = NULL, updated_at = ? WHERE id = ?",
      )
      .run(previous.version, JSON.stringify(previous.manifest), previous.signer, this.#now(), id);
  }

  remove(id: string): void {
    this.#db.prepare('DELETE FROM packages WHERE id = ?').run(id);
  }

  #row(id: string): Row | undefined {
    return cachedStatement(this.#db, 'SELECT * FROM packages WHERE id = ?').get(id) as Row | undefined;
  }
}
