import type { Check } from '../checks/checks.ts';
import { expiryCheck } from '../checks/hooks.ts';
import { Conflict, InvalidParams, NotFound } from '../errors.ts';
import type { Events } from '../events/events.ts';
import type { AcmeCa, ChallengeHooks } from '../host/acme.ts';
import type { DnsProvider, Rfc2136Config } from '../host/rfc2136.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import { type CertificateState, certificateState, dueAt, plan, type Step } from './plan.ts';
import type { AcmeRows, DnsSettings, DomainRow } from './rows.ts';

/*
 * Custom domains with certificates from an ACME CA: the rows are the desired state (a
 * certificate for each domain), the pure planner says which to issue or renew, and the one
 * executor below orders it from the CA through host/acme.ts, answering the challenge over
 * HTTP (challengeAnswer, served by rpc/http.ts) or DNS (a DnsProvider). Passes never overlap.
 */

export interface DomainView {
  name: string;
  package: string | null;
  interface: string | null;
  challenge: 'http-01' | 'dns-01';
  dns: DnsSettings | null;
  state: CertificateState;
  notBefore: number | null;
  notAfter: number | null;
  issuedAt: number | null;
  nextAttempt: number | null;
  failures: number;
  lastError: string | null;
}

export interface AcmeOptions {
  rows: AcmeRows;
  /** The CA client, loaded at the first issue (acme-client stays unloaded on a box without domains). */
  ca: () => Promise<AcmeCa>;
  dnsProvider: (c: Rfc2136Config) => DnsProvider;
  notifications: Notifications;
  /** Where each order's outcome is recorded (the box's activity). */
  events?: Events;
  directoryUrl: string;
  email: string;
  log: Logger;
  now?: () => number;
}

const NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** ACME tokens are base64url (RFC 8555 8.3); anything else is not ours to look up. */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
const PRIVATE_SUFFIXES = ['.local', '.internal', '.home.arpa', '.localhost', '.test', '.invalid'];

