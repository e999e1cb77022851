import dbus from 'dbus-next';
import { HearthError } from '../errors.ts';

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
    const bus = busAddress ? dbus.sessionBus({ busAddress }) : dbus.systemBus();
    try {
      await bus.call(
        new dbus.Message({
          destination: 'org.freedesktop.login1',
          path: '/org/freedesktop/login1',
          interface: 'org.freedesktop.login1.Manager',
          member,
          signature: 'b',
          body: [false],
        }),
      );
    } catch (e) {
      throw new HearthError('power_failed', `logind refused ${member}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    } finally {
      bus.disconnect();
    }
  };
  return { powerOff: () => call('PowerOff'), reboot: () => call('Reboot') };
}
