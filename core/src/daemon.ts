import os from 'node:os';
import path from 'node:path';
import { Audit } from './audit/audit.ts';
import { Auth } from './auth/auth.ts';
import type { KdfParams } from './auth/passwords.ts';
import { LoginLimiter } from './auth/rate-limit.ts';
import { createBackup } from './daemon-backup.ts';
import { createChecks } from './daemon-checks.ts';
import { createPackages } from './daemon-packages.ts';
import { createReach } from './daemon-reach.ts';
import { httpsListener, httpsPortOf } from './daemon-tls.ts';
import { startEarly } from './daemon-update.ts';
import { Events } from './events/events.ts';
import { closeServer, listen, removeFiles, restrictDataDir, writeJsonFile } from './host/daemon-files.ts';
import { hostnamedHostname } from './host/hostname.ts';
import { writeLocalCookie } from './host/local-cookie.ts';
import { fileLogSource, journalLogSource } from './host/logs.ts';
import { hostLxc } from './host/lxc.ts';
import { hostMounts } from './host/mounts.ts';
import { ownAddresses } from './host/outbound.ts';
import { logindPower } from './host/power.ts';
import { hostProcfs } from './host/procfs.ts';
import { reexecSelf } from './host/reexec.ts';
import { startWatchdog, systemdNotifier } from './host/sd-notify.ts';
import { loadWebAssets } from './host/web-assets.ts';
import { createLogger, fileSink, type Logger, type LogSink, stdoutSink } from './log/log.ts';
import { mcpSurface } from './mcp/surface.ts';
import { NotificationChannels } from './notifications/channels.ts';
import { Notifications } from './notifications/notifications.ts';
import { Signers } from './packages/signers.ts';
import { makePaths, type Paths } from './paths.ts';
import { AppCapabilities } from './rpc/app-capability.ts';
import { CallLimits } from './rpc/call-limits.ts';
import { Dispatcher } from './rpc/dispatch.ts';
import { hostAllowed } from './rpc/host-check.ts';
import { HttpSurface } from './rpc/http.ts';
import { METHODS } from './rpc/methods.ts';
import { Registry } from './rpc/registry.ts';
import { webUi } from './rpc/web-ui.ts';
import type { Services } from './services.ts';
import type { Settings } from './settings/settings.ts';
import { BootRecovery } from './setup/boot-request.ts';
import { FactoryReset } from './setup/reset.ts';
import { Setup } from './setup/setup.ts';
import { migrate, openDatabase } from './state/db.ts';
import { MIGRATIONS } from './state/migrations.ts';
import { createState, REVISION_FLOOR } from './state/persisted.ts';
import { BoxStatus } from './status/status.ts';
import { System } from './system/system.ts';
import { Uploads } from './uploads/uploads.ts';
import { VERSION } from './version.ts';

export interface DaemonHooks {
  /** Where log lines go; default stdout (with `<N>` priorities) plus a file off-journal. */
  sinks?: LogSink[];
  env?: NodeJS.ProcessEnv;
  /** Password hashing cost; only tests lower it. */
  kdf?: KdfParams;
}

export interface RunningDaemon {
  paths: Paths;
  port: number;
  log: Logger;
  stop(): Promise<void>;
}

/** Written to `<runtime>/daemon.json` so the CLI and tests find a daemon on port 0. */
export interface DaemonInfo {
  pid: number;
  port: number;
  /** Once the box serves HTTPS (after setup). */
  httpsPort?: number;
  socket: string;
  version: string;
}

const HOUR = 3_600_000;
/** The machine's name before setup, as the image has it. */
const DEFAULT_HOSTNAME = 'hearth';
// How long a stop waits for calls and package operations under way (systemd waits 90 s).
const STOP_GRACE_MS = 10_000;

/**
 * The composition root: builds every service in dependency order, opens the surfaces,
 * and tells systemd when it is ready. Order matters where commented.
 */