export class Acme {
  readonly #o: AcmeOptions;
  readonly #now: () => number;
  /** HTTP-01 challenges being validated: token → the domain and the key authorization. */
  readonly #tokens = new Map<string, { domain: string; keyAuthorization: string }>();
  #pass: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(o: AcmeOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  list(): DomainView[] {
    return this.#o.rows.list().map((d) => this.#view(d));
  }

  get(name: string): DomainView {
    return this.#view(this.#row(name));
  }

  add(p: {
    name: string;
    package?: string | undefined;
    interface?: string | undefined;
    challenge: 'http-01' | 'dns-01';
    dns?: (Omit<DnsSettings, 'provider'> & { secret: string }) | undefined;
  }): DomainView {
    const name = p.name.toLowerCase().replace(/\.$/, '');
    if (!NAME.test(name)) throw new InvalidParams(`not a domain name: ${p.name}`);
    if (PRIVATE_SUFFIXES.some((s) => name.endsWith(s))) {
      throw new InvalidParams(`${name} is a private name: a public CA cannot vouch for it`, {
        hint: 'the box’s own CA covers .local and .internal names',
      });
    }
    if ((p.package === undefined) !== (p.interface === undefined)) {
      throw new InvalidParams('give both package and interface, or neither (for the box itself)');
    }
    if (p.challenge === 'dns-01' && !p.dns)
      throw new InvalidParams('a dns-01 domain needs its DNS server (dns)');
    if (p.dns && !(p.dns.zone === name || name.endsWith(`.${p.dns.zone.replace(/\.$/, '')}`))) {
      throw new InvalidParams(`${name} is not in the zone ${p.dns.zone}`);
    }
    if (this.#o.rows.get(name)) throw new Conflict(`${name} is already a custom domain`);
    const { secret, ...dns } = p.dns ?? { secret: null };
    this.#o.rows.insert({
      name,
      package: p.package ?? null,
      interface: p.interface ?? null,
      challenge: p.challenge,
      dns: p.dns ? ({ provider: 'rfc2136', ...dns } as DnsSettings) : null,
      dnsSecret: p.dns ? secret : null,
      createdAt: this.#now(),
    });
    this.#o.log.info('custom domain added', { name, challenge: p.challenge });
    void this.reconcile();
    return this.get(name);
  }

  remove(name: string): void {
    if (!this.#o.rows.remove(name.toLowerCase())) throw this.#notFound(name);
    this.#o.log.info('custom domain removed', { name });
  }

  /** Orders a certificate now, whatever the backoff says; answers once the CA has decided. */
  async issueNow(name: string): Promise<DomainView> {
    this.#row(name);
    await this.reconcile(new Set([name.toLowerCase()]));
    return this.get(name);
  }

  /** Whether `host` (a Host header's name, without port) is a configured custom domain. */
  isCustomDomain(host: string): boolean {
    return this.#o.rows.get(host.toLowerCase().replace(/\.$/, '')) !== undefined;
  }

  /** The key authorization for an HTTP-01 token under way for `host`, else undefined. */
  challengeAnswer(host: string, token: string): string | undefined {
    if (!TOKEN.test(token)) return undefined;
    const c = this.#tokens.get(token);
    return c && c.domain === host.toLowerCase().replace(/\.$/, '') ? c.keyAuthorization : undefined;
  }

  /** The certificate to serve for a TLS server name (the HTTPS listener's SNI), if there is one. */
  certificateFor(serverName: string): { certPem: string; keyPem: string } | undefined {
    const d = this.#o.rows.get(serverName.toLowerCase().replace(/\.$/, ''));
    if (!d?.certPem || !d.keyPem || (d.notAfter ?? 0) <= this.#now()) return undefined;
    return { certPem: d.certPem, keyPem: d.keyPem };
  }

  /** The box's checks for custom domains: expiry, and renewals that keep failing. */
  checks(): Check[] {
    const expiry = expiryCheck({
      id: 'domain-certificates',
      title: 'Certificates of custom domains',
      items: async () =>
        this.#o.rows.list().flatMap((d) =>
          d.notAfter === null
            ? []
            : [
                {
                  subject: d.name,
                  name: `The certificate of ${d.name}`,
                  notAfter: d.notAfter,
                  ...(d.package ? { package: d.package } : {}),
                },
              ],
        ),
      renewHint:
        'the box renews 30 days before; see the last error with hearth acme domain list, try again with hearth acme domain issue',
      now: this.#now,
    });
    const failing: Check = {
      id: 'domain-renewals',
      title: 'Renewing certificates of custom domains',
      run: async () =>
        this.#o.rows.list().flatMap((d) =>
          d.failures === 0
            ? []
            : [
                {
                  subject: d.name,
                  severity: 'warning' as const,
                  message: `The certificate for ${d.name} could not be ${d.certPem ? 'renewed' : 'issued'}: ${d.lastError ?? 'unknown error'}`,
                  hint:
                    d.challenge === 'http-01'
                      ? `check that ${d.name} points at this box and that port 80 reaches it`
                      : `check the DNS server ${d.dns?.server} and the key ${d.dns?.keyName}`,
                  ...(d.package ? { package: d.package } : {}),
                },
              ],
        ),
    };
    return [expiry, failing];
  }

  /** Observe → plan → act; passes never overlap. `asked` skips the backoff for those names. */
  reconcile(asked: ReadonlySet<string> = new Set()): Promise<void> {
    const next = this.#pass.then(async () => {
      const rows = this.#o.rows.list();
      for (const step of plan(rows, this.#now(), asked)) await this.#act(step);
    });
    this.#pass = next.catch((error: unknown) => this.#o.log.error('acme pass failed', { error }));
    return next;
  }

  /** Runs a pass now and every `intervalMs` (a read of one table, unless a certificate is due). */
  start(intervalMs = 5 * 60_000): void {
    void this.reconcile();
    this.#timer = setInterval(() => void this.reconcile(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  idle(): Promise<void> {
    return this.#pass;
  }

  async #act(step: Step): Promise<void> {
    const d = this.#o.rows.get(step.name);
    if (!d) return;
    const started = this.#now();
    this.#o.log.info('ordering a certificate', { name: d.name, reason: step.reason });
    try {
      const ca = await this.#o.ca();
      const account = await this.#account(ca);
      const issued = await ca.issue({
        directoryUrl: this.#o.directoryUrl,
        accountKeyPem: account.keyPem,
        accountUrl: account.url,
        email: this.#o.email,
        domain: d.name,
        type: d.challenge,
        hooks: this.#hooks(d),
      });
      if (issued.accountUrl !== account.url)
        this.#o.rows.saveAccountUrl(this.#o.directoryUrl, issued.accountUrl);
      this.#o.rows.saveIssued(d.name, { ...issued, at: this.#now() });
      this.#o.events?.record({
        kind: 'certificate-issued',
        package: d.package,
        detail: { name: d.name, reason: step.reason, notAfter: issued.notAfter },
      });
      this.#o.log.info('certificate issued', {
        name: d.name,
        notAfter: issued.notAfter,
        ms: this.#now() - started,
      });
    } catch (error) {
      const message = (error as Error).message || String(error);
      this.#o.rows.saveFailure(d.name, message, this.#now());
      this.#o.events?.record({
        kind: 'certificate-failed',
        package: d.package,
        detail: { name: d.name, reason: step.reason, error: message },
      });
      this.#o.log.warn('certificate not issued', { name: d.name, error: message });
      // Told once per streak of failures; the check keeps it in view after that.
      if (d.certPem && d.failures === 0) {
        this.#o.notifications.create({
          level: 'error',
          title: `Renewing the certificate for ${d.name} failed`,
          message: `${message}. The current certificate ends on ${new Date(d.notAfter ?? 0).toISOString().slice(0, 10)}; the box tries again by itself.`,
          source: 'acme',
        });
      }
    }
  }

  async #account(ca: AcmeCa): Promise<{ keyPem: string; url: string | null }> {
    const dir = this.#o.directoryUrl;
    const known = this.#o.rows.account(dir);
    if (known) return known;
    this.#o.rows.saveAccountKey(dir, await ca.createAccountKey(), this.#now());
    return this.#o.rows.account(dir)!;
  }

  #hooks(d: DomainRow): ChallengeHooks {
    if (d.challenge === 'http-01') {
      return {
        present: async (c) =>
          void this.#tokens.set(c.token, { domain: d.name, keyAuthorization: c.keyAuthorization }),
        cleanUp: async (c) => void this.#tokens.delete(c.token),
      };
    }
    const dns = d.dns!;
    const provider = this.#o.dnsProvider({
      server: dns.server,
      port: dns.port,
      zone: dns.zone,
      key: { name: dns.keyName, secret: d.dnsSecret ?? '' },
    });
    return {
      present: (c) => provider.setTxt(`_acme-challenge.${c.domain}`, c.keyAuthorization),
      cleanUp: (c) => provider.removeTxt(`_acme-challenge.${c.domain}`, c.keyAuthorization),
    };
  }

  #row(name: string): DomainRow {
    const d = this.#o.rows.get(name.toLowerCase());
    if (!d) throw this.#notFound(name);
    return d;
  }

  #notFound(name: string): NotFound {
    return new NotFound('custom domain', name, { hint: 'acme.domain.list shows the custom domains' });
  }

  #view(d: DomainRow): DomainView {
    const now = this.#now();
    const due = dueAt(d);
    return {
      name: d.name,
      package: d.package,
      interface: d.interface,
      challenge: d.challenge,
      dns: d.dns,
      state: certificateState(d, now),
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      issuedAt: d.issuedAt,
      nextAttempt: Math.max(due, now),
      failures: d.failures,
      lastError: d.lastError,
    };
  }
}
