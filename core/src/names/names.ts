import type { DnsServer } from '../host/dnsmasq.ts';
import type { Isolation } from '../host/isolation.ts';
import type { Logger } from '../log/log.ts';
import { desiredNames, type NamesInput, type NamesStep, planNames } from './plan.ts';

export interface NamesOptions {
  dns: DnsServer;
  isolation: Isolation;
  /** The desired state, read anew at each pass: the packages table decides. */
  input: () => NamesInput;
  log: Logger;
}

/**
 * Container DNS and isolation, the pattern of packages/ in small: desired from the
 * packages table, observed from the machine, planned purely (plan.ts), carried out by
 * the one table below. Passes never overlap; one asked for during a pass runs after it.
 */
export class Names {
  readonly #o: NamesOptions;
  #tail: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(o: NamesOptions) {
    this.#o = o;
  }

  /** One pass: observe → plan → act. Resolves with the steps it took. */
  reconcile(): Promise<NamesStep[]> {
    const pass = this.#tail.then(() => (this.#stopped ? [] : this.#pass()));
    this.#tail = pass.catch(() => {});
    return pass;
  }

  async #pass(): Promise<NamesStep[]> {
    const input = this.#o.input();
    const desired = desiredNames(input);
    const dns = await this.#o.dns.observe();
    const rulesDigest = await this.#o.isolation.digest(input.table);
    const steps = planNames(desired, { ...dns, rulesDigest });
    for (const step of steps) {
      this.#o.log.info('names step', { step: step.kind });
      await this.#act(step, input);
    }
    return steps;
  }

  #act(step: NamesStep, input: NamesInput): Promise<void> {
    const { dns, isolation } = this.#o;
    switch (step.kind) {
      case 'write-dns-files':
        return dns.writeFiles(step.config, step.hosts);
      case 'start-dns':
        return dns.start();
      case 'restart-dns':
        return dns.restart();
      case 'reload-dns':
        return dns.reload();
      case 'stop-dns':
        return dns.stop();
      case 'apply-isolation':
        return isolation.apply(step.script);
      case 'remove-isolation':
        return isolation.remove(input.table);
    }
  }

  /** Stops the DNS server (with the daemon); the isolation rules stay, as the containers do. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#tail;
    await this.#o.dns.stop();
  }
}
