/**
 * Semantic versions (semver 2.0.0) and the range syntax package dependencies use:
 * exact (`1.2.3`, `=1.2.3`), caret (`^1.2`, `^0.3.1`), tilde (`~1.2.3`, `~1.2`),
 * comparators (`>=1.0.0 <2.0.0`), partials and wildcards (`1.x`, `1`, `*`), and unions
 * (`^1.2 || ^2`). Hyphen ranges (`1.2.3 - 2.0.0`) are not supported. Prereleases follow
 * npm: `1.3.0-beta.1` satisfies a range only if one of its comparators names a prerelease
 * of 1.3.0 itself.
 */

/** A parsed version. */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: readonly (string | number)[];
  build: readonly string[];
}

const NUM = '0|[1-9]\\d*';
const PRE_ID = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const VERSION_RE = new RegExp(
  `^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$`,
);

/**
 * Parses a strict semver version (no `v` prefix, no leading zeros); `null` if invalid.
 *
 * @example
 * parseVersion('1.4.0-rc.1'); // { major: 1, minor: 4, patch: 0, prerelease: ['rc', 1], build: [] }
 * parseVersion('1.4'); // null
 */
export function parseVersion(text: string): SemVer | null {
  if (text.length > 256) return null;
  const m = VERSION_RE.exec(text);
  if (!m) return null;
  const nums = [m[1], m[2], m[3]].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return null;
  return {
    major: nums[0]!,
    minor: nums[1]!,
    patch: nums[2]!,
    prerelease: m[4] ? m[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id)) : [],
    build: m[5] ? m[5].split('.') : [],
  };
}

/**
 * Whether `text` is a valid semver version.
 *
 * @example
 * isVersion('2.0.0'); // true
 * isVersion('v2'); // false
 */
export const isVersion = (text: string): boolean => parseVersion(text) !== null;

function toSemVer(v: string | SemVer): SemVer {
  if (typeof v !== 'string') return v;
  const parsed = parseVersion(v);
  if (!parsed) throw new TypeError(`'${v}' is not a semantic version`);
  return parsed;
}

