import { type ComponentType, h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Alert, Button, Loading } from './kit.tsx';

const T = {
  failed: 'This page could not be loaded. The box may have been updated since this tab opened.',
  reload: 'Reload',
};

/**
 * A screen whose code is fetched the first time it is shown. The dashboard's bundle stays
 * what the first screen needs — a phone parses and compiles the other screens only when the
 * person goes to one. A fetch that fails (the box was updated and the chunk's name changed,
 * or the connection dropped) says so with a way out instead of a blank screen, and is tried
 * again the next time the screen is shown.
 */
export function lazy<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  let loading: Promise<ComponentType<P>> | undefined;
  return function Lazy(props: P) {
    // A counter, not the component: useState would call a function given to it.
    const [, setShown] = useState(0);
    const [error, setError] = useState<unknown>(undefined);
    useEffect(() => {
      if (loaded) return;
      let current = true;
      loading ??= load();
      loading.then(
        (c) => {
          loaded = c;
          if (current) setShown((n) => n + 1);
        },
        (e: unknown) => {
          loading = undefined;
          if (current) setError(e);
        },
      );
      return () => {
        current = false;
      };
    }, []);
    if (loaded) return h(loaded, props);
    if (error !== undefined)
      return (
        <Alert kind="error">
          {T.failed}{' '}
          <Button variant="link" onClick={() => location.reload()}>
            {T.reload}
          </Button>
        </Alert>
      );
    return <Loading />;
  };
}
