import { api } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { useLoad } from '../../lib/hooks.ts';
import { Badge, CopyBox, ErrorNote, Loading } from '../../ui/kit.tsx';

const T = {
  title: 'Trust this box',
  why:
    'Your box made its own certificate authority. Once a device trusts it, the box and its services open over HTTPS without a warning. ' +
    'It can only vouch for names ending in .local, .internal or .home.arpa and for private addresses, never for other sites.',
  download: 'Download the certificate',
  pem: 'Certificate (.crt)',
  der: 'Certificate (.der, for Windows and Android)',
  profile: 'Profile for iPhone, iPad and Mac (.mobileconfig)',
  fingerprint: 'Its fingerprint (SHA-256): compare it with what your device shows',
  off: 'HTTPS is off on this box (development mode); the certificate still works once it is on.',
  steps: 'How to trust it',
  certificates: 'Certificates',
  expires: 'expires',
  renew: 'The box renews them by itself, a month before they expire.',
};

/** Short steps per system: what a person does with the downloaded file. */
const STEPS: { system: string; steps: string[] }[] = [
  {
    system: 'Windows',
    steps: [
      'Download the .der certificate and open it.',
      'Choose Install Certificate…, then Local Machine.',
      'Choose Place all certificates in the following store, then Trusted Root Certification Authorities, and finish.',
    ],
  },
  {
    system: 'macOS',
    steps: [
      'Download the profile and open System Settings → Privacy & Security → Profiles; install it.',
      'Or open the .crt in Keychain Access, then under Trust set When using this certificate to Always Trust.',
    ],
  },
  {
    system: 'iPhone and iPad',
    steps: [
      'Open this page in Safari and download the profile; allow it.',
      'Settings → General → VPN & Device Management: install the profile.',
      'Settings → General → About → Certificate Trust Settings: turn on full trust for the Hearth CA.',
    ],
  },
  {
    system: 'Android',
    steps: [
      'Download the .crt certificate.',
      'Settings → Security → More security settings → Encryption & credentials → Install a certificate → CA certificate, and pick it.',
    ],
  },
  {
    system: 'Linux',
    steps: [
      'Debian and Ubuntu: sudo cp hearth-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates',
      'Fedora: sudo cp hearth-ca.crt /etc/pki/ca-trust/source/anchors/ && sudo update-ca-trust',
    ],
  },
  {
    system: 'Firefox (keeps its own list)',
    steps: [
      'Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import.',
      'Pick the .crt and tick Trust this CA to identify websites.',
    ],
  },
];

export function Trust() {
  const [status] = useLoad(() => api.call('tls.status'));
  return (
    <>
      <section class="card" aria-labelledby="trust-title">
        <h2 id="trust-title">{T.title}</h2>
        <p class="muted">{T.why}</p>
        {status.state === 'loading' ? <Loading /> : null}
        {status.state === 'failed' ? <ErrorNote error={status.error} /> : null}
        {status.state === 'ready' && status.value.httpsPort === null ? <p class="muted">{T.off}</p> : null}
        <h3>{T.download}</h3>
        <ul>
          <li>
            <a href="/hearth-ca.crt" download>
              {T.pem}
            </a>
          </li>
          <li>
            <a href="/hearth-ca.der" download>
              {T.der}
            </a>
          </li>
          <li>
            <a href="/hearth-ca.mobileconfig" download>
              {T.profile}
            </a>
          </li>
        </ul>
        {status.state === 'ready' && status.value.caFingerprint ? (
          <CopyBox label={T.fingerprint} value={status.value.caFingerprint} />
        ) : null}
      </section>
      <section class="card" aria-labelledby="trust-steps">
        <h2 id="trust-steps">{T.steps}</h2>
        {STEPS.map((s) => (
          <details key={s.system}>
            <summary>{s.system}</summary>
            <ol>
              {s.steps.map((step) => (
                <li key={step}>{step}</li>
              ))}
            </ol>
          </details>
        ))}
      </section>
      {status.state === 'ready' ? (
        <section class="card" aria-labelledby="trust-certs">
          <h2 id="trust-certs">{T.certificates}</h2>
          <p class="muted">{T.renew}</p>
          <ul>
            {status.value.certificates
              .filter((c) => c.role === 'leaf')
              .map((c) => (
                <li key={c.id}>
                  <span class="mono">{c.names.join(', ')}</span>{' '}
                  <Badge tone={c.notAfter - Date.now() < 21 * 86_400_000 ? 'warn' : 'ok'}>
                    {T.expires} {when(c.notAfter)}
                  </Badge>
                </li>
              ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}
