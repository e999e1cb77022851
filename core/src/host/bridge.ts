import fs from 'node:fs/promises';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import { type IpLink, parseIpAddrShow, parseSubnet, renderNatTable, type Subnet } from './lxc-parse.ts';
import { CommandFailed, run } from './run.ts';

/**
 * The containers' network: a bridge with the host's address (the first of the subnet),
 * every container's veth on it with a fixed address, and masquerading out of the box.
 * Name, subnet and nft table are parameters so a test never touches the real one.
 */
export interface NetworkSpec {
  bridge: string;
  /** e.g. 10.73.0.0/24 */
  subnet: string;
  /** The nft table (family ip) that holds the NAT rule; it belongs to this bridge alone. */
  nftTable: string;
}

export const DEFAULT_NETWORK: NetworkSpec = { bridge: 'hearth0', subnet: '10.73.0.0/24', nftTable: 'hearth' };

export interface Bridge {
  /** Creates what is missing and leaves what is right; returns the parsed subnet. */
  ensure(spec: NetworkSpec): Promise<Subnet>;
  /** Removes the bridge and its nft tables (NAT, isolation); missing ones are fine. */
  teardown(spec: NetworkSpec): Promise<void>;
  /** The host's links (all, or one); an absent `dev` gives []. */
  links(dev?: string): Promise<IpLink[]>;
}

export class NetworkConflict extends HearthError {
  constructor(message: string, hint: string) {
    super('network_conflict', message, { hint });
  }
}

const NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,14}$/;

export function hostBridge(log: Logger, procSys = '/proc/sys'): Bridge {
  const ip = (argv: string[]) => run(['ip', ...argv], { log, debianPackage: 'iproute2' });
  const nft = (argv: string[], input?: string) =>
    run(['nft', ...argv], { log, debianPackage: 'nftables', ...(input === undefined ? {} : { input }) });

  const links = async (dev?: string) => {
    try {
      return parseIpAddrShow((await ip(['-j', '-d', 'addr', 'show', ...(dev ? ['dev', dev] : [])])).stdout);
    } catch (e) {
      if (dev && e instanceof CommandFailed && /does not exist/.test(e.stderr)) return [];
      throw e;
    }
  };
  const tables = async () => (await nft(['list', 'tables'])).stdout;
  const hasTable = async (name: string) => (await tables()).split('\n').includes(`table ip ${name}`);

  const check = (spec: NetworkSpec) => {
    for (const n of [spec.bridge, spec.nftTable]) {
      if (!NAME.test(n)) {
        throw new HearthError('invalid_params', `'${n}' is not a usable interface or table name`, {
          hint: 'use up to 15 letters, digits, - or _',
        });
      }
    }
    return parseSubnet(spec.subnet);
  };

  return {
    async ensure(spec) {
      const subnet = check(spec);
      let [link] = await links(spec.bridge);
      if (!link) {
        await ip(['link', 'add', 'name', spec.bridge, 'type', 'bridge']);
        [link] = await links(spec.bridge);
      }
      if (link?.kind !== 'bridge') {
        throw new NetworkConflict(
          `${spec.bridge} exists and is not a bridge`,
          `remove it (ip link del ${spec.bridge}) or choose another bridge name`,
        );
      }
      const own = link.ipv4.find((a) => a.address === subnet.gateway);
      if (own && own.prefix !== subnet.prefix) {
        throw new NetworkConflict(
          `${spec.bridge} has ${own.address}/${own.prefix}, not /${subnet.prefix}`,
          `remove the address (ip addr del ${own.address}/${own.prefix} dev ${spec.bridge})`,
        );
      }
      if (!own) await ip(['addr', 'add', `${subnet.gateway}/${subnet.prefix}`, 'dev', spec.bridge]);
      if (!link.up) await ip(['link', 'set', 'dev', spec.bridge, 'up']);
      // Global, not per interface: a reply coming in on the uplink is forwarded too.
      await fs.writeFile(`${procSys}/net/ipv4/ip_forward`, '1\n');
      // The host answers ARP for every container, so that containers reach each other
      // through it (routed, where the isolation rules see them): frames between two
      // containers' ports are never bridged (names/plan.ts renderIsolation).
      await fs.writeFile(`${procSys}/net/ipv4/conf/${spec.bridge}/proxy_arp_pvlan`, '1\n');
      await nft(['-f', '-'], renderNatTable(spec.nftTable, subnet, spec.bridge));
      return subnet;
    },

    async teardown(spec) {
      check(spec);
      if (await hasTable(spec.nftTable)) await nft(['delete', 'table', 'ip', spec.nftTable]);
      // The isolation rules' tables (host/isolation.ts) have the same name.
      const all = (await tables()).split('\n');
      for (const family of ['inet', 'bridge']) {
        if (all.includes(`table ${family} ${spec.nftTable}`))
          await nft(['delete', 'table', family, spec.nftTable]);
      }
      if ((await links(spec.bridge)).length > 0) await ip(['link', 'del', 'dev', spec.bridge]);
    },

    links,
  };
}
