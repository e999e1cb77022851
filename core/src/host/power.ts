import { HearthError } from '../errors.ts';
import { callSystemBus } from './system-bus.ts';

/** Powering the machine off or rebooting it. */
export interface Power {
  powerOff(): Promise<void>;
  reboot(): Promise<void>;
}

/**
 * Power through systemd-logind's D-Bus API (org.freedesktop.login1.Manager), which runs
 * the shutdown inhibitors and the units' stop jobs like a person pressing the button.
 * `busAddress` overrides the system bus (tests serve a logind on a private bus).
 */
export function logindPower(busAddress?: string): Power {
  const call = async (member: 'PowerOff' | 'Reboot') => {
    try {
      await callSystemBus(busAddress, {
        destination: 'org.freedesktop.login1',
        path: '/org/freedesktop/login1',
        interface: 'org.freedesktop.login1.Manager',
        member,
        signature: 'b',
        body: [false],
      });
    } catch (e) {
      throw new HearthError(
        'power_failed',
        `logind refused ${member}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  };
  return { powerOff: () => call('PowerOff'), reboot: () => call('Reboot') };
}
