import { z } from 'zod';
import { isSecret } from '../rpc/registry.ts';

const REDACTED = '[redacted]';
const MAX_STRING = 512;

/**
 * A copy of `params` fit for the audit log: fields the schema marks secret are replaced,
 * long strings are cut. Works on params that failed validation too, so a mistyped
 * password is never written down.
 */
export function redactParams(schema: z.ZodType, params: unknown): unknown {
  const inner = unwrap(schema);
  if (isSecret(inner)) return params === undefined ? undefined : REDACTED;
  if (inner instanceof z.ZodObject && isPlainObject(params)) {
    const shape = inner.shape as Record<string, z.ZodType>;
    return Object.fromEntries(
      Object.entries(params).map(([k, v]) => [
        k,
        Object.hasOwn(shape, k) ? redactParams(shape[k]!, v) : trim(v),
      ]),
    );
  }
  if (inner instanceof z.ZodArray && Array.isArray(params)) {
    return params.map((v) => redactParams(inner.element as z.ZodType, v));
  }
  return trim(params);
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (
    !isSecret(s) &&
    (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable)
  ) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function trim(v: unknown): unknown {
  if (typeof v === 'string' && v.length > MAX_STRING) return `${v.slice(0, MAX_STRING)}…`;
  if (Array.isArray(v)) return v.map(trim);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, trim(x)]));
  return v;
}
