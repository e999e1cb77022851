import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { HearthError } from '../errors.ts';
import { loadSqliteBinding } from '../host/native-addon.ts';
import type { Migration } from './migrations.ts';

export type Db = Database.Database;

let binding: object | undefined | null = null;

/** Opens (creating if needed) a SQLite database in WAL mode with foreign keys on. */
export function openDatabase(file: string): Db {
  if (binding === null) binding = loadSqliteBinding();
  // Searchable, not readable: containers' roots pass through the data dir to their
  // volumes. The database file itself is made root's alone by the daemon.
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o711 });
  const db = new Database(file, binding ? { nativeBinding: binding as unknown as string } : {});
  db.pragma('journal_mode = WAL');
  // NORMAL is durable against a crash of the process (kill -9); only a power cut can
  // lose the last transactions, never corrupt the database.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * A prepared statement kept for the life of the connection: for the queries on the hot
 * path of every call (credential lookups), where preparing each time is most of the cost.
 */
export function cachedStatement(db: Db, sql: string): Database.Statement {
  const byDb = statements.get(db) ?? new Map<string, Database.Statement>();
  statements.set(db, byDb);
  const stmt = byDb.get(sql) ?? db.prepare(sql);
  byDb.set(sql, stmt);
  return stmt;
}

export class DatabaseTooNew extends HearthError {
  constructor(file: string, found: number, known: number) {
    super(
      'database_too_new',
      `the database ${file} is at schema version ${found}, but this Hearth knows only up to ${known}`,
      {
        hint: 'a newer Hearth wrote it: run that version again, or restore a backup made by this one',
        data: { found, known },
      },
    );
  }
}

export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Applies forward migrations in order, each in its own transaction together with the
 * bump of `user_version`, so a crash leaves the database at a whole version.
 */
export function migrate(db: Db, migrations: readonly Migration[], file = db.name): MigrationResult {
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > known) throw new DatabaseTooNew(file, from, known);
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to: known };
}
