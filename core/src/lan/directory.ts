import { NotFound } from '../errors.ts';
import { type InterfaceAddress, interfaceAddresses } from './addresses.ts';
import type { LanPortView } from './lan.ts';
import type { InterfaceProtocol } from './plan.ts';

/*
 * interface.list: every installed interface with every address it has — its LAN port (by
 * the box's addresses and .local names), its onion, its custom domains — and whether each
 * answers, tried from the box itself.
 */

export interface DeclaredInterface {
  package: string;
  interface: string;
  name: string;
  kind: 'ui' | 'api' | 'p2p' | 'mcp';
  protocol: InterfaceProtocol;
  port: number;
  address: string;
}

export interface InterfaceEntry {
  package: string;
  interface: string;
  name: string;
  kind: DeclaredInterface['kind'];
  protocol: InterfaceProtocol;
  lanPort: number | null;
  addresses: InterfaceAddress[];
}

export interface DirectoryOptions {
  /** The installed packages' ids. */
  packages: () => string[];
  interfaces: () => DeclaredInterface[];
  ports: () => LanPortView[];
  /** The onion services turned on. */
  onions: () => {
    package: string;
    interface: string;
    address: string;
    port: number | null;
    active: boolean;
  }[];
  torReady: () => boolean;
  domains: () => {
    name: string;
    package: string | null;
    interface: string | null;
    hasCertificate: boolean;
  }[];
  hostname: () => string;
  boxAddresses: () => readonly string[];
  probe: (target: { host: string; port: number }) => Promise<boolean>;
}

export class InterfaceDirectory {
  readonly #o: DirectoryOptions;

  constructor(o: DirectoryOptions) {
    this.#o = o;
  }

  async interfaces(pkg?: string): Promise<InterfaceEntry[]> {
    const all = this.#o.interfaces();
    // A package without interfaces has an empty list; an unknown one is an error.
    if (pkg !== undefined && !this.#o.packages().includes(pkg)) throw new NotFound('package', pkg);
    const chosen = all.filter((i) => pkg === undefined || i.package === pkg);
    const ports = this.#o.ports();
    const onions = this.#o.onions();
    const domains = this.#o.domains();
    const hostname = this.#o.hostname();
    const boxAddresses = this.#o.boxAddresses();
    const torReady = this.#o.torReady();
    return Promise.all(
      chosen.map(async (i) => {
        const same = (x: { package: string | null; interface: string | null }) =>
          x.package === i.package && x.interface === i.interface;
        const lan = ports.find(same);
        const onion = onions.find(same);
        const serviceAnswers = lan?.open ? await this.#o.probe({ host: i.address, port: i.port }) : false;
        return {
          package: i.package,
          interface: i.interface,
          name: i.name,
          kind: i.kind,
          protocol: i.protocol,
          lanPort: lan?.port ?? null,
          addresses: interfaceAddresses({
            hostname,
            boxAddresses,
            package: i.package,
            protocol: i.protocol,
            lan,
            serviceAnswers,
            onion: onion ? { ...onion, torReady } : undefined,
            domains: domains.filter(same),
          }),
        };
      }),
    );
  }
}
