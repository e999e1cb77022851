import https from 'node:https';
import tls from 'node:tls';
import { acme } from './acme-lib.ts';

/*
 * The ACME CA over the network (RFC 8555), through acme-client: one order for one name,
 * its challenge answered by the caller's functions. Imported at the first issue
 * (acme/acme.ts), so a box without custom domains never loads acme-client.
 */

export type ChallengeType = 'http-01' | 'dns-01';

export interface ChallengeHooks {
  /** Make the challenge answerable: the token's key authorization (HTTP-01) or the TXT value (DNS-01). */
  present(c: { type: ChallengeType; domain: string; token: string; keyAuthorization: string }): Promise<void>;
  cleanUp(c: { type: ChallengeType; domain: string; token: string; keyAuthorization: string }): Promise<void>;
}

export interface IssueRequest {
  directoryUrl: string;
  accountKeyPem: string;
  /** Known after the first order with this account; saves a request. */
  accountUrl: string | null;
  email: string;
  domain: string;
  type: ChallengeType;
  hooks: ChallengeHooks;
}

export interface Issued {
  certPem: string;
  keyPem: string;
  accountUrl: string;
  notBefore: number;
  notAfter: number;
}

export interface AcmeCa {
  createAccountKey(): Promise<string>;
  issue(r: IssueRequest): Promise<Issued>;
  /** Reads a certificate's validity (for rows written before this code, or checks). */
  validity(certPem: string): { notBefore: number; notAfter: number };
}

/** The real CA; `caPem` is trusted besides the system's roots (pebble's test CA in tests). */
export function acmeCa(o: { caPem?: string } = {}): AcmeCa {
  // acme-client talks through its own axios instance: the agent decides what is trusted.
  acme.axios.defaults.httpsAgent = new https.Agent({
    ...(o.caPem ? { ca: [...tls.rootCertificates, o.caPem] } : {}),
    keepAlive: false,
  });
  // A CA that never answers must not hold the loop (and every other domain) forever.
  acme.axios.defaults.timeout = 30_000;
  return {
    async createAccountKey() {
      return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    },
    validity(certPem) {
      const info = acme.crypto.readCertificateInfo(certPem);
      return { notBefore: info.notBefore.getTime(), notAfter: info.notAfter.getTime() };
    },
    async issue(r) {
      const client = new acme.Client({
        directoryUrl: r.directoryUrl,
        accountKey: r.accountKeyPem,
        ...(r.accountUrl ? { accountUrl: r.accountUrl } : {}),
        backoffAttempts: 8,
      });
      const [key, csr] = await acme.crypto.createCsr(
        { altNames: [r.domain] },
        await acme.crypto.createPrivateEcdsaKey('P-256'),
      );
      const hook =
        (fn: ChallengeHooks['present']) =>
        async (_authz: unknown, challenge: { type: string; token: string }, keyAuthorization: string) =>
          fn({ type: r.type, domain: r.domain, token: challenge.token, keyAuthorization });
      const certPem = await client.auto({
        csr,
        ...(r.email ? { email: r.email } : {}),
        termsOfServiceAgreed: true,
        challengePriority: [r.type],
        // Its own pre-check resolves the name from here, which proves nothing about the CA's view
        // (and fails behind split DNS); the CA's validation is the check.
        skipChallengeVerification: true,
        challengeCreateFn: hook(r.hooks.present),
        challengeRemoveFn: hook(r.hooks.cleanUp),
      });
      const info = acme.crypto.readCertificateInfo(certPem);
      return {
        certPem,
        keyPem: key.toString(),
        accountUrl: client.getAccountUrl(),
        notBefore: info.notBefore.getTime(),
        notAfter: info.notAfter.getTime(),
      };
    },
  };
}
