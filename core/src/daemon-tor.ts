import type { Checks } from './checks/checks.ts';
import type { Events } from './events/events.ts';
import { hostTor } from './host/tor.ts';
import type { Logger } from './log/log.ts';
import type { Packages } from './packages/packages.ts';
import type { Paths } from './paths.ts';
import type { Settings } from './settings/settings.ts';
import type { Db } from './state/db.ts';
import type { StateDocument } from './state/state-doc.ts';
import { torCheck } from './tor/checks.ts';
import type { ExposedInterface } from './tor/plan.ts';
import { TorService } from './tor/tor.ts';

/*
 * Tor's part of the composition root (daemon.ts): Debian's tor as our child, the onion
 * services over it, their check. Tor itself starts only once an onion is turned on.
 */

export function createTor(o: {
  settings: Settings;
  paths: Paths;
  db: Db;
  state: StateDocument;
  events: Events;
  checks: Checks;
  packages: () => Packages;
  log: Logger;
}): TorService {
  const log = o.log.child('tor');
  const interfaces = (): ExposedInterface[] => {
    const packages = o.packages();
    return packages.list().flatMap((pkg) =>
      pkg.manifest.interfaces.map((i) => ({
        package: pkg.id,
        interface: i.id,
        protocol: i.protocol,
        port: i.port,
        address: packages.views.address(pkg),
      })),
    );
  };
  // The service is made below with the adapter, which tells it when tor exits.
  const ref: { service?: TorService } = {};
  const tor = hostTor({
    binary: o.settings.torBinary,
    dataDir: o.paths.torDataDir,
    runtimeDir: o.paths.torRuntimeDir,
    ...(o.settings.torExtraConfig ? { extraConfig: o.settings.torExtraConfig } : {}),
    onExit: (why) => {
      ref.service?.torExited(why);
      void o.checks.run('tor');
    },
    log,
  });
  const service = new TorService({ db: o.db, tor, interfaces, state: o.state, events: o.events, log });
  ref.service = service;
  o.checks.register(torCheck({ status: () => service.problem() }));
  return service;
}
