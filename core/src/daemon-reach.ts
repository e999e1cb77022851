import type { Checks } from './checks/checks.ts';
import { createAcme } from './daemon-acme.ts';
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

/**
 * Reachability's part of the composition root (daemon.ts): the box's CA and certificates
 * (tls/), custom domains (acme/), onion services (tor/), container DNS, isolation and mDNS
 * (names/), SSH and the VPN (daemon-remote.ts) — built together, started once the packages
 * have, and stopped together.
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
  const remote = createRemote({ settings, paths, db, events, hostname: o.hostname, log });
  const reconcile = () => {
    remote.reconcile();
    // Onions point at the packages' containers; names and rules follow the packages.
    void tor.reconcile().catch((error) => log.warn('tor reconcile failed', { error }));
    void names.reconcile();
  };
  return {
    names,
    tls,
    tor,
    acme,
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
      await tor.stop().catch((error) => log.warn('could not stop tor', { error }));
      await names.stop();
      await remote.stop();
    },
    idle: () => Promise.all([acme.idle(), remote.idle()]),
  };
}
