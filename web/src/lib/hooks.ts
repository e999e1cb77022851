import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { MethodName, ParamsOf, ResultOf } from './api.ts';
import type { Live } from './live.ts';

/** Re-renders when the live state or connection changes; `pick` reads what the screen needs. */
export function useLive<T>(live: Live, pick: (l: Live) => T): T {
  const [, force] = useState(0);
  const pickRef = useRef(pick);
  pickRef.current = pick;
  const last = useRef<string>('');
  useEffect(
    () =>
      live.subscribe(() => {
        // Only a change of what this screen reads re-renders it.
        const next = JSON.stringify(pickRef.current(live) ?? null);
        if (next !== last.current) {
          last.current = next;
          force((n) => n + 1);
        }
      }),
    [live],
  );
  const value = pick(live);
  last.current = JSON.stringify(value ?? null);
  return value;
}

export type Load<T> =
  | { state: 'loading' }
  | { state: 'ready'; value: T }
  | { state: 'failed'; error: unknown };

/**
 * Loads with `load()` now and again whenever `deps` change or `reload()` is called; the
 * last value stays shown while a reload runs.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): [Load<T>, () => void] {
  const [result, setResult] = useState<Load<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setResult({ state: 'ready', value }),
      (error: unknown) => current && setResult({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return [result, reload];
}

/** An action a button runs: whether it is running, and its error to show. */
export function useAction<A extends unknown[]>(
  run: (...args: A) => Promise<unknown>,
): { busy: boolean; error: unknown; run: (...args: A) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const go = useCallback(
    async (...args: A) => {
      setBusy(true);
      setError(undefined);
      try {
        await run(...args);
        return true;
      } catch (e) {
        setError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [run],
  );
  return { busy, error, run: go, clear: () => setError(undefined) };
}

/**
 * The items of a call that answers some now and streams the rest (logs with `follow`): the
 * first from `o.initial(answer)`, then each new one (`o.item` picks it, or drops it), the
 * newest `o.max` kept. Opened again when `deps` change and when the line to the box is back.
 */
export function useStreamed<N extends MethodName, T>(
  live: Live,
  method: N,
  params: ParamsOf<N>,
  o: { initial: (answer: ResultOf<N>) => T[]; item: (data: unknown) => T | undefined; max: number },
  deps: unknown[],
): { items: T[]; error: unknown } {
  const [items, setItems] = useState<T[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const status = useLive(live, (l) => l.status);
  const opts = useRef(o);
  opts.current = o;
  useEffect(() => {
    if (status !== 'live') return;
    let cancel: (() => void) | undefined;
    let gone = false;
    const keep = (xs: T[]) => xs.slice(-opts.current.max);
    live
      .stream(method, params, (data) => {
        const item = opts.current.item(data);
        if (item !== undefined) setItems((xs) => keep([...xs, item]));
      })
      .then(
        (s) => {
          if (gone) return s.cancel();
          setError(undefined);
          setItems(keep(opts.current.initial(s.initial)));
          cancel = s.cancel;
        },
        (e: unknown) => !gone && setError(e),
      );
    return () => {
      gone = true;
      cancel?.();
    };
  }, [...deps, status]);
  return { items, error };
}
