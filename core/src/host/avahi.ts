import type DBus from 'dbus-next';
import type { Logger } from '../log/log.ts';

/** What the box publishes by mDNS besides its own name (avahi publishes `<hostname>.local`). */
export interface MdnsRecords {
  /** Single-label `.local` names for the box's addresses (`<hostname>-<package>.local`). */
  names: string[];
  /** DNS-SD services on the box: `_http._tcp` for the web UI, `_https._tcp` per web interface at its name. */
  services: { name: string; type: string; port: number; txt: string[]; host?: string }[];
}

export interface Mdns {
  /** Replaces what is published with `records`; the same records again are a no-op. */
  publish(records: MdnsRecords): Promise<void>;
  close(): Promise<void>;
}

const AVAHI = 'org.freedesktop.Avahi';
const IF_UNSPEC = -1;
const PROTO_UNSPEC = -1;
const PROTO_INET = 0;
const PROTO_INET6 = 1;
/** AVAHI_PUBLISH_NO_REVERSE: many names share the box's addresses, whose PTR is avahi's own. */
const NO_REVERSE = 16;

/**
 * avahi-daemon over D-Bus (dbus-next): one entry group holding the names and services,
 * on a connection kept open (avahi drops a group when its connection closes). The names
 * point at the addresses avahi itself announces for the box's host name, so they follow
 * the LAN as avahi sees it. A group avahi lost (it restarted) is made again at the next
 * publish. `busAddress` overrides the system bus (tests).
 */
export function avahiMdns(o: { busAddress?: string; log: Logger }): Mdns {
  let bus: DBus.MessageBus | undefined;
  let group: string | undefined;
  let last = '';
  let lib: typeof DBus | undefined;

  const connect = async () => {
    lib ??= ((await import('dbus-next')) as unknown as { default: typeof DBus }).default;
    if (!bus) {
      const b = o.busAddress ? lib.sessionBus({ busAddress: o.busAddress }) : lib.systemBus();
      b.on('error', (error) => {
        o.log.warn('the D-Bus connection to avahi failed', { error });
        if (bus === b) {
          bus = undefined;
          group = undefined;
          last = '';
        }
      });
      bus = b;
    }
    return { bus, lib };
  };
  const call = async (path: string, iface: string, member: string, signature = '', body: unknown[] = []) => {
    const { bus: b, lib: l } = await connect();
    const reply = await b.call(
      new l.Message({ destination: AVAHI, path, interface: iface, member, signature, body }),
    );
    return (reply?.body as unknown[] | undefined) ?? [];
  };
  const server = (member: string, signature?: string, body?: unknown[]) =>
    call('/', `${AVAHI}.Server`, member, signature, body);
  const entry = (member: string, signature?: string, body?: unknown[]) =>
    call(group!, `${AVAHI}.EntryGroup`, member, signature, body);

  const ownAddresses = async () => {
    const [fqdn] = (await server('GetHostNameFqdn')) as [string];
    const out: string[] = [];
    for (const proto of [PROTO_INET, PROTO_INET6]) {
      try {
        const r = await server('ResolveHostName', 'iisiu', [IF_UNSPEC, proto, fqdn, proto, 0]);
        out.push(String(r[4]));
      } catch {}
    }
    return out;
  };

  return {
    async publish(records) {
      const addresses = records.names.length > 0 ? await ownAddresses() : [];
      const key = JSON.stringify({ records, addresses });
      if (group !== undefined && key === last) {
        // Still there? avahi forgets groups when it restarts.
        try {
          await entry('GetState');
          return;
        } catch {
          group = undefined;
        }
      }
      if (group === undefined) [group] = (await server('EntryGroupNew')) as [string];
      else await entry('Reset');
      for (const name of records.names) {
        for (const a of addresses)
          await entry('AddAddress', 'iiuss', [IF_UNSPEC, PROTO_UNSPEC, NO_REVERSE, name, a]);
      }
      for (const s of records.services) {
        await entry('AddService', 'iiussssqaay', [
          IF_UNSPEC,
          PROTO_UNSPEC,
          0,
          s.name,
          s.type,
          '',
          s.host ?? '',
          s.port,
          s.txt.map((t) => Buffer.from(t)),
        ]);
      }
      if (records.names.length > 0 || records.services.length > 0) await entry('Commit');
      last = key;
      o.log.info('published by mDNS', { names: records.names, services: records.services.length, addresses });
    },
    async close() {
      if (group !== undefined) await entry('Free').catch(() => {});
      group = undefined;
      bus?.disconnect();
      bus = undefined;
    },
  };
}
