import { callSystemBus } from './system-bus.ts';

export interface ClockState {
  /** Whether systemd-timesyncd (or another NTP client) has set the clock. */
  synchronized: boolean;
  /** Whether network time is turned on. */
  ntp: boolean;
}

const TIMEDATE = {
  destination: 'org.freedesktop.timedate1',
  path: '/org/freedesktop/timedate1',
};

/**
 * The clock as systemd-timedated (org.freedesktop.timedate1) tells it: whether NTP has set
 * it and whether network time is on. undefined when timedated does not answer (no systemd
 * as PID 1, no system bus). `busAddress` overrides the system bus (tests serve a stand-in).
 */
export function timedatedClock(busAddress?: string): {
  state(): Promise<ClockState | undefined>;
  enableNtp(): Promise<void>;
} {
  return {
    async state() {
      try {
        const [props] = (await callSystemBus(busAddress, {
          ...TIMEDATE,
          interface: 'org.freedesktop.DBus.Properties',
          member: 'GetAll',
          signature: 's',
          body: ['org.freedesktop.timedate1'],
        })) as [Record<string, { value: unknown }>];
        return { synchronized: props.NTPSynchronized?.value === true, ntp: props.NTP?.value === true };
      } catch {
        return undefined;
      }
    },
    async enableNtp() {
      // (use NTP, interactive): no polkit prompt; the daemon runs as root.
      await callSystemBus(busAddress, {
        ...TIMEDATE,
        interface: 'org.freedesktop.timedate1',
        member: 'SetNTP',
        signature: 'bb',
        body: [true, false],
      });
    },
  };
}
