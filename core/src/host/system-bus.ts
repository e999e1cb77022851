import type DBus from 'dbus-next';

/** One method call on the D-Bus system bus. */
export interface BusCall {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

/**
 * Calls one method on the system bus (or on `busAddress`: tests serve stand-ins on a
 * private bus) and disconnects. Rejects with the bus's own error.
 */
export async function callSystemBus(busAddress: string | undefined, call: BusCall): Promise<unknown[]> {
  // Loaded when needed: D-Bus (and its XML parser) costs start-up time and memory.
  const dbus = ((await import('dbus-next')) as unknown as { default: typeof DBus }).default;
  const bus = busAddress ? dbus.sessionBus({ busAddress }) : dbus.systemBus();
  // dbus-next reports a failed connection as an 'error' event, not as a rejection.
  const failed = new Promise<never>((_, reject) => bus.on('error', reject));
  try {
    const reply = await Promise.race([failed, bus.call(new dbus.Message(call))]);
    return (reply?.body as unknown[] | undefined) ?? [];
  } finally {
    bus.disconnect();
  }
}
