/**
 * Shapes: the few checks the host ↔ runtime protocol needs (protocol.ts), with the types
 * they let through inferred as zod's would be. The container runtime runs in every
 * service container, and zod with its schemas cost it about 2 MiB of heap for ten
 * messages' worth of checks (ARCHITECTURE.md, "Memory"); this is all it needs of them.
 *
 * A shape's `check` returns the value it accepts (an object without the keys its shape does
 * not name, unless the shape is strict, which refuses them) or throws a ShapeMismatch
 * saying where and what.
 */

export class ShapeMismatch extends Error {}

export interface Shape<T> {
  readonly check: (value: unknown, at?: string) => T;
  /** A key of an object that may be missing (the shape accepts undefined). */
  readonly optional?: true;
}

export type Out<S> = S extends Shape<infer T> ? T : never;

type Props = Record<string, Shape<unknown>>;
type OptionalKeys<P extends Props> = { [K in keyof P]: P[K] extends { optional: true } ? K : never }[keyof P];
type Flat<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOut<P extends Props> = Flat<
  { [K in Exclude<keyof P, OptionalKeys<P>>]: Out<P[K]> } & { [K in OptionalKeys<P>]?: Out<P[K]> }
>;

const fail = (at: string, what: string): never => {
  throw new ShapeMismatch(`${at || 'the value'}: ${what}`);
};
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

export function string(o: { min?: number; max?: number; pattern?: RegExp } = {}): Shape<string> {
  return {
    check: (v, at = '') => {
      if (typeof v !== 'string') return fail(at, `expected a string, got ${kind(v)}`);
      if (o.min !== undefined && v.length < o.min) fail(at, `at least ${o.min} characters`);
      if (o.max !== undefined && v.length > o.max) fail(at, `at most ${o.max} characters`);
      if (o.pattern && !o.pattern.test(v)) fail(at, `does not match ${o.pattern}`);
      return v;
    },
  };
}

export function number(o: { int?: boolean; min?: number; max?: number } = {}): Shape<number> {
  return {
    check: (v, at = '') => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(at, `expected a number, got ${kind(v)}`);
      if (o.int && !Number.isSafeInteger(v)) fail(at, 'expected an integer');
      if (o.min !== undefined && v < o.min) fail(at, `at least ${o.min}`);
      if (o.max !== undefined && v > o.max) fail(at, `at most ${o.max}`);
      return v;
    },
  };
}

export const int = (o: { min?: number; max?: number } = {}): Shape<number> => number({ ...o, int: true });

export const boolean = (): Shape<boolean> => ({
  check: (v, at = '') => (typeof v === 'boolean' ? v : fail(at, `expected true or false, got ${kind(v)}`)),
});

export const unknown = (): Shape<unknown> => ({ check: (v) => v });

export function literal<const T extends string | number | boolean>(value: T): Shape<T> {
  return { check: (v, at = '') => (v === value ? value : fail(at, `expected ${JSON.stringify(value)}`)) };
}

export function oneOf<const T extends readonly string[]>(values: T): Shape<T[number]> {
  return {
    check: (v, at = '') =>
      values.includes(v as string) ? (v as T[number]) : fail(at, `expected one of ${values.join(', ')}`),
  };
}

export function optional<T>(s: Shape<T>): Shape<T | undefined> & { optional: true } {
  return { optional: true, check: (v, at) => (v === undefined ? undefined : s.check(v, at)) };
}

export function nullable<T>(s: Shape<T>): Shape<T | null> {
  return { check: (v, at) => (v === null ? null : s.check(v, at)) };
}

export function array<T>(s: Shape<T>, o: { max?: number } = {}): Shape<T[]> {
  return {
    check: (v, at = '') => {
      if (!Array.isArray(v)) return fail(at, `expected an array, got ${kind(v)}`);
      if (o.max !== undefined && v.length > o.max) fail(at, `at most ${o.max} items`);
      return v.map((item, i) => s.check(item, `${at}[${i}]`));
    },
  };
}

/** An object with these keys; others are dropped, or refused when `strict`. */
export function object<P extends Props>(props: P, o: { strict?: boolean } = {}): Shape<ObjectOut<P>> {
  const keys = Object.keys(props);
  return {
    check: (v, at = '') => {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        return fail(at, `expected an object, got ${kind(v)}`);
      const record = v as Record<string, unknown>;
      if (o.strict) {
        const extra = Object.keys(record).find((k) => !Object.hasOwn(props, k));
        if (extra !== undefined) fail(at, `unexpected key ${JSON.stringify(extra.slice(0, 100))}`);
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const value = Object.hasOwn(record, k) ? record[k] : undefined;
        const checked = props[k]!.check(value, at ? `${at}.${k}` : k);
        if (checked !== undefined || Object.hasOwn(record, k)) out[k] = checked;
      }
      return out as ObjectOut<P>;
    },
  };
}

/** What `check` says, without throwing. */
export function test<T>(
  s: Shape<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; message: string } {
  try {
    return { ok: true, value: s.check(value) };
  } catch (e) {
    if (e instanceof ShapeMismatch) return { ok: false, message: e.message };
    throw e;
  }
}
