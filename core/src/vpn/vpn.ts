import { Conflict, InvalidParams, NotFound, Unavailable } from '../errors.ts';
import type { Events } from '../events/events.ts';
import type { WireGuard } from '../host/wireguard.ts';
import { Passes } from '../limits/passes.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import {
  boxAddress,
  clientConfig,
  natRuleset,
  nextAddress,
  parseNatDigest,
  parseUapiGet,
  type UapiDevice,
} from './config.ts';
import { execute } from './executors.ts';
import { newKeyPair, newPresharedKey, publicKeyOf } from './keys.ts';
import { type DesiredVpn, plan, type Step } from './plan.ts';
import { type PeerRow, VpnRows } from './rows.ts';

/*
 * The WireGuard VPN into the box: peers added by name (a row, written first, with keys made
 * here), and the loop — observe, plan, act, as packages/ does — makes the interface carry
 * them. The interface runs only while a peer exists; wireguard-go's exits are retried after
 * a backoff, as tor's are.
 */

export interface PeerView {
  name: string;
  publicKey: string;
  address: string;
  access: 'box' | 'lan';
  createdAt: number;
  /** ms since the epoch; null before the first handshake (or while the VPN is off). */
  lastHandshake: number | null;
  endpoint: string | null;
  rxBytes: number;
  txBytes: number;
}

export interface VpnStatus {
  running: boolean;
  publicKey: string;
  endpoint: string;
  address: string;
  lanSubnets: string[];
  lastError: string | null;
  peers: PeerView[];
}

export interface PeerConfig {
  name: string;
  /** wg-quick's format: the file to import in a WireGuard app. */
  config: string;
  /** The same as a QR code, for the phone apps' camera. */
  qrSvg: string;
}

export interface VpnServiceOptions {
  db: Db;
  wg: WireGuard;
  /** The VPN's /24, `10.74.0.0/24`: the box is .1. */
  subnet: string;
  listenPort: number;
  natTable: string;
  /** `host:port` a peer dials. */
  endpoint: () => string;
  /** The home LAN's networks; empty: what the box's routes say. */
  lanSubnets: string[];
  events: Events;
  log: Logger;
  now?: () => number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$/;
const BACKOFF_MS = [5_000, 15_000, 60_000, 300_000];

export class VpnService {
  readonly rows: VpnRows;
  readonly #o: VpnServiceOptions;
  readonly #now: () => number;
  readonly #passes = new Passes(() => this.#pass());
  #failures = 0;
  #retryAt = 0;
  #lastError: string | null = null;
  #lan: string[] | undefined;

