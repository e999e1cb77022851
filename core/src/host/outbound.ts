import dns from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { HearthError } from '../errors.ts';

/**
 * What the box sends out on the owner's behalf (a notification by mail or webhook)
 * shares this: where a name may lead, and how a failure is told.
 */

export type SendFailureCode =
  | 'destination_refused'
  | 'resolve_failed'
  | 'connect_failed'
  | 'send_timeout'
  | 'tls_failed'
  | 'starttls_unavailable'
  | 'auth_unavailable'
  | 'smtp_rejected'
  | 'smtp_protocol'
  | 'webhook_rejected'
  | 'webhook_redirect'
  | 'send_cancelled';

/**
 * A send that did not happen. `permanent` says whether trying again can help: a wrong
 * password or a refused address will not get better in a minute, a timeout may.
 * Messages hold what the other side said (cut, without control characters), never
 * what we sent.
 */
export class SendFailed extends HearthError {
  declare readonly code: SendFailureCode;
  readonly permanent: boolean;
  constructor(code: SendFailureCode, message: string, permanent: boolean) {
    super(code, message);
    this.permanent = permanent;
  }

  /** The same failure told otherwise (with a secret taken out). */
  withMessage(message: string): SendFailed {
    return new SendFailed(this.code, message, this.permanent);
  }
}

/** Says why an address may not be sent to, or undefined when it may. */
export type AddressCheck = (address: string) => string | undefined;

/**
 * Resolves `host` (an IP literal passes through) and checks every address it gives:
 * if any is refused, the send is (a name with one good and one bad address is either a
 * mistake or an attack). The caller connects to the addresses returned, never to the
 * name again, so a second lookup cannot lead somewhere else (DNS rebinding).
 */
export async function resolveChecked(
  host: string,
  check: AddressCheck,
  signal?: AbortSignal,
): Promise<string[]> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  let addresses: string[];
  if (net.isIP(bare)) {
    addresses = [bare];
  } else {
    try {
      addresses = (await dns.lookup(bare, { all: true, verbatim: true })).map((a) => a.address);
    } catch (e) {
      throw new SendFailed(
        'resolve_failed',
        `could not resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
        false,
      );
    }
  }
  signal?.throwIfAborted();
  for (const a of addresses) {
    const why = check(a);
    if (why) {
      const what = a === bare ? a : `${host} resolves to ${a}`;
      throw new SendFailed('destination_refused', `${what}: ${why}`, true);
    }
  }
  if (addresses.length === 0) throw new SendFailed('resolve_failed', `${host} has no address`, false);
  return addresses;
}

/** Errors of a connection that never reached the other side: another address may do better. */
export const isUnreachable = (e: unknown): boolean =>
  ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes(
    (e as NodeJS.ErrnoException).code ?? '',
  );

/** The addresses of the box's own interfaces: sending there is sending to the box itself. */
export function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) out.add(i.address.replace(/%.*$/, '').toLowerCase());
  }
  return out;
}

/** A socket error as one line for the owner: the errno code, or Node's message without internals. */
export function socketProblem(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

/** TLS verification errors (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, …) do not heal by themselves. */
export function isCertificateError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/.test(code);
}
