import { useEffect, useState } from 'preact/hooks';
import { api, RpcError } from '../lib/api.ts';
import { codeOf } from '../lib/errors.ts';
import { Live } from '../lib/live.ts';
import { Loading } from '../ui/kit.tsx';
import { preloadHistory } from './home.tsx';
import { Limited } from './limited.tsx';
import { Login, nextAfterSignIn } from './login.tsx';
import { Shell } from './shell.tsx';

type Session =
  | { at: 'checking' }
  | { at: 'signed-out'; reason?: 'ended' }
  | { at: 'signed-in'; live: Live }
  | { at: 'limited'; error: unknown };

/** What the page starts as its script runs, before the first render: see beginSession. */
export interface Beginning {
  live: Live;
  info: Promise<unknown>;
}

/**
 * The live connection, the vitals' history and the session check, started at once and side
 * by side as the script runs — not from an effect after the first paint, which on a slow
 * phone costs a frame or more before the first byte is asked for. A signed-in page is live
 * a round trip sooner; a signed-out one closes the connection again.
 */
export function beginSession(): Beginning {
  const live = new Live({ subscribeState: true });
  preloadHistory();
  const info = api.call('server.info');
  info.catch(() => {});
  return { live, info };
}

/**
 * The admin UI: the sign-in page until there is a session, then the screens over one live
 * connection to the box (the state document and its patches). A session that ends — logged
 * out, killed from another device, expired — brings the sign-in page back.
 */
export function App({ beginning }: { beginning: Beginning }) {
  const [session, setSession] = useState<Session>({ at: 'checking' });

  /** Signed in over `live`: when its credential ends, back to the sign-in page, saying why. */
  const enter = (live: Live) => {
    live.onSignedOut = () => {
      live.close();
      setSession({ at: 'signed-out', reason: 'ended' });
    };
    setSession({ at: 'signed-in', live });
  };
  const signIn = () => enter(new Live({ subscribeState: true }));

  useEffect(() => {
    const { live, info } = beginning;
    info.then(
      async () => {
        // Signed in already: an app this page was asked to go back to opens at once.
        const next = nextAfterSignIn(location.search);
        if (next) return location.assign(next);
        await live.settled;
        enter(live);
      },
      (e: unknown) => {
        live.close();
        // A box that is not set up yet serves the wizard at `/`.
        if (codeOf(e) === 'setup_required') location.replace('/');
        // Limited mode: the data drive is missing or not this box's; nothing works until it is back.
        else if (e instanceof RpcError && e.data['limited'] === true) setSession({ at: 'limited', error: e });
        else setSession({ at: 'signed-out' });
      },
    );
  }, []);

  useEffect(() => {
    if (session.at !== 'signed-in') return;
    return () => session.live.close();
  }, [session]);

  if (session.at === 'checking') return <Loading />;
  if (session.at === 'limited') return <Limited error={session.error} />;
  if (session.at === 'signed-out') return <Login ended={session.reason === 'ended'} onSignedIn={signIn} />;
  return (
    <Shell
      live={session.live}
      onSignOut={async () => {
        await api.call('auth.logout').catch(() => {});
        session.live.close();
        setSession({ at: 'signed-out' });
      }}
    />
  );
}
