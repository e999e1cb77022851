import type { Acme } from './acme/acme.ts';
import type { Audit } from './audit/audit.ts';
import type { Auth } from './auth/auth.ts';
import type { Backup } from './backup/backup.ts';
import type { Checks } from './checks/checks.ts';
import type { Disks } from './disks/disks.ts';
import type { Events } from './events/events.ts';
import type { InterfaceDirectory } from './lan/directory.ts';
import type { NotificationChannels } from './notifications/channels.ts';
import type { Notifications } from './notifications/notifications.ts';
import type { Packages } from './packages/packages.ts';
import type { Signers } from './packages/signers.ts';
import type { Setup } from './setup/setup.ts';
import type { SshService } from './ssh/ssh.ts';
import type { StateDocument } from './state/state-doc.ts';
import type { BoxStatus } from './status/status.ts';
import type { System } from './system/system.ts';
import type { Tls } from './tls/tls.ts';
import type { TorService } from './tor/tor.ts';
import type { UpdateService } from './update/update.ts';
import type { Uploads } from './uploads/uploads.ts';
import type { VpnService } from './vpn/vpn.ts';

/** The domain services a method handler may call into: one line each. */
export interface Services {
  acme: Acme;
  auth: Auth;
  backup: Backup;
  audit: Audit;
  checks: Checks;
  disks: Disks;
  events: Events;
  lan: InterfaceDirectory;
  notifications: Notifications;
  notificationChannels: NotificationChannels;
  packages: Packages;
  setup: Setup;
  signers: Signers;
  ssh: SshService;
  state: StateDocument;
  status: BoxStatus;
  system: System;
  tls: Tls;
  tor: TorService;
  update: UpdateService;
  uploads: Uploads;
  vpn: VpnService;
}
