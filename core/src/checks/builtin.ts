import type { ClockState } from '../host/clock.ts';
import type { Check } from './checks.ts';

/** MiB below 10 GiB (where the thresholds are), then GiB or TiB with one decimal. */
function size(n: number): string {
  if (n < 10 * 2 ** 30) return `${Math.floor(n / 2 ** 20)} MiB`;
  return n < 2 ** 40 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 40).toFixed(1)} TiB`;
}

/**
 * Free space on the data drive: an error below the space the box keeps free (installs and
 * updates are refused then, see packages.ts), a warning below twice that.
 */
export function freeSpaceCheck(o: {
  dir: string;
  statfs: (dir: string) => Promise<{ totalBytes: number; availableBytes: number }>;
  minFreeBytes: number;
}): Check {
  return {
    id: 'free-space',
    title: 'Free space on the data drive',
    async run() {
      if (o.minFreeBytes === 0) return [];
      const { totalBytes, availableBytes } = await o.statfs(o.dir);
      const what = `The data drive has ${size(availableBytes)} free of ${size(totalBytes)}`;
      if (availableBytes < o.minFreeBytes) {
        return [
          {
            subject: null,
            severity: 'error',
            message: `${what}, less than the ${size(o.minFreeBytes)} it keeps free; installs and updates are refused`,
            hint: 'Uninstall a package you no longer use, delete files in a package, or move to a larger drive',
          },
        ];
      }
      if (availableBytes < 2 * o.minFreeBytes) {
        return [
          {
            subject: null,
            severity: 'warning',
            message: `${what}; below ${size(o.minFreeBytes)} installs and updates are refused`,
            hint: 'Make room before it runs out',
          },
        ];
      }
      return [];
    },
  };
}

/** Packages whose containers keep stopping on their own (the reconcile loop backs off). */
export function crashLoopCheck(o: {
  loops: () => { id: string; title: string; crashes: number }[];
  stop: (id: string) => Promise<void>;
}): Check {
  return {
    id: 'crash-loop',
    title: 'Packages that keep crashing',
    async run() {
      return o.loops().map((l) => ({
        subject: l.id,
        package: l.id,
        severity: 'error' as const,
        message: `${l.title} stopped ${l.crashes} times in ten minutes; Hearth keeps restarting it, more slowly`,
        hint: `Its log says why (hearth package logs ${l.id}); stopping it saves the box the restarts`,
        fixup: 'crash-loop.stop',
      }));
    },
    fixups: [
      {
        id: 'crash-loop.stop',
        title: 'Stop the package',
        async run(subject) {
          if (subject === null) throw new Error('crash-loop.stop needs a package');
          await o.stop(subject);
          return `${subject} is stopped; start it again when it is fixed`;
        },
      },
    ],
  };
}

/** The data drive chosen at setup must be mounted over the data directory. */
export function dataDriveCheck(o: { problem: () => Promise<string | undefined> }): Check {
  return {
    id: 'data-drive',
    title: 'The data drive',
    async run() {
      const problem = await o.problem();
      return problem === undefined
        ? []
        : [
            {
              subject: null,
              severity: 'error',
              message: problem,
              hint: 'Plug the data drive in and restart Hearth (systemctl restart hearth); until then, what packages write is not on it',
            },
          ];
    },
  };
}

/** No clock on a box made after this can say an earlier time and be right. */
export const CLOCK_FLOOR = Date.UTC(2026, 0, 1);

/**
 * The clock: certificates, TOTP codes and backups' schedules need it right. A Raspberry Pi
 * has no battery-backed clock and starts where it stopped until NTP answers.
 */
export function clockCheck(o: {
  clock: () => Promise<ClockState | undefined>;
  enableNtp: () => Promise<void>;
  now: () => number;
}): Check {
  return {
    id: 'clock',
    title: 'The clock',
    async run() {
      const now = o.now();
      if (now < CLOCK_FLOOR) {
        return [
          {
            subject: null,
            severity: 'error',
            message: `The clock says ${new Date(now).toISOString()}, which cannot be right`,
            hint: 'Connect the box to the internet so it can set its clock, or set it by hand (timedatectl set-time)',
          },
        ];
      }
      const clock = await o.clock();
      if (!clock) return { unknown: 'systemd-timedated does not answer on the system bus' };
      if (clock.synchronized) return [];
      return [
        clock.ntp
          ? {
              subject: null,
              severity: 'warning',
              message: 'The clock is not synchronised with a time server yet',
              hint: 'The box must reach the internet (NTP, UDP port 123); it keeps trying',
            }
          : {
              subject: null,
              severity: 'warning',
              message: 'The clock is not synchronised: network time is turned off',
              hint: 'Turn network time on',
              fixup: 'clock.enable-ntp',
            },
      ];
    },
    fixups: [
      {
        id: 'clock.enable-ntp',
        title: 'Turn network time on',
        async run() {
          await o.enableNtp();
          return 'network time is on; the clock is set as soon as a time server answers';
        },
      },
    ],
  };
}
