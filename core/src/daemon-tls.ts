import type https from 'node:https';
import type { Checks } from './checks/checks.ts';
import { expiryCheck } from './checks/hooks.ts';
import type { Events } from './events/events.ts';
import { closeServer, listen } from './host/daemon-files.ts';
import { ownAddresses } from './host/outbound.ts';
import { fileKeyStore } from './host/tls-keys.ts';
import type { Logger } from './log/log.ts';
import type { HttpSurface } from './rpc/http.ts';
import type { Settings } from './settings/settings.ts';
import type { Db } from './state/db.ts';
import { Tls } from './tls/tls.ts';

/*
 * The certificates' part of the composition root (daemon.ts): the CA and its leaves, their
 * expiry check, and the HTTPS listener that opens once the box is set up.
 */

/** The HTTPS port the settings ask for: 443 unless told, none in development unless told. */
export function httpsPortOf(settings: Settings): number | undefined {
  if (settings.httpsPort === 'off') return undefined;
  if (settings.httpsPort === '') return settings.dev ? undefined : 443;
  return settings.httpsPort;
}

export function createTls(o: {
  db: Db;
  keysDir: string;
  hostname: () => string;
  isSetUp: () => boolean;
  packages: () => string[];
  checks: Checks;
  events: Events;
  log: Logger;
}): Tls {
  const tls = new Tls({
    db: o.db,
    keys: fileKeyStore(o.keysDir),
    desired: () =>
      o.isSetUp()
        ? { hostname: o.hostname(), addresses: [...ownAddresses()], packages: o.packages() }
        : undefined,
    // Loaded at the first certificate: a box in setup mode never loads it.
    x509: () => import('./tls/x509.ts'),
    record: (e) => o.events.record({ package: e.package, kind: 'certificate', detail: e.detail }),
    log: o.log,
  });
  o.checks.register(
    expiryCheck({
      id: 'box-certificates',
      title: 'The box’s own certificates',
      items: async () => tls.expiring(),
      renewHint:
        'the box renews its certificates by itself; if this stays, look at hearth server logs for “certificate step failed”',
    }),
  );
  return tls;
}

/**
 * Serves the surface over TLS on `port` once the box is set up and has its certificate;
 * `up` is called at start, after setup and now and then (it also brings the certificates
 * in line first). The certificate in use follows renewals without a restart.
 */
export function httpsListener(o: {
  surface: HttpSurface;
  tls: Tls;
  port: number | undefined;
  host: string;
  isSetUp: () => boolean;
  onOpen: (port: number) => void;
  log: Logger;
}) {
  let server: https.Server | undefined;
  let pass: Promise<void> = Promise.resolve();
  o.tls.onChange(() => {
    if (server && o.tls.boxCredentials) server.setSecureContext(o.tls.boxCredentials);
  });
  const open = async () => {
    if (!o.isSetUp()) return;
    await o.tls.reconcile();
    if (server || o.port === undefined) return;
    const creds = o.tls.boxCredentials;
    if (!creds) return o.log.warn('no certificate yet: HTTPS waits');
    const s = o.surface.createSecureServer((name) => o.tls.contextFor(name));
    s.setSecureContext(creds);
    await listen(s, { port: o.port, host: o.host });
    server = s;
    const port = (s.address() as { port: number }).port;
    o.tls.httpsPort = port;
    o.log.info('listening over HTTPS', { port });
    o.onOpen(port);
  };
  return {
    /** Opens HTTPS if it is due, after bringing the certificates in line; never throws. */
    up(): Promise<void> {
      pass = pass.then(open).catch((error) => o.log.warn('HTTPS could not open', { error }));
      return pass;
    },
    port: (): number | undefined => (server ? (o.tls.httpsPort ?? undefined) : undefined),
    /** Stops taking connections; resolves when the open ones have ended (see cut). */
    async close(): Promise<void> {
      await pass;
      if (server) await closeServer(server);
    },
    /** Cuts the connections still open. */
    cut: () => server?.closeAllConnections(),
  };
}
