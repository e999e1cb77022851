import type { Live } from '../../lib/live.ts';
import { href } from '../../lib/router.ts';
import { PageHead } from '../../ui/kit.tsx';
import { Audit } from './audit.tsx';
import { BoxSettings } from './box.tsx';
import { Channels } from './channels.tsx';
import { Domains } from './domains.tsx';
import { Security } from './security.tsx';
import { Signers } from './signers.tsx';
import { Ssh } from './ssh.tsx';
import { SystemView } from './system.tsx';
import { Tokens } from './tokens.tsx';
import { Trust } from './trust.tsx';
import { Updates } from './updates.tsx';
import { Vpn } from './vpn.tsx';

const SECTIONS = {
  box: 'The box',
  trust: 'Trust this box',
  security: 'Password and sign-in',
  tokens: 'API tokens',
  domains: 'Custom domains',
  vpn: 'VPN',
  ssh: 'SSH',
  notifications: 'Notifications',
  signers: 'Trusted publishers',
  updates: 'Hearth updates',
  system: 'Checks and activity',
  audit: 'Audit log',
} as const;
type Section = keyof typeof SECTIONS;

const T = { title: 'Settings', sections: 'Settings sections' };

export function Settings(props: { live: Live; section: string | undefined; onSignOut: () => void }) {
  const section: Section = props.section && props.section in SECTIONS ? (props.section as Section) : 'box';
  return (
    <>
      <PageHead title={`${T.title}: ${SECTIONS[section]}`} />
      <nav class="tabs" aria-label={T.sections}>
        {(Object.keys(SECTIONS) as Section[]).map((s) => (
          <a key={s} href={href(`/settings/${s}`)} aria-current={s === section ? 'page' : undefined}>
            {SECTIONS[s]}
          </a>
        ))}
      </nav>
      {section === 'box' ? <BoxSettings live={props.live} /> : null}
      {section === 'trust' ? <Trust /> : null}
      {section === 'security' ? <Security onSignOut={props.onSignOut} /> : null}
      {section === 'tokens' ? <Tokens /> : null}
      {section === 'domains' ? <Domains /> : null}
      {section === 'vpn' ? <Vpn /> : null}
      {section === 'ssh' ? <Ssh /> : null}
      {section === 'notifications' ? <Channels /> : null}
      {section === 'signers' ? <Signers /> : null}
      {section === 'updates' ? <Updates live={props.live} /> : null}
      {section === 'system' ? <SystemView live={props.live} /> : null}
      {section === 'audit' ? <Audit /> : null}
    </>
  );
}
