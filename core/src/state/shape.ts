import type { CheckResult } from '../checks/checks.ts';
import type { Notification } from '../notifications/notifications.ts';
import type { Health } from '../packages/effects-host.ts';
import type { Desired, Phase } from '../packages/plan.ts';
import type { PackageStatus } from '../packages/reconciler.ts';

/**
 * The shape of the state document (`state.get`, `state.subscribe`): what each domain
 * publishes, as its publisher writes it (each `satisfies` its part). The web UI reads the
 * document through these types; nothing outside the core defines them again.
 */
export interface HearthState {
  server?: ServerState;
  packages?: Record<string, PackageState>;
  metrics?: MetricsState;
  notifications?: { unseen: number; items: Record<string, Notification> };
  checks?: Record<string, CheckResult>;
  tor?: TorState;
  backup?: BackupState;
  update?: UpdateState;
}

/** Backups (backup/backup.ts `publish`): the targets, the run under way, the last one. */
export interface BackupState {
  targets: Record<
    string,
    { name: string; kind: 'local' | 'usb'; lastBackupAt: number | null; lastError: string | null }
  >;
  running: {
    run: number;
    kind: 'backup' | 'restore';
    target: string;
    step: string;
    done: number | null;
    total: number | null;
    startedAt: number;
  } | null;
  last: {
    run: number;
    kind: 'backup' | 'restore';
    phase: string;
    finishedAt: number | null;
    error: string | null;
  } | null;
}

/** The OS update (update/update.ts `publish`): what runs, what is offered, an apply under way, the last outcome. */
export interface UpdateState {
  /** Off: not an A/B system (a development machine) or no RAUC configuration. */
  supported: boolean;
  version: string;
  slot: 'A' | 'B' | null;
  phase: 'idle' | 'downloading' | 'verifying' | 'writing' | 'written' | 'trial';
  /** The version being applied, once known. */
  applying: string | null;
  available: { version: string; size: number; notes: string } | null;
  checkedAt: number | null;
  checkError: string | null;
  last: {
    outcome: 'updated' | 'fell-back' | 'failed';
    version: string | null;
    error: string | null;
    at: number;
  } | null;
}

/** Tor and the onion services (tor/tor.ts `publish`), by `<package>/<interface>`. */
export interface TorState {
  state: 'off' | 'starting' | 'bootstrapping' | 'ready' | 'failed';
  bootstrap: { progress: number; summary: string; warning?: string } | null;
  lastError: string | null;
  onions: Record<
    string,
    { package: string; interface: string; address: string; enabled: boolean; active: boolean }
  >;
}

export interface ServerState {
  hostname: string;
  version: string;
  arch: string;
  bootId: string;
  setupComplete: boolean;
  /** When this daemon started (ms): a new value means it started again. */
  startedAt: number;
}

export interface PackageState {
  id: string;
  version: string;
  title: string;
  desired: Desired;
  phase: Phase;
  status: PackageStatus;
  address: string;
  /** Each health check's last result, by check id. */
  health: Record<string, Health>;
  /** The package's daemons as its runtime reports them, by daemon id. */
  daemons?: Record<string, DaemonState>;
}

export interface DaemonState {
  state: string;
  exitCode: number | null;
  message: string;
  at: number;
}

/** One point of the vitals' history (server.metrics.history). */
export interface MetricsSample {
  at: number;
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
  temperatureCelsius: number | null;
  rxBytesPerSecond: number;
  txBytesPerSecond: number;
}

/** The newest vitals sample (server.metrics.history has the ones before it). */
export type MetricsState = MetricsSample;
