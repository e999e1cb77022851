import path from 'node:path';
import { avahiMdns } from './host/avahi.ts';
import { containerName } from './host/containers.ts';
import { hostDnsmasq } from './host/dnsmasq.ts';
import { hostIsolation } from './host/isolation.ts';
import { parseSubnet, vethName } from './host/lxc-parse.ts';
import type { Logger } from './log/log.ts';
import { mdnsRecords } from './names/mdns.ts';
import { Names } from './names/names.ts';
import { addressForSlot } from './packages/checks.ts';
import type { InstalledPackage } from './packages/rows.ts';
import type { Paths } from './paths.ts';
import type { Settings } from './settings/settings.ts';
import type { StateDocument } from './state/state-doc.ts';

/*
 * The names' part of the composition root (daemon.ts): container DNS and the isolation
 * rules, both following the packages table, run again whenever the packages change.
 */

export interface NamesParts {
  settings: Settings;
  paths: Paths;
  /** Where the containers live (their veths' names derive from it). */
  lxcPath: string;
  packages: () => readonly InstalledPackage[];
  state: StateDocument;
  log: Logger;
  /** The box's name now (what `<hostname>-<package>.local` is made of). */
  hostname: () => string;
  /** The web UI's port, once it listens (announced as `_http._tcp`). */
  webPort: () => number | undefined;
  /** Package interfaces at their LAN ports (web ones announced as `_https._tcp`). */
  lanInterfaces?: () => { package: string; name: string; protocol: string; port: number }[];
}

export function createNames(o: NamesParts) {
  const log = o.log.child('names');
  const dir = path.join(o.paths.runtimeDir, 'dns');
  const { gateway } = parseSubnet(o.settings.subnet);
  const names = new Names({
    dns: hostDnsmasq({ dir, log: log.child('dnsmasq') }),
    isolation: hostIsolation(log.child('isolation')),
    input: () => ({
      bridge: o.settings.bridge,
      gateway,
      table: o.settings.nftTable,
      upstream: o.settings.dnsUpstream,
      hostsFile: path.join(dir, 'hosts'),
      packages: o.packages().map((p) => ({
        id: p.id,
        address: addressForSlot(o.settings.subnet, p.slot),
        veth: vethName(path.join(o.lxcPath, containerName(p.id))),
        dependencies: p.manifest.dependencies.map((d) => d.id),
      })),
    }),
    log,
  });
  // mDNS through avahi: on a box, and in a test that gives a bus of its own; a development
  // daemon leaves the machine's avahi alone, as it does the machine's name.
  const { dev, dbusAddress } = o.settings;
  const mdns = !dev || dbusAddress ? avahiMdns({ busAddress: dbusAddress || undefined, log }) : undefined;
  let publishing: Promise<unknown> = Promise.resolve();
  const publish = () => {
    if (!mdns) return publishing;
    const records = () =>
      mdnsRecords({
        hostname: o.hostname(),
        packages: o.packages().map((p) => p.id),
        ...(o.webPort() === undefined ? {} : { webPort: o.webPort()! }),
        interfaces: o.lanInterfaces?.() ?? [],
      });
    publishing = publishing
      .then(() => mdns.publish(records()))
      .catch((error) => log.warn('could not publish the names by mDNS', { error }));
    return publishing;
  };
  const reconcile = () =>
    names.reconcile().catch((error) => {
      log.warn('names and isolation could not be brought up to date', { error });
      return [];
    });
  // A package that comes or goes changes the state document under /packages.
  // The hostname changes at /server/hostname.
  let pending: NodeJS.Timeout | undefined;
  const unsubscribe = o.state.subscribe(undefined, (m) => {
    // A package's own entry or its version: not every health report.
    const changed = (p: string) =>
      (p.startsWith('/packages/') && p.split('/').length <= 4) || p === '/server/hostname';
    if (m.kind !== 'patch' || !m.patch.some((op) => changed(op.path))) return;
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void reconcile();
      void publish();
    }, 100);
  });
  return {
    names,
    /** Both: DNS and isolation, then mDNS (which also notices an avahi that restarted). */
    reconcile: async () => {
      const steps = await reconcile();
      await publish();
      return steps;
    },
    stop: async () => {
      unsubscribe();
      if (pending) clearTimeout(pending);
      await names.stop();
      await publishing;
      await mdns?.close();
    },
  };
}
