import path from 'node:path';
import type { Events } from './events/events.ts';
import { hostSsh } from './host/ssh.ts';
import { hostWireGuard } from './host/wireguard.ts';
import type { Logger } from './log/log.ts';
import type { Paths } from './paths.ts';
import type { Settings } from './settings/settings.ts';
import { SshService } from './ssh/ssh.ts';
import type { Db } from './state/db.ts';
import { VpnService } from './vpn/vpn.ts';

/**
 * Reaching the box from elsewhere, the composition root's part (made, started and stopped
 * by daemon-reach.ts): SSH for the owner (ssh/) and the WireGuard VPN (vpn/).
 */
export function createRemote(o: {
  settings: Settings;
  paths: Paths;
  db: Db;
  events: Events;
  hostname: () => string;
  log: Logger;
}) {
  const { settings, db, events } = o;
  const sshLog = o.log.child('ssh');
  const ssh = new SshService({
    db,
    user: settings.loginUser,
    host: hostSsh({
      home: path.join(o.paths.root, 'home', settings.loginUser),
      hostKeysDir: path.join(o.paths.root, 'etc/ssh'),
      // A development daemon leaves the developer's own sshd alone.
      unit: settings.dev ? '' : settings.sshUnit,
      busAddress: settings.dbusAddress || undefined,
      log: sshLog,
    }),
    events,
    log: sshLog,
  });
  const vpnLog = o.log.child('vpn');
  // The service is made below with the adapter, which tells it when wireguard-go exits.
  const ref: { vpn?: VpnService } = {};
  const wg = hostWireGuard({
    iface: settings.vpnInterface,
    netns: settings.vpnNetns,
    binary: settings.wireguardGoBinary,
    onExit: (why) => ref.vpn?.wireGuardExited(why),
    log: vpnLog,
  });
  const vpn = new VpnService({
    db,
    wg,
    subnet: settings.vpnSubnet,
    listenPort: settings.vpnPort,
    natTable: settings.vpnNftTable,
    endpoint: () => {
      const e = settings.vpnEndpoint || `${o.hostname()}.local`;
      return /:\d+$/.test(e) ? e : `${e}:${settings.vpnPort}`;
    },
    lanSubnets: settings.vpnLanSubnets,
    events,
    log: vpnLog,
  });
  ref.vpn = vpn;
  const reconcile = () => {
    void ssh.reconcile();
    void vpn.reconcile();
  };
  return {
    services: { ssh, vpn },
    start: reconcile,
    reconcile,
    async stop(): Promise<void> {
      await ssh.idle();
      await vpn.stop().catch((error) => vpnLog.warn('could not stop the VPN', { error }));
    },
    idle: () => Promise.all([ssh.idle(), vpn.idle()]),
  };
}
