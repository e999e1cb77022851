/**
 * Forward migrations of the daemon's database, in order. Never edit one that has shipped:
 * add the next. `migrate()` runs each pending one in a transaction.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'foundation',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        address TEXT NOT NULL,
        user_agent TEXT NOT NULL
      ) STRICT;

      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('read', 'operate', 'admin')),
        secret_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      ) STRICT;

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        method TEXT NOT NULL,
        surface TEXT NOT NULL,
        caller_kind TEXT NOT NULL,
        caller_id TEXT,
        caller_name TEXT,
        address TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        error_code TEXT,
        params TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_at ON audit (at);
      CREATE INDEX audit_method ON audit (method, at);

      CREATE TABLE notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('info', 'success', 'warning', 'error')),
        title TEXT NOT NULL,
        message TEXT NOT NULL,
        source TEXT NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'trusted signers',
    sql: `
      CREATE TABLE signers (
        public_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        added_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: 'packages',
    sql: `
      CREATE TABLE packages (
        id TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        manifest TEXT NOT NULL,
        desired TEXT NOT NULL CHECK (desired IN ('running', 'stopped')),
        phase TEXT NOT NULL CHECK (phase IN ('installing', 'installed', 'updating', 'removing')),
        slot INTEGER NOT NULL UNIQUE CHECK (slot >= 0),
        signer TEXT,
        installed_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        previous TEXT
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'packages keep their data on removal',
    sql: `
      -- Whether removing the package (an uninstall, or undoing an install that a crash cut
      -- short) keeps its volumes: the choice must outlive a crash in the middle.
      ALTER TABLE packages ADD COLUMN keep_data INTEGER NOT NULL DEFAULT 0 CHECK (keep_data IN (0, 1));
    `,
  },
  {
    version: 5,
    name: 'audit records how a destructive call was confirmed',
    sql: `
      -- MCP: 'elicitation' (the client asked the person) or 'argument' (the agent sent confirm: true).
      ALTER TABLE audit ADD COLUMN confirmation TEXT CHECK (confirmation IN ('elicitation', 'argument'));
    `,
  },
  {
    version: 6,
    name: 'audit entries count the calls they stand for',
    sql: `
      -- Calls without a credential and failed calls are kept as one entry per address,
      -- method, outcome and minute, with how many there were.
      ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
    `,
  },
  {
    version: 7,
    name: 'a second factor for the owner',
    sql: `
      -- The TOTP secret shared with the owner's authenticator app; enabled_at is null while
      -- enrolment waits for its first code. last_step: the newest time step used to log in.
      CREATE TABLE totp (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        enabled_at INTEGER,
        last_step INTEGER NOT NULL DEFAULT -1
      ) STRICT;

      -- One-time codes for when the app is lost; only their hashes.
      CREATE TABLE recovery_codes (
        code_hash TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        used_at INTEGER
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: 'notification channels',
    sql: `
      -- Where notifications go besides the box: a mail server or a webhook. config holds the
      -- kind's settings as JSON and never a secret; secret holds the SMTP password or the
      -- webhook's bearer token, which no method returns.
      CREATE TABLE notification_channels (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
        name TEXT NOT NULL,
        min_level TEXT NOT NULL CHECK (min_level IN ('info', 'success', 'warning', 'error')),
        config TEXT NOT NULL,
        secret TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER,
        failed_at INTEGER,
        last_error TEXT
      ) STRICT;
    `,
  },
  {
    version: 9,
    name: 'the event history',
    sql: `
      -- What happened to a package or to the box (events/events.ts): package is null for the
      -- box itself; detail is a JSON object. Kept for a number of days (eventRetentionDays).
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        package TEXT,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
      CREATE INDEX events_package ON events (package, id);
      CREATE INDEX events_at ON events (at);
    `,
  },
  {
    version: 10,
    name: 'the box’s CA and certificates',
    sql: `
      -- The box's CA (root and intermediate) and the leaves it issued (tls/rows.ts): id is
      -- 'root', 'intermediate', 'box' or 'package:<id>'; the private key is a file on the
      -- data drive (key_file, under <data>/tls/), never in the database. issuer is the
      -- signer's fingerprint, so a leaf of an older intermediate is known for one.
      CREATE TABLE tls_certificates (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('root', 'intermediate', 'leaf')),
        package TEXT,
        dns TEXT NOT NULL DEFAULT '[]',
        ips TEXT NOT NULL DEFAULT '[]',
        cert_pem TEXT NOT NULL,
        key_file TEXT NOT NULL,
        issuer TEXT,
        fingerprint TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        issued_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 11,
    name: 'custom domains with ACME certificates',
    sql: `
      -- The ACME account per CA directory (acme/rows.ts): its key, made once, and its URL once
      -- the CA has it. A new directory (staging to production) is a new account.
      CREATE TABLE acme_accounts (
        directory TEXT PRIMARY KEY,
        key_pem TEXT NOT NULL,
        url TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
      -- A custom domain: the box's own (package null) or a package interface's. The row is the
      -- desired state (a certificate for name); the certificate columns what was last issued.
      -- dns holds the DNS-01 provider's settings as JSON without the secret, in dns_secret.
      CREATE TABLE acme_domains (
        name TEXT PRIMARY KEY,
        package TEXT,
        interface TEXT,
        challenge TEXT NOT NULL CHECK (challenge IN ('http-01', 'dns-01')),
        dns TEXT,
        dns_secret TEXT,
        cert_pem TEXT,
        key_pem TEXT,
        not_before INTEGER,
        not_after INTEGER,
        issued_at INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        last_attempt INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 12,
    name: 'onion services',
    sql: `
      -- A package interface's onion service (tor/): the ed25519 seed its v3 address is made
      -- from, so the address survives restarts, updates and restores. A row stays when the
      -- owner turns the onion off (enabled = 0), so turning it on again gives the same address.
      CREATE TABLE onion_services (
        package TEXT NOT NULL,
        interface TEXT NOT NULL,
        seed BLOB NOT NULL CHECK (length(seed) = 32),
        address TEXT NOT NULL UNIQUE,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (package, interface)
      ) STRICT;
    `,
  },
  {
    version: 13,
    name: 'lan ports',
    sql: `
      -- The LAN port the box gives a package interface (lan/): kept across restarts, updates
      -- and restores, and after the package goes, so a reinstall finds its port again; a
      -- gone package's port is given to another only when the range has no free one left.
      CREATE TABLE lan_ports (
        package TEXT NOT NULL,
        interface TEXT NOT NULL,
        port INTEGER NOT NULL UNIQUE CHECK (port BETWEEN 1 AND 65535),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (package, interface)
      ) STRICT;
      `,
  },
  {
    version: 14,
    name: 'backups',
    sql: `
      -- Where backups go (backup/): one restic repository per target, opened with the box's
      -- backup key (a 0600 file on the data drive). A local directory, or a USB disk found by
      -- its filesystem UUID and mounted only while it is used. phase 'adding' is what a crash
      -- during the repository's creation leaves; the next start forgets it (it was never answered).
      CREATE TABLE backup_targets (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('local', 'usb')),
        path TEXT,
        uuid TEXT,
        subdir TEXT,
        phase TEXT NOT NULL CHECK (phase IN ('adding', 'ready')),
        created_at INTEGER NOT NULL,
        last_backup_at INTEGER,
        last_error TEXT
      ) STRICT;
      -- Each backup or restore, written before it starts: a row left 'running' by a crash
      -- tells the next start what to undo (thaw, run the post hook, put data back).
      CREATE TABLE backup_runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('backup', 'restore')),
        target TEXT NOT NULL,
        packages TEXT NOT NULL,
        box INTEGER NOT NULL CHECK (box IN (0, 1)),
        snapshot TEXT,
        phase TEXT NOT NULL CHECK (phase IN ('running', 'done', 'failed', 'interrupted')),
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        error TEXT,
        result TEXT
      ) STRICT;
      CREATE INDEX backup_runs_phase ON backup_runs (phase);
    `,
  },
  {
    version: 15,
    name: 'ssh keys and the wireguard vpn',
    sql: `
      -- The owner's SSH public keys (ssh/): what the login user's authorized_keys holds.
      CREATE TABLE ssh_keys (
        fingerprint TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        blob TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      -- The box's WireGuard key (vpn/), made once, so the peers' configs stay good.
      CREATE TABLE vpn_server (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        private_key TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      -- A VPN peer: its keys (the private one to give its config again), its address in the
      -- VPN's network, and whether it reaches the home LAN through the box.
      CREATE TABLE vpn_peers (
        name TEXT PRIMARY KEY,
        private_key TEXT NOT NULL,
        public_key TEXT NOT NULL UNIQUE,
        preshared_key TEXT NOT NULL,
        address TEXT NOT NULL UNIQUE,
        lan INTEGER NOT NULL CHECK (lan IN (0, 1)),
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 16,
    name: 'os update',
    sql: `
      -- The OS update (update/): one row, written before anything is touched. phase is how
      -- far an apply got (a kill leaves it behind; the next pass goes on from there); source
      -- is where the bundle comes from (JSON: feed, upload or path); last_* the outcome of the
      -- last apply, which the owner reads after the reboot (updated, fell back, failed).
      CREATE TABLE os_update (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        phase TEXT NOT NULL CHECK (phase IN ('idle', 'downloading', 'verifying', 'writing', 'written', 'trial')),
        version TEXT,
        source TEXT,
        allow_downgrade INTEGER NOT NULL DEFAULT 0,
        reboot_when_ready INTEGER NOT NULL DEFAULT 0,
        from_slot TEXT CHECK (from_slot IN ('A', 'B')),
        from_version TEXT,
        reboot_requested_in TEXT,
        started_at INTEGER,
        feed_sequence INTEGER,
        checked_at INTEGER,
        available TEXT,
        last_outcome TEXT CHECK (last_outcome IN ('updated', 'fell-back', 'failed')),
        last_version TEXT,
        last_error TEXT,
        last_at INTEGER
      ) STRICT;
      INSERT INTO os_update (id, phase) VALUES (1, 'idle');
    `,
  },
];
