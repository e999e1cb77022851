import path from 'node:path';

/**
 * Every host path the daemon and the CLI use, built from one root so that a test can run
 * a whole daemon inside a temporary directory (`--root /tmp/x`).
 */
export interface Paths {
  root: string;
  dataDir: string;
  runtimeDir: string;
  configFile: string;
  logFile: string;
  database: string;
  /** The daemon's local socket: the CLI on the box talks to it. */
  socket: string;
  /** Root-only file holding the secret that lets root's CLI act without logging in. */
  localCookie: string;
  /**
   * Where a new data drive is mounted while the state moves onto it: beside the runtime
   * directory, not in it, as systemd empties that one when the daemon stops.
   */
  dataDriveStaging: string;
  /**
   * The boot partition (FAT, readable from any computer), where the owner can leave a
   * recovery request for the box to find at its next start.
   */
  bootDir: string;
  /** The private keys of the box's CA and certificates (0700, each key 0600), on the data drive. */
  tlsKeysDir: string;
  /** Tor's DataDirectory: its caches and state; the onion keys are in the database. */
  torDataDir: string;
  /** Tor's torrc and control socket (0700). */
  torRuntimeDir: string;
}

export interface PathOverrides {
  dataDir?: string | undefined;
  runtimeDir?: string | undefined;
  configFile?: string | undefined;
}

export function makePaths(root: string, overrides: PathOverrides = {}): Paths {
  const at = (p: string) => path.join(root, p);
  const dataDir = overrides.dataDir ?? at('var/lib/hearth');
  const runtimeDir = overrides.runtimeDir ?? at('run/hearth');
  return {
    root,
    dataDir,
    runtimeDir,
    configFile: overrides.configFile ?? at('etc/hearth/config.json'),
    logFile: at('var/log/hearth/hearth.log'),
    database: path.join(dataDir, 'hearth.db'),
    socket: path.join(runtimeDir, 'hearth.sock'),
    localCookie: path.join(runtimeDir, 'local.cookie'),
    dataDriveStaging: path.join(path.dirname(runtimeDir), 'hearth-data-drive'),
    bootDir: at('efi'),
    tlsKeysDir: path.join(dataDir, 'tls'),
    torDataDir: path.join(dataDir, 'tor'),
    torRuntimeDir: path.join(runtimeDir, 'tor'),
  };
}
