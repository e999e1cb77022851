import fs from 'node:fs';
import { Acme } from './acme/acme.ts';
import { AcmeRows } from './acme/rows.ts';
import type { Checks } from './checks/checks.ts';
import type { Events } from './events/events.ts';
import type { AcmeCa } from './host/acme.ts';
import { rfc2136Provider } from './host/rfc2136.ts';
import type { Logger } from './log/log.ts';
import type { Notifications } from './notifications/notifications.ts';
import type { Settings } from './settings/settings.ts';
import type { Db } from './state/db.ts';

/*
 * The custom domains' part of the composition root (daemon.ts): the ACME domain with its
 * host adapters, its checks, and its loop. acme-client is imported at the first order.
 */
export function createAcme(o: {
  events: Events;
  settings: Settings;
  db: Db;
  notifications: Notifications;
  checks: Checks;
  log: Logger;
}): Acme {
  let ca: Promise<AcmeCa> | undefined;
  const acme = new Acme({
    rows: new AcmeRows(o.db),
    ca: () => {
      ca ??= import('./host/acme.ts').then((m) =>
        m.acmeCa(o.settings.acmeCaFile ? { caPem: fs.readFileSync(o.settings.acmeCaFile, 'utf8') } : {}),
      );
      return ca;
    },
    dnsProvider: rfc2136Provider,
    notifications: o.notifications,
    events: o.events,
    directoryUrl: o.settings.acmeDirectoryUrl,
    email: o.settings.acmeEmail,
    log: o.log,
  });
  for (const check of acme.checks()) o.checks.register(check);
  return acme;
}
