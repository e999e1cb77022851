import { useState } from 'preact/hooks';
import { Button, TextField } from '../ui/kit.tsx';
import type { Identity } from './wizard.tsx';

const T = {
  title: 'Name your box and protect it',
  name: 'Box name',
  nameHint: (n: string) => `On your network it will be ${n || '…'}.local`,
  nameError: 'Use 1–63 lowercase letters, digits and inner hyphens, like “hearth” or “home-server”.',
  password: 'Password',
  passwordHint: 'At least 12 characters. A few unrelated words make a strong one.',
  tooShort: (n: number) => `${12 - n} more character${12 - n === 1 ? '' : 's'} needed.`,
  again: 'Password again',
  mismatch: 'The two passwords are not the same.',
  strength: 'Strength',
  levels: ['Too short', 'Weak', 'Fair', 'Strong', 'Very strong'],
  back: 'Back',
  next: 'Set up the box',
};

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * How hard the password is to guess, 0–4: its length against the kinds of characters in
 * it, less for one repeated character or a run like "abcd"/"1234". A guide for the meter,
 * not a rule: the box takes any password of 12 or more.
 */
export function strength(p: string): number {
  if (p.length < 12) return 0;
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((r) => r.test(p)).length;
  const unique = new Set(p).size;
  let bits = Math.log2(Math.max(10, kinds * 20)) * Math.min(p.length, unique * 2);
  if (/^(.)\1+$/.test(p) || /(0123|1234|2345|abcd|qwer|password)/i.test(p)) bits /= 2;
  return bits < 50 ? 1 : bits < 65 ? 2 : bits < 90 ? 3 : 4;
}

export function IdentityStep(props: { onBack: () => void; onNext: (i: Identity) => void }) {
  const [hostname, setHostname] = useState('hearth');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [tried, setTried] = useState(false);
  const name = hostname.trim().toLowerCase();
  const nameError = LABEL.test(name) ? undefined : T.nameError;
  const passwordError = password.length < 12 ? T.tooShort(password.length) : undefined;
  const againError = again !== password ? T.mismatch : undefined;
  const level = strength(password);
  const ok = !nameError && !passwordError && !againError;
  return (
    <form
      aria-labelledby="identity-title"
      onSubmit={(e) => {
        e.preventDefault();
        setTried(true);
        if (ok) props.onNext({ hostname: name, password });
      }}
      noValidate
    >
      <h1 id="identity-title">{T.title}</h1>
      <TextField
        label={T.name}
        hint={T.nameHint(name)}
        error={tried || hostname !== 'hearth' ? nameError : undefined}
        value={hostname}
        onInput={setHostname}
        autocomplete="off"
        autocapitalize="none"
        spellcheck={false}
        required
      />
      <TextField
        label={T.password}
        hint={T.passwordHint}
        error={tried ? passwordError : undefined}
        type="password"
        autocomplete="new-password"
        value={password}
        onInput={setPassword}
        required
      />
      <div class="meter" data-level={level}>
        <meter min={0} max={4} low={2} high={3} optimum={4} value={level} aria-label={T.strength} />
        <span aria-live="polite">
          {T.strength}: {T.levels[level]}
        </span>
      </div>
      <TextField
        label={T.again}
        error={tried || again.length >= password.length ? againError : undefined}
        type="password"
        autocomplete="new-password"
        value={again}
        onInput={setAgain}
        required
      />
      <div class="buttons">
        <Button onClick={props.onBack}>{T.back}</Button>
        <Button type="submit" variant="primary">
          {T.next}
        </Button>
      </div>
    </form>
  );
}
