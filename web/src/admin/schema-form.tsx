import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { Button, Field } from '../ui/kit.tsx';

/** The part of JSON Schema an action's input uses (the SDK writes it from zod). */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  format?: string;
  writeOnly?: boolean;
  'x-secret'?: boolean;
}

const T = {
  required: 'Required.',
  minLength: (n: number) => `At least ${n} character${n === 1 ? '' : 's'}.`,
  maxLength: (n: number) => `At most ${n} characters.`,
  minimum: (n: number) => `At least ${n}.`,
  maximum: (n: number) => `At most ${n}.`,
  number: 'A number.',
  integer: 'A whole number.',
  pattern: 'Not in the expected form.',
  choose: 'Choose…',
};

const typeOf = (s: JsonSchema) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);
const isSecret = (s: JsonSchema) => s.writeOnly === true || s['x-secret'] === true;
const labelOf = (key: string, s: JsonSchema) =>
  s.title ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());

/** What the schema says about one value, in words; undefined when it is fine. */
export function validate(s: JsonSchema, raw: unknown, required: boolean): string | undefined {
  const t = typeOf(s);
  if (raw === undefined || raw === '') return required && t !== 'boolean' ? T.required : undefined;
  if (t === 'string' && typeof raw === 'string') {
    const v = raw.trim();
    if (s.minLength !== undefined && v.length < s.minLength) return T.minLength(s.minLength);
    if (s.maxLength !== undefined && v.length > s.maxLength) return T.maxLength(s.maxLength);
    if (s.pattern) {
      try {
        if (!new RegExp(s.pattern, 'u').test(v)) return T.pattern;
      } catch {}
    }
  }
  if (t === 'number' || t === 'integer') {
    const n = Number(raw);
    if (!Number.isFinite(n)) return T.number;
    if (t === 'integer' && !Number.isInteger(n)) return T.integer;
    if (s.minimum !== undefined && n < s.minimum) return T.minimum(s.minimum);
    if (s.maximum !== undefined && n > s.maximum) return T.maximum(s.maximum);
    if (s.exclusiveMinimum !== undefined && n <= s.exclusiveMinimum) return T.minimum(s.exclusiveMinimum);
    if (s.exclusiveMaximum !== undefined && n >= s.exclusiveMaximum) return T.maximum(s.exclusiveMaximum);
  }
  return undefined;
}

function toValue(s: JsonSchema, raw: unknown): unknown {
  const t = typeOf(s);
  if (raw === '' || raw === undefined) return undefined;
  if (t === 'number' || t === 'integer') return Number(raw);
  if (t === 'string' && typeof raw === 'string') return raw.trim();
  return raw;
}

/**
 * A form made from an action's input schema: a field per property (a password input for a
 * secret, a checkbox for a boolean, a list for an enum), checked against the schema as the
 * person types and again by the box. `onSubmit` gets the values.
 */
export function SchemaForm(props: {
  id: string;
  schema: JsonSchema;
  submitLabel: string;
  busy?: boolean;
  onSubmit: (value: Record<string, unknown>) => void;
}) {
  const props_ = props.schema.properties ?? {};
  const required = new Set(props.schema.required ?? []);
  const [raw, setRaw] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(
      Object.entries(props_).map(([k, s]) => [k, s.default ?? (typeOf(s) === 'boolean' ? false : '')]),
    ),
  );
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [tried, setTried] = useState(false);
  const errors = Object.fromEntries(
    Object.entries(props_).map(([k, s]) => [k, validate(s, raw[k], required.has(k))]),
  );
  const ok = Object.values(errors).every((e) => e === undefined);

  return (
    <form
      id={props.id}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setTried(true);
        if (!ok) return;
        const value: Record<string, unknown> = {};
        for (const [k, s] of Object.entries(props_)) {
          const v = toValue(s, raw[k]);
          if (v !== undefined) value[k] = v;
        }
        props.onSubmit(value);
      }}
    >
      {Object.entries(props_).map(([key, s]) => {
        const t = typeOf(s);
        const error = tried || touched[key] ? errors[key] : undefined;
        const set = (v: unknown) => {
          setRaw((r) => ({ ...r, [key]: v }));
          setTouched((x) => ({ ...x, [key]: true }));
        };
        if (t === 'boolean') {
          return (
            <label class="check" key={key}>
              <input
                type="checkbox"
                checked={raw[key] === true}
                onChange={(e) => set(e.currentTarget.checked)}
              />
              {labelOf(key, s)}
              {s.description ? <span class="muted"> — {s.description}</span> : null}
            </label>
          );
        }
        return (
          <Field key={key} label={labelOf(key, s)} hint={s.description} error={error}>
            {(id, describedBy) =>
              s.enum ? (
                <select
                  id={id}
                  aria-describedby={describedBy}
                  value={String(raw[key] ?? '')}
                  onChange={(e) => set(e.currentTarget.value)}
                >
                  <option value="">{T.choose}</option>
                  {s.enum.map((v) => (
                    <option key={String(v)} value={String(v)}>
                      {String(v)}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  {...({
                    type: isSecret(s) ? 'password' : t === 'number' || t === 'integer' ? 'number' : 'text',
                  } as JSX.IntrinsicElements['input'])}
                  id={id}
                  name={key}
                  aria-describedby={describedBy}
                  aria-invalid={error ? 'true' : undefined}
                  aria-required={required.has(key) ? 'true' : undefined}
                  autocomplete={isSecret(s) ? 'new-password' : 'off'}
                  value={String(raw[key] ?? '')}
                  onInput={(e) => set(e.currentTarget.value)}
                />
              )
            }
          </Field>
        );
      })}
      <div class="buttons">
        <Button type="submit" variant="primary" busy={props.busy}>
          {props.submitLabel}
        </Button>
      </div>
    </form>
  );
}
