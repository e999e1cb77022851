import type { Logger } from '../log/log.ts';
import { run } from './run.ts';

/**
 * systemd's readiness and watchdog protocol. Node cannot send on a unix datagram
 * socket, so the message goes through `systemd-notify`, which reads NOTIFY_SOCKET from
 * the environment we pass; the unit sets `NotifyAccess=all` so systemd accepts it from
 * that helper process. Without NOTIFY_SOCKET (not under systemd) nothing is sent.
 */
export interface Notifier {
  readonly enabled: boolean;
  /** `READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`. */
  notify(...assignments: string[]): Promise<void>;
  /** The watchdog interval systemd asked for, in ms, or undefined. */
  readonly watchdogMs: number | undefined;
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const socket = env['NOTIFY_SOCKET'];
  const usec = Number(env['WATCHDOG_USEC']);
  const watchdogPid = env['WATCHDOG_PID'];
  const forUs = !watchdogPid || Number(watchdogPid) === process.pid;
  return {
    enabled: Boolean(socket),
    watchdogMs: socket && forUs && usec > 0 ? usec / 1000 : undefined,
    notify: async (...assignments) => {
      if (!socket) return;
      await run(['systemd-notify', `--pid=${process.pid}`, ...assignments], {
        env: { PATH: env['PATH'] ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket },
        debianPackage: 'systemd',
        timeoutMs: 5000,
      });
    },
  };
}

/** Pings systemd's watchdog, if it has one for us, at half its interval (as systemd recommends). */
export function startWatchdog(notifier: Notifier, log: Logger): NodeJS.Timeout[] {
  if (notifier.watchdogMs === undefined) return [];
  const t = setInterval(() => {
    notifier.notify('WATCHDOG=1').catch((error) => log.warn('watchdog ping failed', { error }));
  }, notifier.watchdogMs / 2);
  t.unref();
  return [t];
}
