import { z } from 'zod';

/*
 * What RAUC prints with --output-format=json, parsed purely and under bounds (tested
 * against `__fixtures__/rauc-1.8-*.json`, captured from Debian's rauc 1.8 with the Hearth
 * backend on loop devices). Only the fields Hearth uses; the rest may come and go.
 */

export interface BundleInfo {
  /** `hearth-<platform>`: RAUC refuses a bundle for another; we say so first, in our words. */
  compatible: string;
  version: string;
  description: string;
  images: Array<{ slotClass: string; filename: string; size: number; sha256: string }>;
}

const info = z.object({
  compatible: z.string().max(200),
  version: z.string().max(200),
  description: z.string().max(2000).nullable().optional(),
  images: z
    .array(
      z.record(
        z.string().max(100),
        z.object({
          filename: z.string().max(500),
          size: z.number().int().nonnegative(),
          checksum: z.string().max(200),
        }),
      ),
    )
    .max(32),
});

export function parseBundleInfo(text: string): BundleInfo {
  const raw = info.parse(JSON.parse(text));
  return {
    compatible: raw.compatible,
    version: raw.version,
    description: raw.description ?? '',
    images: raw.images.flatMap((entry) =>
      Object.entries(entry).map(([slotClass, i]) => ({
        slotClass,
        filename: i.filename,
        size: i.size,
        sha256: i.checksum,
      })),
    ),
  };
}

export interface EngineStatus {
  compatible: string;
  booted: string;
  /** The bootname of the slot the bootloader boots next. */
  primary: string | null;
  slots: Array<{ name: string; bootname: string | null; state: string; bootStatus: 'good' | 'bad' | null }>;
}

const status = z.object({
  compatible: z.string().max(200),
  booted: z.string().max(100),
  boot_primary: z.string().max(100).nullable(),
  slots: z
    .array(
      z.record(
        z.string().max(100),
        z.object({
          bootname: z.string().max(100).nullable().optional(),
          state: z.string().max(50),
          boot_status: z.string().max(50).nullable().optional(),
        }),
      ),
    )
    .max(32),
});

export function parseEngineStatus(text: string): EngineStatus {
  const raw = status.parse(JSON.parse(text));
  const slots: EngineStatus['slots'] = raw.slots.flatMap((entry) =>
    Object.entries(entry).map(([name, s]) => ({
      name,
      bootname: s.bootname ?? null,
      state: s.state,
      bootStatus:
        s.boot_status === 'good' ? ('good' as const) : s.boot_status === 'bad' ? ('bad' as const) : null,
    })),
  );
  const primary = slots.find((s) => s.name === raw.boot_primary)?.bootname ?? null;
  return { compatible: raw.compatible, booted: raw.booted, primary, slots };
}

/** `rauc install --progress` prints lines like ` 60% Determining target install group`. */
export function parseProgressLine(line: string): { percent: number; what: string } | null {
  const m = /^\s*(\d{1,3})%\s+(.{0,200})$/.exec(line);
  if (!m) return null;
  const percent = Number(m[1]);
  return percent <= 100 ? { percent, what: m[2]!.trim() } : null;
}
