import { z } from 'zod';
import { isSecret } from '../calls.ts';

export const REDACTED = '[redacted]';
const MAX_STRING = 512;
const MAX_DEPTH = 20;

/**
 * Names of fields that hold a secret when nothing says otherwise: params with no
 * schema of their own (a package action's input before its package is known, keys a
 * schema does not list) are redacted by name.
 */
const SECRET_NAME =
  /pass(word|phrase|wd)?|pwd|secret|token|credential|private|cookie|session|authorization|otp|(^|[_-])pin$|(^|[_-]|[a-z])key$/i;

export const isSecretName = (name: string): boolean => SECRET_NAME.test(name);

/**
 * A copy of `params` fit for the audit log and the log file: fields the schema marks
 * secret are replaced, fields it does not describe are redacted by name, long strings
 * are cut. `dynamic` gives the JSON Schemas of params only known at call time (a
 * package action's `input`): their `writeOnly` / `x-secret` fields are redacted too.
 * Works on params that failed validation, so a mistyped password is never written down.
 */
export function redactParams(
  schema: z.ZodType,
  params: unknown,
  dynamic: Record<string, unknown> = {},
): unknown {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject && isPlainObject(params)) {
    const shape = inner.shape as Record<string, z.ZodType>;
    return Object.fromEntries(
      Object.entries(params).map(([k, v]) => [
        k,
        Object.hasOwn(dynamic, k)
          ? byJsonSchema(dynamic[k], v, 0)
          : Object.hasOwn(shape, k)
            ? byZod(shape[k]!, v, 0)
            : byName(k, v, 0),
      ]),
    );
  }
  return byZod(schema, params, 0);
}

function byZod(schema: z.ZodType, value: unknown, depth: number): unknown {
  const inner = unwrap(schema);
  if (isSecret(inner)) return value === undefined ? undefined : REDACTED;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (inner instanceof z.ZodObject && isPlainObject(value)) {
    const shape = inner.shape as Record<string, z.ZodType>;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        Object.hasOwn(shape, k) ? byZod(shape[k]!, v, depth + 1) : byName(k, v, depth + 1),
      ]),
    );
  }
  if (inner instanceof z.ZodArray && Array.isArray(value)) {
    return value.map((v) => byZod(inner.element as z.ZodType, v, depth + 1));
  }
  return unknownValue(value, depth);
}

/** By a JSON Schema: what a package declared for its action's input. */
function byJsonSchema(schema: unknown, value: unknown, depth: number): unknown {
  if (!isPlainObject(schema)) return unknownValue(value, depth);
  if (schema['writeOnly'] === true || schema['x-secret'] === true)
    return value === undefined ? undefined : REDACTED;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (isPlainObject(value)) {
    const properties = isPlainObject(schema['properties']) ? schema['properties'] : {};
    const extra = schema['additionalProperties'];
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        Object.hasOwn(properties, k)
          ? byJsonSchema(properties[k], v, depth + 1)
          : isPlainObject(extra)
            ? byJsonSchema(extra, v, depth + 1)
            : byName(k, v, depth + 1),
      ]),
    );
  }
  if (Array.isArray(value)) return value.map((v) => byJsonSchema(schema['items'], v, depth + 1));
  return unknownValue(value, depth);
}

/** A field no schema describes: a secret by its name, or looked into. */
function byName(key: string, value: unknown, depth: number): unknown {
  if (isSecretName(key)) return value === undefined ? undefined : REDACTED;
  return unknownValue(value, depth);
}

function unknownValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => unknownValue(v, depth + 1));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, byName(k, v, depth + 1)]));
  }
  return value;
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
