import { parseArgs } from 'node:util';
import { makePaths } from '../paths.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { COMMIT, VERSION } from '../version.ts';

/** Placeholder front door; the registry-generated CLI replaces it. */
export async function runCli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'version') {
    process.stdout.write(`hearth ${VERSION} (${COMMIT}) node ${process.version} ${process.arch}\n`);
    return 0;
  }
  if (cmd === 'db' && rest[0] === 'migrate') {
    const { values } = parseArgs({ args: rest.slice(1), options: { root: { type: 'string', default: '/' } } });
    const paths = makePaths(values.root!);
    const db = openDatabase(paths.database);
    const r = migrate(db, MIGRATIONS);
    db.close();
    process.stdout.write(`database ${paths.database}: schema ${r.from} → ${r.to}\n`);
    return 0;
  }
  process.stderr.write(`hearth: unknown command '${argv.join(' ')}'\n`);
  return 64;
}