function compareIds(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  // Numeric identifiers sort before alphanumeric ones.
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders two versions by semver precedence (build metadata is ignored): -1, 0 or 1.
 * Throws a TypeError for a string that is not a version.
 *
 * @example
 * ['1.10.0', '1.2.0', '1.2.0-rc.1'].sort(compareVersions); // ['1.2.0-rc.1', '1.2.0', '1.10.0']
 */
export function compareVersions(a: string | SemVer, b: string | SemVer): -1 | 0 | 1 {
  const x = toSemVer(a);
  const y = toSemVer(b);
  const core = Math.sign(x.major - y.major) || Math.sign(x.minor - y.minor) || Math.sign(x.patch - y.patch);
  if (core) return core as -1 | 1;
  const xp = x.prerelease;
  const yp = y.prerelease;
  if (xp.length === 0 || yp.length === 0) return Math.sign(yp.length - xp.length) as -1 | 0 | 1;
  for (let i = 0; i < Math.min(xp.length, yp.length); i++) {
    const c = compareIds(xp[i]!, yp[i]!);
    if (c) return c as -1 | 1;
  }
  return Math.sign(xp.length - yp.length) as -1 | 0 | 1;
}

type Op = '<' | '<=' | '>' | '>=' | '=';

interface Comparator {
  op: Op;
  version: SemVer;
  /** Whether the author wrote a prerelease here (it admits prereleases of that version). */
  admitsPrerelease: boolean;
}

/** A parsed range: a union of comparator sets; a version must satisfy every comparator of one set. */
export interface Range {
  readonly text: string;
  readonly sets: readonly (readonly Comparator[])[];
}

const v = (major: number, minor: number, patch: number, prerelease: (string | number)[] = []): SemVer => ({
  major,
  minor,
  patch,
  prerelease,
  build: [],
});
// The upper bound of `^1.2.3` is `<2.0.0-0`, so 2.0.0's prereleases are out too.
const below = (major: number, minor: number, patch: number): Comparator => ({
  op: '<',
  version: v(major, minor, patch, [0]),
  admitsPrerelease: false,
});
const atLeast = (version: SemVer, explicit: boolean): Comparator => ({
  op: '>=',
  version,
  admitsPrerelease: explicit && version.prerelease.length > 0,
});

const PARTIAL_RE =
  /^(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

interface Partial {
  major: number | null;
  minor: number | null;
  patch: number | null;
  prerelease: (string | number)[];
}

function parsePartial(text: string): Partial | null {
  const m = PARTIAL_RE.exec(text);
  if (!m) return null;
  const num = (s: string | undefined): number | null | undefined => {
    if (s === undefined || /^[xX*]$/.test(s)) return null;
    if (s.length > 1 && s.startsWith('0')) return undefined;
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : undefined;
  };
  const major = num(m[1]);
  const minor = num(m[2]);
  const patch = num(m[3]);
  if (major === undefined || minor === undefined || patch === undefined) return null;
  // A wildcard may only be followed by wildcards: `1.x.3` means nothing.
  if ((major === null && (minor !== null || patch !== null)) || (minor === null && patch !== null))
    return null;
  if (m[4] !== undefined) {
    if (patch === null) return null;
    const parsed = parseVersion(`${major}.${minor}.${patch}-${m[4]}`);
    if (!parsed) return null;
    return { major, minor, patch, prerelease: [...parsed.prerelease] };
  }
  return { major, minor, patch, prerelease: [] };
}

function desugar(op: string, p: Partial): Comparator[] | null {
  const { major, minor, patch } = p;
  const explicit = p.prerelease.length > 0;
  const low = v(major ?? 0, minor ?? 0, patch ?? 0, p.prerelease);
  if (major === null) return op === '<' || op === '>' ? null : [];
  switch (op) {
    case '^':
      if (major > 0 || minor === null) return [atLeast(low, explicit), below(major + 1, 0, 0)];
      if (minor > 0 || patch === null) return [atLeast(low, explicit), below(0, minor + 1, 0)];
      return [atLeast(low, explicit), below(0, 0, patch + 1)];
    case '~':
      if (minor === null) return [atLeast(low, explicit), below(major + 1, 0, 0)];
      return [atLeast(low, explicit), below(major, minor + 1, 0)];
    case '':
    case '=':
      if (minor === null) return [atLeast(low, false), below(major + 1, 0, 0)];
      if (patch === null) return [atLeast(low, false), below(major, minor + 1, 0)];
      return [{ op: '=', version: low, admitsPrerelease: explicit }];
    case '>=':
      return [atLeast(low, explicit)];
    case '>':
      if (minor === null) return [atLeast(v(major + 1, 0, 0), false)];
      if (patch === null) return [atLeast(v(major, minor + 1, 0), false)];
      return [{ op: '>', version: low, admitsPrerelease: explicit }];
    case '<':
      if (patch === null)
        return [{ op: '<', version: v(major, minor ?? 0, 0, [0]), admitsPrerelease: false }];
      return [{ op: '<', version: low, admitsPrerelease: explicit }];
    case '<=':
      if (minor === null) return [below(major + 1, 0, 0)];
      if (patch === null) return [below(major, minor + 1, 0)];
      return [{ op: '<=', version: low, admitsPrerelease: explicit }];
    default:
      return null;
  }
}

const COMPARATOR_RE = /^(\^|~|>=|<=|>|<|=)?\s*(\S+)$/;

/**
 * Parses a version range; `null` if invalid.
 *
 * @example
 * parseRange('>=1.0.0 <2.0.0'); // a Range
 * parseRange('1.2.3 - 2.0.0'); // null (hyphen ranges are not supported)
 */
export function parseRange(text: string): Range | null {
  if (text.length > 512) return null;
  const sets: Comparator[][] = [];
  for (const part of text.split('||')) {
    const trimmed = part.trim();
    // Glue an operator to its version: `>= 1.2.3` reads as `>=1.2.3`.
    const tokens = trimmed === '' ? [] : trimmed.replace(/(\^|~|>=|<=|>|<|=)\s+/g, '$1').split(/\s+/);
    const set: Comparator[] = [];
    for (const token of tokens) {
      const m = COMPARATOR_RE.exec(token);
      if (!m) return null;
      const partial = parsePartial(m[2]!);
      if (!partial) return null;
      const comparators = desugar(m[1] ?? '', partial);
      if (!comparators) return null;
      set.push(...comparators);
    }
    sets.push(set);
  }
  return { text, sets };
}

/**
 * Whether `text` is a valid range.
 *
 * @example
 * isRange('^1.2'); // true
 */
export const isRange = (text: string): boolean => parseRange(text) !== null;

function test(c: Comparator, version: SemVer): boolean {
  const cmp = compareVersions(version, c.version);
  switch (c.op) {
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
    case '>':
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    case '=':
      return cmp === 0;
  }
}

const sameTuple = (a: SemVer, b: SemVer) => a.major === b.major && a.minor === b.minor && a.patch === b.patch;

/**
 * Whether `version` satisfies `range` (a string or a parsed {@link Range}). An invalid
 * version or range satisfies nothing.
 *
 * @example
 * satisfies('1.4.2', '^1.2'); // true
 * satisfies('2.0.0', '>=1.0.0 <2.0.0'); // false
 * satisfies('1.3.0-beta.1', '^1.2'); // false: prereleases only where a comparator names one
 */
export function satisfies(version: string | SemVer, range: string | Range): boolean {
  const ver = typeof version === 'string' ? parseVersion(version) : version;
  const r = typeof range === 'string' ? parseRange(range) : range;
  if (!ver || !r) return false;
  return r.sets.some((set) => {
    if (!set.every((c) => test(c, ver))) return false;
    if (ver.prerelease.length === 0) return true;
    return set.some((c) => c.admitsPrerelease && sameTuple(c.version, ver));
  });
}
