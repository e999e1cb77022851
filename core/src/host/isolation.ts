import type { Logger } from '../log/log.ts';
import { run } from './run.ts';

/**
 * The isolation rules between packages (names/plan.ts renders them) in nftables tables of
 * the daemon's own (families bridge and inet, named like the bridge's NAT table). They
 * stay when the daemon stops: the containers go on running, and so must their fences.
 */
export interface Isolation {
  /** The digest the rules carry (their table's comment); null when they are not there. */
  digest(table: string): Promise<string | null>;
  /** Replaces both tables in one transaction. */
  apply(script: string): Promise<void>;
  remove(table: string): Promise<void>;
}

/** What `nft list tables` and `nft list table bridge <t>` print → the digest, pure. */
export function parseIsolationDigest(tables: string, bridgeTable: string, table: string): string | null {
  const lines = tables.split('\n').map((l) => l.trim());
  if (!lines.includes(`table bridge ${table}`) || !lines.includes(`table inet ${table}`)) return null;
  return /comment "hearth isolation ([0-9a-f]+)"/.exec(bridgeTable)?.[1] ?? null;
}

export function hostIsolation(log: Logger): Isolation {
  const nft = (argv: string[], input?: string) =>
    run(['nft', ...argv], { log, debianPackage: 'nftables', ...(input === undefined ? {} : { input }) });
  return {
    async digest(table) {
      const tables = (await nft(['list', 'tables'])).stdout;
      if (!tables.includes(`table bridge ${table}\n`)) return null;
      return parseIsolationDigest(tables, (await nft(['list', 'table', 'bridge', table])).stdout, table);
    },
    async apply(script) {
      await nft(['-f', '-'], script);
    },
    async remove(table) {
      const tables = (await nft(['list', 'tables'])).stdout.split('\n');
      for (const family of ['bridge', 'inet']) {
        if (tables.includes(`table ${family} ${table}`)) await nft(['delete', 'table', family, table]);
      }
    },
  };
}
