import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * For tests: a self-signed certificate for 127.0.0.1 (and `localhost` unless told
 * otherwise), made by openssl in a temp dir that is removed at once. The certificate is
 * its own CA: trust it by passing it as `ca` (or in NODE_EXTRA_CA_CERTS).
 */
export function selfSignedCertificate(o: { names?: string[] } = {}): { cert: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-cert-'));
  try {
    const names = o.names ?? ['IP:127.0.0.1', 'DNS:localhost'];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
        ...['-days', '2', '-subj', '/CN=hearth test'],
        ...['-addext', `subjectAltName=${names.join(',')}`],
        ...['-addext', 'basicConstraints=critical,CA:TRUE'],
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
      key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
