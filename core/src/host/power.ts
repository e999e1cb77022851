import type DBus from 'dbus-next';
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
    // Loaded when needed: D-Bus (and its XML parser) costs start-up time and memory.
    const dbus = ((await import('dbus-next')) as unknown as { default: typeof DBus }).default;
    const bus = busAddress ? dbus.sessionBus({ busAddress }) : dbus.systemBus();
    // dbus-next reports a failed connection as an 'error' event, not as a rejection.
    const failed = new Promise<never>((_, reject) => bus.on('error', reject));
    try {
      await Promise.race([
        failed,
        bus.call(
          new dbus.Message({
            destination: 'org.freedesktop.login1',
            path: '/org/freedesktop/login1',
            interface: 'org.freedesktop.login1.Manager',
            member,
            signature: 'b',
            body: [false],
          }),
        ),
      ]);
    } catch (e) {
      throw new HearthError(
        'power_failed',
        `logind refused ${member}: ${e instanceof Error ? e.message : String(e)}`,
        {
          cause: e,
        },
      );
    } finally {
      bus.disconnect();
    }
  };
  return { powerOff: () => call('PowerOff'), reboot: () => call('Reboot') };
}
