import { callSystemBus } from './system-bus.ts';

/** The machine's own name: what the kernel, /etc/hostname and mDNS say. */
export interface HostnameControl {
  /** Sets it, persistently, and has it announced on the LAN as `<name>.local`. */
  set(name: string): Promise<void>;
}

/**
 * systemd-hostnamed (org.freedesktop.hostname1) writes /etc/hostname and sets the
 * kernel's name; avahi-daemon reads the name only when it starts, so it is told
 * through its own D-Bus API. `busAddress` overrides the system bus (tests).
 */
export function hostnamedHostname(busAddress?: string): HostnameControl {
  return {
    async set(name) {
      await callSystemBus(busAddress, {
        destination: 'org.freedesktop.hostname1',
        path: '/org/freedesktop/hostname1',
        interface: 'org.freedesktop.hostname1',
        member: 'SetStaticHostname',
        signature: 'sb',
        body: [name, false],
      });
      await callSystemBus(busAddress, {
        destination: 'org.freedesktop.Avahi',
        path: '/',
        interface: 'org.freedesktop.Avahi.Server',
        member: 'SetHostName',
        signature: 's',
        body: [name],
      }).catch((e: unknown) => {
        // Avahi refuses a name that is already its own ("No change").
        if (!/no change/i.test(e instanceof Error ? e.message : String(e))) throw e;
      });
    },
  };
}
