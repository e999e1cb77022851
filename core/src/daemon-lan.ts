import tls from 'node:tls';
import type { Acme } from './acme/acme.ts';
import type { Events } from './events/events.ts';
import { hostLanProxy } from './host/lan-proxy.ts';
import { ownAddresses } from './host/outbound.ts';
import { InterfaceDirectory } from './lan/directory.ts';
import { LanPorts } from './lan/lan.ts';
import type { Logger } from './log/log.ts';
import type { Packages } from './packages/packages.ts';
import type { Settings } from './settings/settings.ts';
import type { Db } from './state/db.ts';
import type { StateDocument } from './state/state-doc.ts';
import { packageName } from './tls/names.ts';
import type { Tls } from './tls/tls.ts';
import type { TorService } from './tor/tor.ts';

/*
 * The LAN ports' part of the composition root (daemon.ts, through daemon-reach.ts): a port
 * per package interface with the proxy behind it, the certificates it serves by SNI (the
 * package's own name, a custom domain of the interface's package, else the box's), and
 * interface.list over them, tor's onions and the custom domains.
 */

/** Custom domains' certificates as TLS contexts, made once per certificate. */
export function acmeContexts(acme: Acme): (name: string) => tls.SecureContext | undefined {
  const made = new Map<string, { pem: string; context: tls.SecureContext }>();
  return (name) => {
    const c = acme.certificateFor(name);
    if (!c) return undefined;
    const had = made.get(name);
    if (had?.pem === c.certPem) return had.context;
    const context = tls.createSecureContext({ cert: c.certPem, key: c.keyPem });
    made.set(name, { pem: c.certPem, context });
    return context;
  };
}

export function createLan(o: {
  settings: Settings;
  db: Db;
  state: StateDocument;
  events: Events;
  packages: () => Packages;
  tls: Tls;
  acme: Acme;
  tor: TorService;
  hostname: () => string;
  isSetUp: () => boolean;
  log: Logger;
}) {
  const log = o.log.child('lan');
  const custom = acmeContexts(o.acme);
  const interfaces = () => {
    const packages = o.packages();
    return packages.list().flatMap((pkg) =>
      pkg.manifest.interfaces.map((i) => ({
        package: pkg.id,
        interface: i.id,
        name: i.name,
        kind: i.kind,
        protocol: i.protocol,
        port: i.port,
        ...(i.tls ? { tls: i.tls } : {}),
        address: packages.views.address(pkg),
      })),
    );
  };
  const proxy = hostLanProxy({
    host: o.settings.listen,
    credentials: () => o.tls.boxCredentials,
    contextFor: (pkg, serverName) => {
      const name = serverName.toLowerCase().replace(/\.$/, '');
      const domain = o.acme.list().find((d) => d.name === name && d.package === pkg);
      if (domain) return custom(name) ?? o.tls.boxContext;
      if (name === packageName(o.hostname(), pkg)) return o.tls.contextFor(name);
      return o.tls.boxContext;
    },
    timeoutMs: o.settings.lanProxyTimeoutSeconds * 1000,
    log,
  });
  const ports = new LanPorts({
    db: o.db,
    proxy,
    interfaces,
    range: o.settings.lanPorts,
    events: o.events,
    log,
  });
  const directory = new InterfaceDirectory({
    packages: () =>
      o
        .packages()
        .list()
        .map((p) => p.id),
    interfaces,
    ports: () => ports.list(),
    onions: () => o.tor.problem().onions.filter((x) => x.enabled),
    torReady: () => o.tor.problem().state === 'ready',
    domains: () =>
      o.acme.list().map((d) => ({ ...d, hasCertificate: o.acme.certificateFor(d.name) !== undefined })),
    hostname: o.hostname,
    boxAddresses: () => [...ownAddresses()],
    probe: (target) => proxy.probe(target),
  });
  o.tls.onChange(() => {
    proxy.refreshCredentials();
    void reconcile();
  });
  // The ports open once the box is set up and has its certificate (the web ones need it).
  const reconcile = async () => {
    if (!o.isSetUp()) return;
    try {
      await o.tls.reconcile();
      if (!o.tls.boxCredentials) return;
      await ports.reconcile();
    } catch (error) {
      log.warn('LAN ports could not be brought up to date', { error });
    }
  };
  // A package that comes or goes, or moves, changes its entry under /packages: ports follow.
  let pending: NodeJS.Timeout | undefined;
  const unsubscribe = o.state.subscribe(undefined, (m) => {
    const changed = (p: string) => p.startsWith('/packages/') && p.split('/').length <= 4;
    if (m.kind !== 'patch' || pending || !m.patch.some((op) => changed(op.path))) return;
    pending = setTimeout(() => {
      pending = undefined;
      void reconcile();
    }, 100);
  });
  return {
    ports,
    directory,
    reconcile,
    stop: () => {
      unsubscribe();
      if (pending) clearTimeout(pending);
      return ports.stop();
    },
  };
}
