/**
 * Parsers for what the block-device tools print. Two tools, because each knows half:
 * `lsblk --json` gives the topology (drives, their partitions, sizes, model, transport,
 * where they are mounted) and `blkid -p` what is on each device (partition table,
 * filesystem, labels). lsblk takes the latter from udev's database, which lags behind a
 * table or filesystem just written and does not exist at all without udev; blkid -p
 * reads the device itself.
 */

/** The lsblk columns `parseLsblk` reads. */
export const LSBLK_COLUMNS = 'NAME,PATH,MAJ:MIN,TYPE,SIZE,RO,RM,HOTPLUG,TRAN,MODEL,VENDOR,SERIAL,MOUNTPOINTS';

export interface BlockDevice {
  name: string;
  path: string;
  /** `major:minor`, as in /proc/self/mountinfo. */
  majMin: string;
  /** `disk`, `part`, `loop`, `rom`, `crypt`, `lvm`, … */
  type: string;
  sizeBytes: number;
  readOnly: boolean;
  removable: boolean;
  hotplug: boolean;
  transport: string | null;
  model: string | null;
  vendor: string | null;
  serial: string | null;
  mountpoints: string[];
  children: BlockDevice[];
}

type Raw = Record<string, unknown>;

const text = (v: unknown): string | null => {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
};
// lsblk before 2.37 printed flags as "0"/"1", later as booleans.
const flag = (v: unknown): boolean => v === true || v === '1' || v === 1;

function toDevice(raw: Raw): BlockDevice {
  const name = text(raw['name']);
  const majMin = text(raw['maj:min']);
  if (!name || !majMin) throw new Error(`lsblk: a device without name or MAJ:MIN: ${JSON.stringify(raw)}`);
  const mountpoints = Array.isArray(raw['mountpoints'])
    ? (raw['mountpoints'] as unknown[]).map(text).filter((m): m is string => m !== null)
    : [];
  return {
    name,
    path: text(raw['path']) ?? `/dev/${name}`,
    majMin,
    type: text(raw['type']) ?? 'unknown',
    sizeBytes: Number(raw['size'] ?? 0),
    readOnly: flag(raw['ro']),
    removable: flag(raw['rm']),
    hotplug: flag(raw['hotplug']),
    transport: text(raw['tran']),
    model: text(raw['model']),
    vendor: text(raw['vendor']),
    serial: text(raw['serial']),
    mountpoints,
    children: Array.isArray(raw['children']) ? (raw['children'] as Raw[]).map(toDevice) : [],
  };
}

/** `lsblk --json --bytes -o <LSBLK_COLUMNS>` → the device tree. */
export function parseLsblk(json: string): BlockDevice[] {
  const doc = JSON.parse(json) as { blockdevices?: Raw[] };
  if (!Array.isArray(doc.blockdevices)) throw new Error('lsblk: no "blockdevices" in its output');
  return doc.blockdevices.map(toDevice);
}

/** What `blkid -p` found on one device. */
export interface Probe {
  /** The device could not be read (blkid said why on stderr): its contents are unknown. */
  unreadable?: boolean;
  /** `gpt`, `dos`, … when the device holds a partition table. */
  partitionTable?: string;
  /** `ext4`, `vfat`, `swap`, `crypto_LUKS`, … */
  fsType?: string;
  label?: string;
  uuid?: string;
  /** The GPT partition name (lsblk's PARTLABEL). */
  partLabel?: string;
  partUuid?: string;
}

/** One device's `blkid -p -o export` block: KEY=value lines, shell-escaped values. */
export function parseBlkidExport(out: string): Probe {
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    kv.set(line.slice(0, eq), line.slice(eq + 1).replace(/\\(.)/g, '$1'));
  }
  const probe: Probe = {};
  const set = (key: keyof Probe, from: string) => {
    const v = kv.get(from);
    if (v !== undefined && v !== '') (probe as Record<string, string>)[key] = v;
  };
  set('partitionTable', 'PTTYPE');
  set('fsType', 'TYPE');
  set('label', 'LABEL');
  set('uuid', 'UUID');
  set('partLabel', 'PART_ENTRY_NAME');
  set('partUuid', 'PART_ENTRY_UUID');
  return probe;
}
