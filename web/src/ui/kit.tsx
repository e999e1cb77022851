import type { ButtonHTMLAttributes, ComponentChildren, JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { explain } from '../lib/errors.ts';

/** The controls every screen is made of: labelled, keyboard-reachable, honest about waiting. */

export function Logo(): JSX.Element {
  return (
    <svg viewBox="0 0 32 32" aria-hidden="true">
      <path d="M16 3 3 14h4v14h18V14h4z" fill="var(--accent)" />
      <path
        d="M16 12c3 4 5 6 5 9a5 5 0 0 1-10 0c0-2 1-3 2-4 0 2 1 3 2 3 0-3-1-5 1-8z"
        fill="var(--surface)"
      />
    </svg>
  );
}

type ButtonProps = Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'type'> & {
  variant?: 'primary' | 'danger' | 'link';
  busy?: boolean;
  type?: 'button' | 'submit';
  disabled?: boolean;
};

/** A button; while `busy` it says so and cannot be pressed again. */
export function Button({ variant, busy, children, type = 'button', disabled, ...rest }: ButtonProps) {
  return (
    <button
      {...rest}
      type={type}
      class={variant ?? ''}
      disabled={disabled || busy}
      aria-busy={busy ? 'true' : undefined}
    >
      {children}
      {busy ? <span class="visually-hidden"> (working…)</span> : null}
    </button>
  );
}

/** A labelled field: the label, the control (given an id), a hint and an error under it. */
export function Field(props: {
  label: ComponentChildren;
  hint?: ComponentChildren;
  error?: string | undefined;
  children: (id: string, describedBy: string | undefined) => ComponentChildren;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy =
    [props.hint ? hintId : '', props.error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.hint ? (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      ) : null}
      {props.error ? (
        <span class="error" id={errorId}>
          {props.error}
        </span>
      ) : null}
    </div>
  );
}

/** What a text field passes on to its input. */
export interface InputProps {
  type?: 'text' | 'password' | 'email' | 'url' | 'search' | 'number';
  autocomplete?: string;
  autofocus?: boolean;
  autocapitalize?: 'none' | 'off' | 'on' | 'sentences' | 'words' | 'characters';
  spellcheck?: boolean;
  required?: boolean;
  disabled?: boolean;
  placeholder?: string;
  inputMode?: 'text' | 'numeric' | 'decimal' | 'email' | 'url' | 'search' | 'tel' | 'none';
  class?: string;
  name?: string;
}

export function TextField(
  props: {
    label: ComponentChildren;
    hint?: ComponentChildren;
    error?: string | undefined;
    value: string;
    onInput: (v: string) => void;
  } & InputProps,
) {
  const { label, hint, error, value, onInput, ...rest } = props;
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, describedBy) => (
        <input
          {...(rest as JSX.IntrinsicElements['input'])}
          id={id}
          value={value}
          aria-describedby={describedBy}
          aria-invalid={error ? 'true' : undefined}
          onInput={(e) => onInput(e.currentTarget.value)}
        />
      )}
    </Field>
  );
}

/** What went wrong, said in the UI's words; announced to screen readers. */
export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <div class="alert error" role="alert">
      {explain(error)}
    </div>
  );
}

export function Alert(props: {
  kind: 'error' | 'warning' | 'info' | 'success';
  children: ComponentChildren;
}) {
  return (
    <div class={`alert ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

export function Badge(props: { tone?: 'ok' | 'warn' | 'bad'; children: ComponentChildren }) {
  return <span class={`badge ${props.tone ?? ''}`}>{props.children}</span>;
}

export function Empty(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty card">
      <h2>{props.title}</h2>
      {props.children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {label}
    </p>
  );
}

/** The screen's title and its buttons; the document title follows it. */
export function PageHead(props: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · Hearth`;
  }, [props.title]);
  return (
    <div class="page-head">
      <h1>{props.title}</h1>
      {props.children ? <div class="buttons">{props.children}</div> : null}
    </div>
  );
}

/**
 * Asks before something that cannot be undone. With `typed`, the person must type that
 * word first (erasing a drive, uninstalling with its data).
 */
export function Confirm(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  typed?: string;
  busy?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      setTyped('');
      d.showModal();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);
  const ready = props.typed === undefined || typed.trim() === props.typed;
  return (
    <dialog
      ref={ref}
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready) props.onConfirm();
        }}
      >
        <h2 id="confirm-title">{props.title}</h2>
        {props.children}
        {props.typed !== undefined ? (
          <TextField
            label={
              <>
                Type <strong>{props.typed}</strong> to confirm
              </>
            }
            value={typed}
            onInput={setTyped}
            autocomplete="off"
          />
        ) : null}
        <ErrorNote error={props.error} />
        <div class="buttons">
          <Button
            type="submit"
            variant={props.danger ? 'danger' : 'primary'}
            busy={props.busy}
            disabled={!ready}
          >
            {props.confirmLabel}
          </Button>
          <Button onClick={props.onCancel}>Cancel</Button>
        </div>
      </form>
    </dialog>
  );
}

/** A value the person copies (a token shown once). */
export function CopyBox({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Field label={label}>
      {(id) => (
        <div class="buttons" style={{ marginTop: 0 }}>
          <input id={id} class="mono" readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
          <Button
            onClick={async () => {
              try {
                await navigator.clipboard.writeText(value);
                setCopied(true);
              } catch {
                setCopied(false);
              }
            }}
          >
            {copied ? 'Copied' : 'Copy'}
          </Button>
        </div>
      )}
    </Field>
  );
}

/**
 * A scrolling log. Reachable by keyboard so it can be read and scrolled (WCAG 2.1.1);
 * with `follow`, it keeps the newest line in view.
 */
export function LogBox(props: { label: string; follow?: boolean; children: ComponentChildren }) {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const b = ref.current;
    if (b && props.follow) b.scrollTop = b.scrollHeight;
  });
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <pre class="logs" role="log" ref={ref} tabIndex={0} aria-label={props.label}>
      {props.children}
    </pre>
  );
}

/** A wide table that scrolls sideways on a phone: reachable by keyboard to be scrolled. */
export function TableBox(props: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <div class="table-wrap card" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}

/** A labelled list to choose one of `options` (value → words); `blank` adds a first “none” choice. */
export function SelectField<K extends string>(props: {
  label: ComponentChildren;
  options: Record<K, string>;
  value: K | '';
  onChange: (value: K | '') => void;
  blank?: string;
}) {
  return (
    <Field label={props.label}>
      {(id) => (
        <select id={id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as K | '')}>
          {props.blank !== undefined ? <option value="">{props.blank}</option> : null}
          {(Object.keys(props.options) as K[]).map((k) => (
            <option key={k} value={k}>
              {props.options[k]}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
