import { acmeMethods } from '../acme/acme.rpc.ts';
import { auditMethods } from '../audit/audit.rpc.ts';
import { authMethods } from '../auth/auth.rpc.ts';
import { backupMethods } from '../backup/backup.rpc.ts';
import { checkMethods } from '../checks/checks.rpc.ts';
import { diskMethods } from '../disks/disks.rpc.ts';
import { eventMethods } from '../events/events.rpc.ts';
import { lanMethods } from '../lan/lan.rpc.ts';
import { channelMethods } from '../notifications/channels.rpc.ts';
import { notificationMethods } from '../notifications/notifications.rpc.ts';
import { packageMethods } from '../packages/packages.rpc.ts';
import { signerMethods } from '../packages/signers.rpc.ts';
import { setupMethods } from '../setup/setup.rpc.ts';
import { sshMethods } from '../ssh/ssh.rpc.ts';
import { stateMethods } from '../state/state.rpc.ts';
import { statusMethods } from '../status/status.rpc.ts';
import { systemMethods } from '../system/system.rpc.ts';
import { tlsMethods } from '../tls/tls.rpc.ts';
import { torMethods } from '../tor/tor.rpc.ts';
import { updateMethods } from '../update/update.rpc.ts';
import { vpnMethods } from '../vpn/vpn.rpc.ts';
import { discoverMethods } from './discover.ts';

/** Every method of the box, from every domain: the one registry behind all surfaces. */
export const METHODS = [
  ...discoverMethods,
  ...setupMethods,
  ...diskMethods,
  ...authMethods,
  ...auditMethods,
  ...notificationMethods,
  ...channelMethods,
  ...packageMethods,
  ...signerMethods,
  ...stateMethods,
  ...systemMethods,
  ...statusMethods,
  ...checkMethods,
  ...eventMethods,
  ...tlsMethods,
  ...acmeMethods,
  ...backupMethods,
  ...torMethods,
  ...lanMethods,
  ...updateMethods,
  ...sshMethods,
  ...vpnMethods,
] as const;

export type Methods = { [M in (typeof METHODS)[number] as M['name']]: M };
export type MethodName = keyof Methods;
