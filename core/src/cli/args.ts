import type { JsonSchema } from '../rpc/discover.ts';

export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** `unseenOnly` → `--unseen-only`. */
export const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export interface ParamInfo {
  key: string;
  flag: string;
  type: string;
  required: boolean;
  secret: boolean;
  /** A path on the box: made absolute against the CLI's directory when talking to this box. */
  boxPath: boolean;
  /** Talking to another box, the CLI uploads the file and sends its upload id in this param. */
  uploadAs: string | undefined;
  description: string | undefined;
  enum: unknown[] | undefined;
  default: unknown;
}

/** The named params of a method, from its params JSON Schema. */
export function paramsOf(schema: JsonSchema): ParamInfo[] {
  const props = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  return Object.entries(props).map(([key, s]) => {
    const inner = unwrapOptional(s);
    return {
      key,
      flag: flagOf(key),
      type: typeOf(inner),
      required: required.has(key) && !('default' in s),
      secret: inner['x-secret'] === true || s['x-secret'] === true,
      boxPath: inner['x-box-path'] === true || s['x-box-path'] === true,
      uploadAs: (inner['x-upload-as'] ?? s['x-upload-as']) as string | undefined,
      description: (s['description'] ?? inner['description']) as string | undefined,
      enum: inner['enum'] as unknown[] | undefined,
      default: s['default'],
    };
  });
}

function unwrapOptional(s: JsonSchema): JsonSchema {
  const any = s['anyOf'] as JsonSchema[] | undefined;
  if (any) {
    const nonNull = any.filter((x) => x['type'] !== 'null');
    if (nonNull.length === 1) return nonNull[0]!;
  }
  return s;
}

function typeOf(s: JsonSchema): string {
  if (s['enum']) return 'enum';
  const t = s['type'];
  if (typeof t === 'string') return t;
  return 'json';
}

/**
 * The param a command takes without its flag (`hearth package get hello-world`,
 * `hearth package install x.hpk`): `id`, else `path`, else the only required one.
 */
export function mainParam(params: ParamInfo[]): ParamInfo | undefined {
  const scalar = params.filter((p) => !['boolean', 'array', 'object', 'json'].includes(p.type) && !p.secret);
  return (
    scalar.find((p) => p.key === 'id') ??
    scalar.find((p) => p.key === 'path') ??
    (params.filter((p) => p.required).length === 1 ? scalar.find((p) => p.required) : undefined)
  );
}

/** The closest of `candidates` to `word`, if it is close enough to be a typo of it. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(1, Math.floor(Math.max(word.length, best.c.length) / 3))
    ? best.c
    : undefined;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * Turns `--name value` flags (and the main param's value without its flag) into a
 * method's params, converting each value by the type its schema gives. `--params '{…}'`
 * passes raw JSON that flags then override.
 */
export function parseParams(argv: string[], params: ParamInfo[]): Record<string, unknown> {
  const byFlag = new Map(params.map((p) => [p.flag, p]));
  const main = mainParam(params);
  let positional = false;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (main && !positional) {
        positional = true;
        out[main.key] = convert(arg, main);
        continue;
      }
      throw new UsageError(
        `unexpected argument '${arg}'`,
        main
          ? `only ${main.flag} goes without its flag; the rest like --name value`
          : 'values go after a flag, like --name value',
      );
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (flag === '--params') {
      const raw = inline ?? argv[++i];
      Object.assign(out, parseJsonValue(raw, '--params'));
      continue;
    }
    const negated = flag.startsWith('--no-') ? byFlag.get(`--${flag.slice(5)}`) : undefined;
    if (negated && negated.type === 'boolean') {
      out[negated.key] = false;
      continue;
    }
    const p = byFlag.get(flag);
    if (!p) {
      const known = params.map((x) => x.flag);
      const near = closest(flag, known);
      throw new UsageError(
        `unknown flag ${flag}${near ? ` — did you mean ${near}?` : ''}`,
        known.length > 0 ? `this command takes ${known.join(', ')}` : 'this command takes no flags',
      );
    }
    if (p.type === 'boolean') {
      out[p.key] = inline === undefined ? true : parseBool(inline, flag);
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`${flag} needs a value`);
    if (p.type === 'array') {
      const list = (out[p.key] as unknown[] | undefined) ?? [];
      list.push(...raw.split(',').map((v) => convertScalar(v)));
      out[p.key] = list;
    } else {
      out[p.key] = convert(raw, p);
    }
  }
  return out;
}

function convert(raw: string, p: ParamInfo): unknown {
  switch (p.type) {
    case 'integer':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new UsageError(`${p.flag} takes a number, not '${raw}'`);
      return n;
    }
    case 'object':
    case 'json':
      return parseJsonValue(raw, p.flag);
    case 'enum':
      return p.enum?.every((v) => typeof v === 'number') ? Number(raw) : raw;
    default:
      return raw;
  }
}

const convertScalar = (v: string): unknown => (v !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

function parseBool(raw: string, flag: string): boolean {
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new UsageError(`${flag} takes true or false, not '${raw}'`);
}

function parseJsonValue(raw: string | undefined, flag: string): Record<string, unknown> {
  try {
    return JSON.parse(raw ?? '') as Record<string, unknown>;
  } catch {
    throw new UsageError(`${flag} needs JSON`, `for example ${flag} '{"key": "value"}'`);
  }
}

/** A param the method needs that the command line did not give, as a usage error. */
export function checkRequired(params: Record<string, unknown>, info: ParamInfo[], command: string): void {
  const missing = info.filter((p) => p.required && !p.secret && params[p.key] === undefined);
  if (missing.length === 0) return;
  const main = mainParam(info);
  const first = missing[0]!;
  throw new UsageError(
    `${command} needs ${missing.map((p) => p.flag).join(', ')}`,
    first === main
      ? `for example: ${command} <${first.key}>  (or ${first.flag} <${first.key}>)`
      : `hearth ${command.replace(/^hearth /, '')} --help says what each one is`,
  );
}
