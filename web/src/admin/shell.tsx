import type { JSX } from 'preact';
import type { HearthState } from '../../../core/src/state/shape.ts';
import { useLive } from '../lib/hooks.ts';
import type { Live } from '../lib/live.ts';
import { href, useRoute } from '../lib/router.ts';
import { Alert, Button, Logo } from '../ui/kit.tsx';
import { lazy } from '../ui/lazy.tsx';
import { Home } from './home.tsx';

// Home is in the first bundle; the other screens load when first shown (see lazy).
const Services = lazy(() => import('./services.tsx').then((m) => m.Services));
const Service = lazy(() => import('./service.tsx').then((m) => m.Service));
const Notifications = lazy(() => import('./notifications.tsx').then((m) => m.Notifications));
const Backups = lazy(() => import('./backups.tsx').then((m) => m.Backups));
const Settings = lazy(() => import('./settings/settings.tsx').then((m) => m.Settings));

const T = {
  nav: 'Main',
  home: 'Home',
  services: 'Services',
  notifications: 'Notifications',
  backups: 'Backups',
  unseen: (n: number) => `${n} new`,
  settings: 'Settings',
  signOut: 'Sign out',
  skip: 'Skip to the content',
  connecting: 'Connecting to the box…',
  reconnecting: 'The connection to the box was lost. Reconnecting…',
  restarted: 'The box started again. What you see is up to date.',
  notFound: 'There is no such page.',
};

/** The state document as the screens read it: its shape is the core's. */
export const stateOf = (live: Live) => live.state as HearthState;

/** The frame of every screen after sign-in: the navigation, the line to the box, the screen. */
export function Shell(props: { live: Live; onSignOut: () => void }) {
  const { live } = props;
  const route = useRoute();
  const status = useLive(live, (l) => l.status);
  const restarted = useLive(live, (l) => l.restarted);
  const unseen = useLive(live, (l) => stateOf(l).notifications?.unseen ?? 0);
  const hostname = useLive(live, (l) => stateOf(l).server?.hostname);
  const section = route.path.split('/')[1] ?? '';
  const link = (path: string, name: string, label: string = name) => (
    <a
      href={href(path)}
      aria-label={label}
      aria-current={(path === '/' ? section === '' : path.slice(1) === section) ? 'page' : undefined}
    >
      {name}
    </a>
  );

  let screen: JSX.Element;
  const parts = route.path.split('/').filter(Boolean);
  if (parts.length === 0) screen = <Home live={live} />;
  else if (parts[0] === 'services' && parts.length === 1) screen = <Services live={live} />;
  else if (parts[0] === 'services' && parts[1]) screen = <Service live={live} id={parts[1]} />;
  else if (parts[0] === 'notifications') screen = <Notifications live={live} />;
  else if (parts[0] === 'backups') screen = <Backups live={live} />;
  else if (parts[0] === 'settings')
    screen = <Settings live={live} section={parts[1]} onSignOut={props.onSignOut} />;
  else screen = <Alert kind="warning">{T.notFound}</Alert>;

  return (
    <div class="shell">
      <button type="button" class="skip" onClick={() => document.getElementById('content')?.focus()}>
        {T.skip}
      </button>
      <nav aria-label={T.nav}>
        <span class="brand">
          <Logo />
          <span>{hostname ?? 'Hearth'}</span>
        </span>
        {link('/', T.home)}
        {link('/services', T.services)}
        {link(
          '/notifications',
          unseen > 0 ? `${T.notifications} (${unseen})` : T.notifications,
          unseen > 0 ? `${T.notifications}, ${T.unseen(unseen)}` : T.notifications,
        )}
        {link('/backups', T.backups)}
        {link('/settings', T.settings)}
        <span class="spacer" />
        <Button variant="link" onClick={props.onSignOut}>
          {T.signOut}
        </Button>
      </nav>
      <main id="content" tabIndex={-1}>
        {status === 'reconnecting' ? (
          <div class="connection alert warning" role="status">
            {T.reconnecting}
          </div>
        ) : status === 'connecting' ? (
          <div class="connection muted" role="status">
            {T.connecting}
          </div>
        ) : restarted ? (
          <div class="connection alert info" role="status">
            {T.restarted}
          </div>
        ) : null}
        {screen}
      </main>
    </div>
  );
}
