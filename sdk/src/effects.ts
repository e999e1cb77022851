import type { Architecture, PackageStatus } from './manifest.ts';

/**
 * What the host offers package code at run time. The container runtime passes an
 * `Effects` to every action handler, migration and init/uninit hook; each call is a
 * JSON-RPC request to the host over the container's socket. The host never trusts the
 * container: it answers only about this package and what it declared.
 *
 * These are the types; the host implements them.
 */

/**
 * A health check's outcome, as reported by the package (or by the runtime for declared checks).
 *
 * @example
 * await effects.setHealth('sync', { status: 'failure', message: 'the upstream server is unreachable' });
 */
export interface HealthReport {
  status: 'starting' | 'success' | 'failure';
  /** Shown to the owner; keep it short and actionable. */
  message?: string;
}

/**
 * One way to reach an interface.
 *
 * @example
 * const lan = (await effects.getInterface('web'))?.addresses.find((a) => a.scope === 'lan'); // { scope: 'lan', host: 'hello-world.hearth.local', port: 443, tls: true, url: 'https://…' }
 */
export interface InterfaceAddress {
  /** `container`: inside the box's bridge; `lan`: `<name>.local`; `tor`: an onion; `domain`: a custom domain. */
  scope: 'container' | 'lan' | 'tor' | 'domain';
  host: string;
  port: number;
  /** Whether clients connect with TLS (the host terminates it). */
  tls: boolean;
  /** For http(s) interfaces, the URL a browser opens. */
  url?: string;
}

/**
 * An interface the package declared, with the addresses the box gave it.
 *
 * @example
 * for (const itf of await effects.getInterfaces()) console.log(itf.id, itf.addresses.map((a) => a.url ?? `${a.host}:${a.port}`));
 */
export interface InterfaceInfo {
  id: string;
  name: string;
  kind: 'ui' | 'api' | 'p2p' | 'mcp';
  protocol: 'http' | 'https' | 'tcp' | 'udp';
  /** The port inside the container. */
  port: number;
  addresses: InterfaceAddress[];
}

/**
 * A TLS certificate the box's CA (or ACME) issued for one of the package's interfaces.
 *
 * @example
 * const cert = await effects.getCertificate('web');
 * if (cert) await fs.promises.writeFile('/data/tls/cert.pem', cert.chainPem);
 */
export interface CertificateInfo {
  /** The leaf certificate followed by its chain, PEM. */
  chainPem: string;
  keyPem: string;
  hostnames: string[];
  expiresAt: string;
}

/**
 * A notification for the owner.
 *
 * @example
 * await effects.notify({ level: 'warning', title: 'Disk almost full', message: 'The media volume is 95% full.' });
 */
export interface NotificationInput {
  level: 'info' | 'success' | 'warning' | 'error';
  title: string;
  message: string;
}

/**
 * What a package may learn about a package it declared as a dependency.
 *
 * @example
 * const db = await effects.getDependency('postgres');
 * if (db?.status !== 'running') return { message: 'start PostgreSQL first' };
 */
export interface DependencyInfo {
  id: string;
  version: string;
  status: PackageStatus;
  health: 'healthy' | 'unhealthy' | 'starting' | 'unknown';
  interfaces: InterfaceInfo[];
}

/**
 * The package itself, as the host sees it.
 *
 * @example
 * const { version, containerAddress } = await effects.getSelf();
 */
export interface SelfInfo {
  id: string;
  version: string;
  status: PackageStatus;
  architecture: Architecture;
  /** The container's address on the box's bridge. */
  containerAddress: string;
}

/**
 * The host's API for package code.
 *
 * @example
 * export default definePackage({
 *   // …
 *   actions: [
 *     defineAction({
 *       id: 'show-url', name: 'Show URL', description: 'Where to open the app', allowedStatuses: ['running'],
 *       handler: async (_input, effects) => {
 *         const web = await effects.getInterface('web');
 *         return { message: web?.addresses.find((a) => a.scope === 'lan')?.url ?? 'not published yet' };
 *       },
 *     }),
 *   ],
 * });
 */
export interface Effects {
  /** Reports the result of a health check the code runs itself (declared checks are run by the runtime). */
  setHealth(checkId: string, report: HealthReport): Promise<void>;
  /** The package's own interfaces and every address they are reachable at. */
  getInterfaces(): Promise<InterfaceInfo[]>;
  /** One interface by id; `null` if the package declared none with that id. */
  getInterface(id: string): Promise<InterfaceInfo | null>;
  /** The current certificate of an http(s) interface; `null` before the box issued one. */
  getCertificate(interfaceId: string): Promise<CertificateInfo | null>;
  /** Creates a notification for the owner. */
  notify(notification: NotificationInput): Promise<void>;
  /** A declared dependency's version, status, health and interfaces; `null` if not installed. */
  getDependency(id: string): Promise<DependencyInfo | null>;
  /** The package's own id, version, status and container address. */
  getSelf(): Promise<SelfInfo>;
}
