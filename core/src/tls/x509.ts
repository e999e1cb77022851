import { webcrypto } from 'node:crypto';
import type { Issued, Signer } from './issued.ts';
import { nameConstraintsDer } from './names.ts';
import * as x509 from './x509-lib.ts';

/*
 * Making the box's certificates: ECDSA P-256 on Node's WebCrypto through @peculiar/x509.
 * No files and no host here: keys come in and go out as PEM.
 */

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const NAME_CONSTRAINTS = '2.5.29.30';

/** A self-signed root, constrained to the names no one owns on the internet. */
export async function makeRoot(o: { commonName: string; now: number; days: number }): Promise<Issued> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [o.commonName] }, { O: ['Hearth'] }],
    ...validity(o.now, o.days),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      constraints(),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return issued(cert, keys.privateKey);
}

/** The intermediate that signs leaves, under the same constraints, so the root's key can stay cold. */
export async function makeIntermediate(o: {
  commonName: string;
  root: Signer;
  now: number;
  days: number;
}): Promise<Issued> {
  const keys = await newKeys();
  const issuer = new x509.X509Certificate(o.root.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [o.commonName] }, { O: ['Hearth'] }],
    issuer: issuer.subject,
    ...validity(o.now, o.days),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey,
    signingKey: await importKey(o.root.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      constraints(),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return issued(cert, keys.privateKey);
}

/** A server certificate for the given names and addresses, signed by `issuer`. */
export async function makeLeaf(o: {
  dns: readonly string[];
  ips: readonly string[];
  issuer: Signer;
  now: number;
  days: number;
}): Promise<Issued> {
  const keys = await newKeys();
  const issuer = new x509.X509Certificate(o.issuer.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [o.dns[0] ?? o.ips[0] ?? 'hearth'] }],
    issuer: issuer.subject,
    ...validity(o.now, o.days),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey,
    signingKey: await importKey(o.issuer.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...o.dns.map((value) => ({ type: 'dns' as const, value })),
        ...o.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return issued(cert, keys.privateKey);
}

/** A PEM certificate as DER bytes. */
export function pemToDer(pem: string): Buffer {
  return Buffer.from(new x509.X509Certificate(pem).rawData);
}

function constraints(): x509.Extension {
  return new x509.Extension(NAME_CONSTRAINTS, true, nameConstraintsDer());
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----|\s/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(body, 'base64'), EC, false, ['sign']);
}

async function issued(cert: x509.X509Certificate, key: CryptoKey): Promise<Issued> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const fingerprint = Buffer.from(await cert.getThumbprint('SHA-256')).toString('hex');
  return {
    certPem: `${cert.toString('pem')}\n`,
    keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    fingerprint,
  };
}

/** A positive 16-byte serial (RFC 5280: at most 20 octets, not negative). */
function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}

/** An hour back for clocks a little behind; whole seconds, as X.509 keeps them. */
function validity(now: number, days: number) {
  const from = Math.floor(now / 1000) * 1000 - 3_600_000;
  return { notBefore: new Date(from), notAfter: new Date(from + days * 86_400_000) };
}