export async function startDaemon(settings: Settings, hooks: DaemonHooks = {}): Promise<RunningDaemon> {
  const env = hooks.env ?? process.env;
  const paths = makePaths(settings.root, {
    dataDir: settings.dataDir || undefined,
    runtimeDir: settings.runtimeDir || undefined,
    configFile: settings.configFile || undefined,
  });
  // Under systemd, stdout is the journal; elsewhere we also keep a file to read back.
  const underJournal = Boolean(env['JOURNAL_STREAM']);
  const log = createLogger({
    level: settings.logLevel,
    sinks: hooks.sinks ?? [stdoutSink(), ...(underJournal ? [] : [fileSink(paths.logFile)])],
    scope: 'hearthd',
  });
  const started = performance.now();

  // The data drive goes over the data directory before anything opens it (or limited mode).
  const { disks, ...early } = await startEarly({ settings, paths, log, env });
  if (early.limited) return early.limited;

  // The containers' host side, also for a factory reset: it runs before anything opens.
  const mounts = hostMounts(log.child('mounts'));
  const lxcPath = path.join(paths.runtimeDir, 'lxc');
  const lxc = hostLxc({
    lxcPath,
    // Containers someone made with the lxc tools: listed by server.ps as ignored, never touched.
    otherLxcPaths: [path.join(settings.root, 'var/lib/lxc')],
    mounts,
    log: log.child('lxc'),
  });
  const reset = new FactoryReset({ dataDir: paths.dataDir, lxc, mounts, log: log.child('reset') });
  // Someone with the box in hand may have left a request on the boot partition: a reset
  // now, a new password once the database is open.
  const recovery = BootRecovery.take(paths.bootDir, reset, log.child('recovery'));
  const wasReset = await reset.finishIfRequested();

  // The database first: a database newer than this binary stops everything here.
  const db = openDatabase(paths.database);
  restrictDataDir(paths.dataDir, paths.database);
  const migrated = migrate(db, MIGRATIONS, paths.database);
  if (migrated.from !== migrated.to) log.info('database migrated', { from: migrated.from, to: migrated.to });

  const state = createState(db, settings.stateHistory, Number(env[REVISION_FLOOR] ?? 0));
  const procfs = hostProcfs();
  const localSecret = writeLocalCookie(paths.localCookie);
  const auth = new Auth({
    db,
    log: log.child('auth'),
    sessionDays: settings.sessionDays,
    localSecret,
    limiter: new LoginLimiter({
      perAddress: settings.loginMaxFailures,
      windowMs: settings.loginWindowSeconds * 1000,
      accountBurst: settings.loginAccountBurst,
      accountIntervalMs: settings.loginAccountIntervalSeconds * 1000,
    }),
    ...(hooks.kdf ? { kdf: hooks.kdf } : {}),
  });
  const audit = new Audit({
    db,
    log: log.child('audit'),
    retentionDays: settings.auditRetentionDays,
    maxEntries: settings.auditMaxEntries,
  });
  // Notifications leave the box through the owner's channels; the box's name comes from
  // System, made below (a notification made before it, at recovery, names the machine).
  let system: System | undefined;
  const retry = settings.notifyRetrySeconds * 1000;
  const notificationChannels = new NotificationChannels({
    db,
    // Loaded at the first send: a box without channels never loads them.
    senders: {
      email: async (o) => (await import('./host/smtp.ts')).sendMail(o),
      webhook: async (o) => (await import('./host/webhook.ts')).postWebhook(o),
    },
    log: log.child('notify'),
    boxName: () => system?.hostname ?? os.hostname(),
    allowSelf: settings.notifyAllowSelf,
    ownAddresses,
    retryDelaysMs: [retry, retry * 4, retry * 16],
  });
  const notifications = new Notifications({ db, state, deliver: (n) => notificationChannels.deliver(n) });
  await recovery?.finish(auth, notifications);
  system = new System({
    db,
    state,
    procfs,
    power: logindPower(settings.dbusAddress || undefined),
    logs: underJournal
      ? journalLogSource('hearth.service', log.child('journal'))
      : fileLogSource(paths.logFile),
    log: log.child('system'),
    dataDir: paths.dataDir,
    dev: settings.dev,
    // After a factory reset the machine still has the old owner's name: back to the image's.
    defaultHostname: wasReset ? DEFAULT_HOSTNAME : os.hostname(),
    ...(settings.dev ? {} : { hostnameControl: hostnamedHostname(settings.dbusAddress || undefined) }),
    // The certificates follow the name; after setup in place, HTTPS opens (once setup's transaction ends).
    onHostnameChange: () => setImmediate(() => void secure?.up()),
  });
  const registry = new Registry(METHODS);
  const signers = new Signers({ db });
  const events = new Events({ db, retentionDays: settings.eventRetentionDays });
  const checks = createChecks({
    settings,
    dataDir: paths.dataDir,
    events,
    notifications,
    state,
    procfs,
    disks,
    packages: () => packages.service,
    log: log.child('checks'),
  });
  const packages = createPackages({
    settings,
    paths,
    db,
    state,
    notifications,
    events,
    onCrashLoop: () => void checks.run('crash-loop'),
    signers,
    procfs,
    lxc,
    mounts,
    certificate: async (id) => {
      await tls.reconcile();
      return tls.certificateFor(id);
    },
    lanAddress: (id, iface) => reach.lanAddress(id, iface),
    log,
    beforeContainer: () => names.reconcile(),
  });
  const web: { port?: number } = {};
  const reach = createReach({
    ...{ settings, paths, lxcPath, db, state, events, checks, notifications, log },
    packages: () => packages.service,
    hostname: () => system.hostname,
    isSetUp: () => auth.isSetUp,
    webPort: () => web.port,
  });
  const { tls, tor, names, acme, lan } = reach;
  // Set below, with stop: setup calls it once the state has moved to the data drive, and
  // after asking for a factory reset.
  let relaunch = () => {};
  const setup = new Setup({
    db,
    auth,
    system,
    state,
    disks,
    relaunch: () => relaunch(),
    reset,
    installed: () => packages.service.list().map((p) => ({ id: p.id, title: p.manifest.title })),
    log: log.child('setup'),
  });
  const uploads = new Uploads({
    dir: path.join(paths.dataDir, 'uploads'),
    maxBytes: settings.maxUploadBytes,
    freeBytes: async (dir) => (await procfs.statfs(dir)).availableBytes,
    log: log.child('uploads'),
  });
  const status = new BoxStatus({
    packages: packages.service,
    checks,
    events,
    lxc,
    processStat: (pid) => procfs.processStat(pid),
    uptime: () => procfs.uptime(),
  });
  const services: Services = {
    acme,
    backup: createBackup({ paths, settings, db, state, notifications, events, lxc, packages, log }),
    auth,
    audit,
    checks,
    disks,
    events,
    lan,
    notifications,
    notificationChannels,
    packages: packages.service,
    setup,
    signers,
    state,
    status,
    system,
    tls,
    tor,
    update: early.update({ db, state, events, notifications, uploads }),
    uploads,
    ...reach.remote.services,
  };

  // The state document is complete before anyone can subscribe to it.
  await system.publishInfo(auth.isSetUp);
  void system.applyHostname();
  notifications.publish();
  state.set(['packages'], {});
  tor.publish();
  state.clearHistory();

  const limits = new CallLimits({
    perCredential: settings.callsPerMinute,
    perAnonymousAddress: settings.anonymousCallsPerMinute,
  });
  const dispatcher = new Dispatcher({
    registry,
    services,
    isSetupMode: () => !auth.isSetUp,
    audit: (e) => audit.record(e),
    limits,
    maxAnswerBytes: settings.maxAnswerBytes,
    log: log.child('rpc'),
  });
  const mcp = mcpSurface({
    registry,
    dispatcher,
    state,
    identify: (c) => auth.identify(c),
    isSetupMode: () => !auth.isSetUp,
    maxBodyBytes: settings.maxBodyBytes,
    log: log.child('mcp'),
  });
  const surface = new HttpSurface({
    mcp: (req, res, where) => mcp.handle(req, res, where),
    apps: (id) => packages.service.appTarget(id),
    icons: (id) => packages.service.views.icon(id),
    appCapabilities: new AppCapabilities((caller) => auth.identifyCaller(caller)),
    dispatcher,
    identify: (c) => auth.identify(c),
    maxBodyBytes: settings.maxBodyBytes,
    uploads,
    log: log.child('http'),
    hostAllowed: (host) =>
      hostAllowed(host, {
        hostname: system.hostname,
        setupMode: !auth.isSetUp,
        extra: settings.allowedHosts,
      }),
    acmeChallenge: {
      isDomain: (host) => acme.isCustomDomain(host),
      answer: (host, token) => acme.challengeAnswer(host, token),
    },
    fallback: webUi(loadWebAssets(), () => !auth.isSetUp),
    httpsPort: () => secure?.port(),
    ca: () => tls.ca(),
  });

  // A credential that ends ends the streams opened with it; sessions also just expire.
  const recheckStreams = () => {
    surface.recheck();
    mcp.recheck();
  };
  auth.onCredentialsEnded(recheckStreams);

  let secure: ReturnType<typeof httpsListener> | undefined;
  const tcp = surface.createServer('http');
  await listen(tcp, { port: settings.port, host: settings.listen });
  const port = (tcp.address() as { port: number }).port;
  web.port = port;
  const local = surface.createServer('local');
  await listen(local, { path: paths.socket });
  const writeInfo = (httpsPort?: number) =>
    writeJsonFile(path.join(paths.runtimeDir, 'daemon.json'), {
      pid: process.pid,
      port,
      ...(httpsPort === undefined ? {} : { httpsPort }),
      socket: paths.socket,
      version: VERSION,
    } satisfies DaemonInfo);
  // daemon.json as soon as the daemon answers; HTTPS adds its port once it opens — when the
  // box is set up (now, or when setup finishes) and has its certificate, which may take a while.
  writeInfo();
  secure = httpsListener({
    surface,
    tls,
    port: httpsPortOf(settings),
    host: settings.listen,
    isSetUp: () => auth.isSetUp,
    onOpen: (p) => writeInfo(p),
    log: log.child('https'),
  });
  await secure.up();

  const housekeeping = () => {
    audit.prune();
    auth.prune();
    limits.prune();
    uploads.sweep().catch((error) => log.warn('could not sweep uploads', { error }));
  };
  housekeeping();
  const timers = [
    setInterval(housekeeping, HOUR),
    setInterval(recheckStreams, 60_000),
    // New addresses and packages get their certificates; renewals come due.
    setInterval(() => void secure?.up(), 60_000),
  ];
  system.startMetrics(settings.metricsIntervalSeconds * 1000);

  const notifier = systemdNotifier(env);
  // A watchdog ping with it: after a restart in place the last one was the old process's.
  const ping = notifier.watchdogMs === undefined ? [] : ['WATCHDOG=1'];
  await notifier.notify('READY=1', ...ping, `STATUS=listening on port ${port}`).catch((error) => {
    log.warn('could not tell systemd we are ready', { error });
  });
  timers.push(...startWatchdog(notifier, log));
  // Containers kept running while the daemon was away: reconnect their channels, then
  // finish or undo what a crash cut short, and keep checking.
  void packages
    .start()
    .catch((error) => log.warn('packages could not start', { error }))
    .then(() => reach.start());
  checks.start(settings.checkIntervalSeconds * 1000);
  timers.push(
    setInterval(() => {
      if (packages.service.list().length > 0) {
        packages.service.reconcile().catch((error) => log.warn('reconcile failed', { error }));
      }
      reach.reconcile();
    }, settings.reconcileIntervalSeconds * 1000),
  );
  log.info('listening', {
    port,
    socket: paths.socket,
    setup: auth.isSetUp ? 'done' : 'waiting',
    ms: ms(started),
  });

  let stopping: Promise<void> | undefined;
  const stop = (relaunching = false) => {
    stopping ??= (async () => {
      log.info('stopping');
      // STOPPING=1 would have systemd wait for this PID to exit; the same PID comes back instead.
      // The watchdog must not fire between the last ping here and the new process's first.
      const message = relaunching
        ? ['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, 'WATCHDOG=1']
        : ['STOPPING=1'];
      await notifier.notify(...message).catch(() => {});
      for (const t of timers) clearInterval(t);
      system.stop();
      checks.stop();
      // Stop taking connections, let the calls under way finish, then close the database.
      const closed = Promise.all([closeServer(tcp), closeServer(local), secure?.close()]);
      // MCP's streams stay open for their sessions' lives: end them, or the servers never close.
      await mcp.close();
      await surface.drain(STOP_GRACE_MS);
      // Connections of calls that did not finish in time are cut.
      tcp.closeAllConnections();
      local.closeAllConnections();
      secure?.cut();
      await closed;
      // The containers go on running; their runtimes reconnect when we are back.
      await packages.channels.closeAll();
      await reach.stop();
      // An operation cut short here is finished or undone at the next start, as after a crash.
      const idle = await Promise.race([
        Promise.all([packages.service.idle(), checks.idle(), reach.idle()]).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), STOP_GRACE_MS).unref()),
      ]);
      if (!idle) log.warn('stopping with a package operation under way');
      await notificationChannels.close();
      audit.flush();
      db.close();
      removeFiles([paths.socket, paths.localCookie, path.join(paths.runtimeDir, 'daemon.json')]);
      log.info('stopped');
    })();
    return stopping;
  };
  let stopRequested = false;
  relaunch = () => {
    log.info('starting again in place, on the data drive');
    // After this turn of the event loop, when the call that moved the state has been answered.
    setImmediate(() => {
      void stop(true).then(() => {
        if (stopRequested) return;
        // The port too, when it was 0: clients and daemon.json keep the one they know.
        const env = { ...process.env, [REVISION_FLOOR]: String(state.revision) };
        try {
          reexecSelf(['--port', String(port)], env);
        } catch (error) {
          // systemd starts us again (Restart=on-failure), on the data drive.
          log.error('could not start again in place', { error });
          process.exit(1);
        }
      });
    });
  };
  return {
    paths,
    port,
    log,
    stop: () => {
      stopRequested = true;
      return stop();
    },
  };
}

const ms = (since: number) => Math.round(performance.now() - since);
