import type { Checks } from './checks/checks.ts';
import { createAcme } from './daemon-acme.ts';
import { acmeContexts, createLan } from './daemon-lan.ts';
import { createNames } from './daemon-names.ts';
import { createRemote } from './daemon-remote.ts';
import { createTls } from './daemon-tls.ts';
import { createTor } from './daemon-tor.ts';
import type { Events } from './events/events.ts';
import type { Logger } from './log/log.ts';
import type { Notifications } from './notifications/notifications.ts';
import type { Packages } from './packages/packages.ts';
import type { Paths } from './paths.ts';
import type { Settings } from './settings/settings.ts';
import type { Db } from './state/db.ts';
import type { StateDocument } from './state/state-doc.ts';
import { packageName } from './tls/names.ts';

/**
 * Reachability's part of the composition root (daemon.ts): the box's CA and certificates
 * (tls/), custom domains (acme/), onion services (tor/), container DNS, isolation and mDNS
 * (names/), every interface at a LAN port of its own (lan/, daemon-lan.ts), SSH and the VPN
 * (daemon-remote.ts) — built together, started once the packages have, and stopped together.
 */
export function createReach(o: {
  settings: Settings;
  paths: Paths;
  lxcPath: string;
  db: Db;
  state: StateDocument;
  events: Events;
  checks: Checks;
  notifications: Notifications;
  packages: () => Packages;
  hostname: () => string;
  isSetUp: () => boolean;
  /** The web UI's port, once it listens (announced over mDNS). */
  webPort: () => number | undefined;
  log: Logger;
}) {
  const { settings, paths, db, state, events, checks, log } = o;
  const names = createNames({
    settings,
    paths,
    lxcPath: o.lxcPath,
    packages: () => o.packages().list(),
    state,
    log,
    hostname: o.hostname,
    webPort: o.webPort,
    lanInterfaces: () => lan.ports.list().filter((p) => p.open),
  });
  const tls = createTls({
    db,
    keysDir: paths.tlsKeysDir,
    hostname: o.hostname,
    isSetUp: o.isSetUp,
    packages: () =>
      o
        .packages()
        .list()
        .map((p) => p.id),
    checks,
    events,
    log: log.child('tls'),
  });
  const tor = createTor({ settings, paths, db, state, events, checks, packages: o.packages, log });
  const acme = createAcme({
    settings,
    db,
    notifications: o.notifications,
    events,
    checks,
    log: log.child('acme'),
  });
  // The HTTPS listener serves a custom domain with its ACME certificate, by SNI.
  tls.useCustom(acmeContexts(acme));
  const lan = createLan({ ...o, ...{ settings, db, state, events, tls, acme, tor, log } });
  const remote = createRemote({ settings, paths, db, events, hostname: o.hostname, log });
  const reconcile = () => {
    remote.reconcile();
    // Onions point at the packages' containers; names and rules follow the packages.
    void tor.reconcile().catch((error) => log.warn('tor reconcile failed', { error }));
    void names.reconcile();
    void lan.reconcile();
  };
  return {
    names,
    tls,
    tor,
    acme,
    lan: lan.directory,
    lanPorts: lan.ports,
    /** What effects.getInterfaces tells a package of its interface on the LAN. */
    lanAddress(pkg: string, iface: string) {
      const p = lan.ports.list().find((x) => x.package === pkg && x.interface === iface);
      if (!p) return undefined;
      const host = packageName(o.hostname(), pkg);
      const tls = p.mode !== 'tcp' || p.protocol === 'https';
      const web = p.protocol === 'http' || p.protocol === 'https';
      return { host, port: p.port, tls, ...(web ? { url: `https://${host}:${p.port}/` } : {}) };
    },
    remote,
    /** After the packages have started. */
    start(): void {
      acme.start();
      reconcile();
    },
    reconcile,
    /** Tor and dnsmasq are our children and go with us; the isolation rules stay. */
    async stop(): Promise<void> {
      acme.stop();
      await lan.stop().catch((error) => log.warn('could not close the LAN ports', { error }));
      await tor.stop().catch((error) => log.warn('could not stop tor', { error }));
      await names.stop();
      await remote.stop();
    },
    idle: () => Promise.all([acme.idle(), remote.idle()]),
  };
}