  constructor(o: VpnServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.rows = new VpnRows(o.db, this.#now);
  }

  async add(name: string, access: 'box' | 'lan'): Promise<PeerConfig> {
    if (!NAME.test(name)) {
      throw new InvalidParams(
        'a peer’s name is 1 to 32 letters, digits, spaces, dots, dashes or underscores',
      );
    }
    if (this.rows.find(name)) throw new Conflict(`a peer named '${name}' exists already`);
    const peers = this.rows.list();
    const address = nextAddress(
      this.#o.subnet,
      peers.map((p) => p.address),
    );
    if (!address) throw new Conflict('the VPN has no address left: remove a peer first');
    const keys = newKeyPair();
    this.rows.insert({
      name,
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      presharedKey: newPresharedKey(),
      address,
      lan: access === 'lan',
      createdAt: this.#now(),
    });
    this.#retryAt = 0;
    await this.#apply();
    return this.config(name);
  }

  async remove(name: string): Promise<{ removed: string }> {
    if (!this.rows.remove(name)) throw new NotFound('VPN peer', name, { hint: 'vpn.peer.list lists them' });
    await this.#apply();
    return { removed: name };
  }

  async config(name: string): Promise<PeerConfig> {
    const p = this.rows.find(name);
    if (!p) throw new NotFound('VPN peer', name, { hint: 'vpn.peer.list lists them' });
    const config = clientConfig({
      privateKey: p.privateKey,
      presharedKey: p.presharedKey,
      address: p.address,
      serverPublicKey: publicKeyOf(this.rows.serverKey()),
      endpoint: this.#o.endpoint(),
      subnet: this.#o.subnet,
      lan: p.lan,
      lanSubnets: await this.#lanSubnets(),
    });
    // Loaded at the first QR: most boxes never draw one.
    const { renderSVG } = await import('uqr');
    return { name, config, qrSvg: renderSVG(config, { ecc: 'L', border: 2 }) };
  }

  async status(): Promise<VpnStatus> {
    const device = await this.#device();
    const live = new Map((device?.peers ?? []).map((p) => [p.publicKey, p]));
    return {
      running: device !== null,
      publicKey: publicKeyOf(this.rows.serverKey()),
      endpoint: this.#o.endpoint(),
      address: boxAddress(this.#o.subnet),
      lanSubnets: await this.#lanSubnets(),
      lastError: this.#lastError,
      peers: this.rows.list().map((p) => {
        const l = live.get(p.publicKey);
        return {
          name: p.name,
          publicKey: p.publicKey,
          address: p.address,
          access: p.lan ? 'lan' : 'box',
          createdAt: p.createdAt,
          lastHandshake: l?.lastHandshake ?? null,
          endpoint: l?.endpoint ?? null,
          rxBytes: l?.rxBytes ?? 0,
          txBytes: l?.txBytes ?? 0,
        };
      }),
    };
  }

  /** Called by the host adapter when wireguard-go exits on its own: start again after a backoff. */
  wireGuardExited(why: string): void {
    this.#fail(`wireguard-go ${why}`);
    this.#o.events.record({ kind: 'crashed', detail: { what: 'wireguard-go', why } });
  }

  async #lanSubnets(): Promise<string[]> {
    if (this.#o.lanSubnets.length > 0) return this.#o.lanSubnets;
    this.#lan ??= await this.#o.wg.lanSubnets().catch(() => []);
    return this.#lan;
  }

  async #device(): Promise<UapiDevice | null> {
    if (!(await this.#o.wg.running())) return null;
    try {
      return parseUapiGet(await this.#o.wg.get());
    } catch (error) {
      this.#o.log.warn('could not read the WireGuard interface', { error });
      return null;
    }
  }

  async #apply(): Promise<void> {
    await this.reconcile();
    if (this.#lastError)
      throw new Unavailable(`the peer is saved, but the VPN could not be updated: ${this.#lastError}`);
  }

  /** One observe → plan → act pass (two when it had to start the interface); passes never overlap. */
  reconcile(): Promise<void> {
    return this.#passes.run();
  }

  async #pass(): Promise<void> {
    for (let i = 0; i < 2 && !this.#passes.stopped; i++) {
      const steps = await this.#passOnce();
      if (!steps.some((s) => s.kind === 'start-wg')) break;
    }
  }

  async #desired(peers: PeerRow[]): Promise<DesiredVpn> {
    const { subnet, wg, natTable } = this.#o;
    const lanPeers = peers.filter((p) => p.lan).map((p) => p.address);
    return {
      privateKey: this.rows.serverKey(),
      listenPort: this.#o.listenPort,
      address: `${boxAddress(subnet)}/24`,
      peers: peers.map((p) => ({
        name: p.name,
        publicKey: p.publicKey,
        presharedKey: p.presharedKey,
        address: p.address,
        lan: p.lan,
      })),
      nat: natRuleset({ table: natTable, iface: wg.iface, lanPeers, lanSubnets: await this.#lanSubnets() }),
    };
  }

  async #passOnce(): Promise<Step[]> {
    const { wg, log, natTable } = this.#o;
    let steps: Step[] = [];
    try {
      const desired = await this.#desired(this.rows.list());
      const device = await this.#device();
      const listing = await wg.natListing(natTable);
      const observed = {
        running: device !== null,
        mayStart: this.#now() >= this.#retryAt,
        device,
        hasAddress: device !== null && (await wg.hasAddress(desired.address)),
        natDigest: listing === null ? null : (parseNatDigest(listing) ?? 'foreign'),
      };
      steps = plan(desired, observed);
    } catch (error) {
      this.#lastError = error instanceof Error ? error.message : String(error);
      log.warn('could not observe the VPN', { error });
      return [];
    }
    this.#lastError = null;
    for (const step of steps) {
      try {
        await execute(step, { wg, natTable });
        this.#record(step);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.warn('vpn step failed', { step: step.kind, error });
        this.#record(step, message);
        if (step.kind === 'start-wg') this.#fail(message);
        else this.#lastError = message;
        return steps;
      }
    }
    if (steps.length > 0) this.#failures = 0;
    return steps;
  }

  #fail(message: string): void {
    this.#lastError = message;
    const wait = BACKOFF_MS[Math.min(this.#failures, BACKOFF_MS.length - 1)] as number;
    this.#failures++;
    this.#retryAt = this.#now() + wait;
  }

  #record(step: Step, error?: string): void {
    // Steps carry keys: only their kind and the peer's address go into the event.
    const detail: Record<string, string> = { what: 'vpn', step: step.kind };
    if (step.kind === 'set-peer') detail['address'] = step.peer.address;
    if (error !== undefined) detail['message'] = error;
    this.#o.events.record({ kind: error === undefined ? 'reconciled' : 'failed', detail });
  }

  idle(): Promise<void> {
    return this.#passes.idle();
  }

  /** The interface goes with the daemon; a peer's next handshake waits for it to come back. */
  async stop(): Promise<void> {
    await this.#passes.stop();
    await this.#o.wg.stop();
  }
}
