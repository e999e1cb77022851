import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.ts';
import { codeOf } from '../lib/errors.ts';
import { Live } from '../lib/live.ts';
import { Loading } from '../ui/kit.tsx';
import { preloadHistory } from './home.tsx';
import { Login, nextAfterSignIn } from './login.tsx';
import { Shell } from './shell.tsx';

type Session = { at: 'checking' } | { at: 'signed-out'; reason?: 'ended' } | { at: 'signed-in'; live: Live };

/**
 * The admin UI: the sign-in page until there is a session, then the screens over one live
 * connection to the box (the state document and its patches). A session that ends — logged
 * out, killed from another device, expired — brings the sign-in page back.
 */
export function App() {
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
    // The live connection and the vitals' history start at once, beside the session check:
    // a signed-in page is live a round trip sooner; a signed-out one closes them.
    const live = new Live({ subscribeState: true });
    preloadHistory();
    api.call('server.info').then(
      () => {
        // Signed in already: an app this page was asked to go back to opens at once.
        const next = nextAfterSignIn(location.search);
        if (next) location.assign(next);
        else enter(live);
      },
      (e: unknown) => {
        live.close();
        // A box that is not set up yet serves the wizard at `/`.
        if (codeOf(e) === 'setup_required') location.replace('/');
        else setSession({ at: 'signed-out' });
      },
    );
  }, []);

  useEffect(() => {
    if (session.at !== 'signed-in') return;
    return () => session.live.close();
  }, [session]);

  if (session.at === 'checking') return <Loading />;
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
