import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HearthClient, RpcError, type RpcTransport } from '../../core/src/client/client.ts';
import { type NodeTarget, nodeTransport } from '../../core/src/client/node-transport.ts';

/** The VM tests' harness: an image booted by image-recipe/vm.sh, reached only through its forwarded ports. */

export const REPO = path.resolve(import.meta.dirname, '../..');
const VM_SH = path.join(REPO, 'image-recipe/vm.sh');

export const log = (msg: string) =>
  process.stderr.write(`[vm ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

export interface Partition {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
}

/** The partition table of an image file, by sfdisk (sectors of 512 bytes). */
export function partitions(image: string): { label: string; partitions: Partition[] } {
  const out = execFileSync('sfdisk', ['--json', image], { encoding: 'utf8' });
  return (JSON.parse(out) as { partitiontable: { label: string; partitions: Partition[] } }).partitiontable;
}

/** A free TCP port on the loopback address. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class Vm {
  readonly dir: string;
  readonly image: string;
  readonly httpPort: number;
  /** The box's port 443, forwarded here (chosen at the first start, kept across restarts). */
  httpsPort: number | undefined;
  readonly console: string;
  #qemu: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  startedAt = 0;

  readonly #noReboot: boolean;

  /** `noReboot`: QEMU exits when the guest resets (see waitForExit) instead of rebooting it. */
  constructor(options: { image: string; dir: string; httpPort: number; noReboot?: boolean }) {
    this.#noReboot = options.noReboot ?? false;
    this.image = options.image;
    this.dir = options.dir;
    this.httpPort = options.httpPort;
    this.console = path.join(options.dir, 'console.log');
  }

  /** Starts QEMU (vm.sh execs it, so the child's PID is QEMU's). */
  async start(): Promise<void> {
    fs.rmSync(this.console, { force: true });
    this.startedAt = Date.now();
    this.httpsPort ??= await freePort();
    const qemu = spawn(VM_SH, [this.image, this.dir], {
      env: {
        ...process.env,
        VM_CONSOLE: this.console,
        VM_HTTP_PORT: String(this.httpPort),
        VM_HTTPS_PORT: String(this.httpsPort),
        ...(this.#noReboot ? { VM_NO_REBOOT: '1' } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    qemu.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    this.#qemu = qemu;
    this.#exited = new Promise((resolve) =>
      qemu.once('exit', (code, signal) => {
        if (code !== 0 && signal === null) log(`qemu exited ${code}: ${stderr.trim()}`);
        this.#qemu = undefined;
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.#qemu !== undefined;
  }

  /** ACPI power button through QMP, then the wait for QEMU to exit; SIGKILL (of our PID) after timeoutMs. */
  async powerOff(timeoutMs = 120_000): Promise<void> {
    if (!this.#qemu) return;
    await qmp(path.join(this.dir, 'qmp.sock'), 'system_powerdown').catch((e: unknown) => log(`qmp: ${e}`));
    const done = await Promise.race([
      this.#exited?.then(() => true),
      sleep(timeoutMs, undefined, { ref: false }).then(() => false),
    ]);
    if (!done) {
      log('the VM did not power off: killing QEMU');
      await this.kill();
    }
  }

  /** Waits for QEMU to exit by itself (the guest powered off, or reset with noReboot). */
  async waitForExit(timeoutMs: number): Promise<void> {
    const done = await Promise.race([
      this.#exited?.then(() => true),
      sleep(timeoutMs, undefined, { ref: false }).then(() => false),
    ]);
    if (!done) throw new Error(`QEMU did not exit in ${timeoutMs / 1000} s:\n${this.consoleTail()}`);
  }

  async kill(): Promise<void> {
    this.#qemu?.kill('SIGKILL');
    await this.#exited;
  }

  /** The guest's kernel panicked (QEMU keeps running: nothing would answer again). */
  panicked(): boolean {
    return fs.existsSync(this.console) && fs.readFileSync(this.console, 'utf8').includes('Kernel panic');
  }

  /** The last lines of the serial console, for failure messages. */
  consoleTail(lines = 60): string {
    const text = fs.existsSync(this.console) ? fs.readFileSync(this.console, 'utf8') : '';
    return text
      .replace(/\x1b\[[0-9;?=]*[a-zA-Z]|\x1b\[!p|\r/g, '')
      .split('\n')
      .slice(-lines)
      .join('\n');
  }

  /** The box's port 80, forwarded to this machine. */
  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /**
   * Where a machine other than the box reaches its API once it is set up: HTTPS on the
   * forwarded port 443, trusting the box's CA (`ca`, from /hearth-ca.crt over port 80).
   * `localhost` is among the names the box's certificate carries.
   */
  secure(ca: string, bearer?: string): NodeTarget {
    return { url: `https://localhost:${this.httpsPort}`, ca, ...(bearer ? { bearer } : {}) };
  }

  /** The typed client over HTTPS (see `secure`). */
  secureClient(ca: string, bearer?: string): HearthClient {
    return new HearthClient(nodeTransport(this.secure(ca, bearer)));
  }

  /** The box's CA, once it has one (made right after setup); undefined before. */
  async ca(): Promise<string | undefined> {
    const res = await fetch(`${this.url}/hearth-ca.crt`, { headers: { Connection: 'close' } }).catch(
      () => undefined,
    );
    return res?.ok ? await res.text() : undefined;
  }

  /** The typed client over HTTP to the forwarded port (fetch: no keep-alive sockets outlive the test). */
  client(bearer?: string): HearthClient {
    return new HearthClient(fetchTransport(this.url, bearer));
  }

  /** Polls `setup.status` through the forwarded port until it answers; returns ms since start(). */
  async waitForApi(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`QEMU exited before the box answered:\n${this.consoleTail()}`);
      if (this.panicked()) throw new Error(`the guest kernel panicked:\n${this.consoleTail(80)}`);
      try {
        await withTimeout(this.client().call('setup.status'), 5_000);
        return Date.now() - this.startedAt;
      } catch (e) {
        // A box that is set up answers other machines' API calls over HTTPS only: it answers.
        if (e instanceof RpcError && e.code === 'https_required') return Date.now() - this.startedAt;
        if (e instanceof RpcError) throw e;
      }
      if (Date.now() > deadline)
        throw new Error(`the box did not answer on port 80 in ${timeoutMs / 1000} s:\n${this.consoleTail()}`);
      await sleep(1000);
    }
  }

  /** Polls the console until `marker` appears; returns ms since start(). */
  async waitForConsole(marker: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (fs.existsSync(this.console) && fs.readFileSync(this.console, 'utf8').includes(marker))
        return Date.now() - this.startedAt;
      if (!this.running) throw new Error(`QEMU exited before "${marker}":\n${this.consoleTail()}`);
      if (this.panicked()) throw new Error(`the guest kernel panicked:\n${this.consoleTail(80)}`);
      if (Date.now() > deadline)
        throw new Error(`no "${marker}" in ${timeoutMs / 1000} s:\n${this.consoleTail()}`);
      await sleep(500);
    }
  }
}

function fetchTransport(url: string, bearer?: string): RpcTransport {
  return async (body) => {
    const res = await fetch(`${url}/rpc/v1`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Hearth-Request': '1',
        Connection: 'close',
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify(body),
      // Installing a package under software emulation takes minutes.
      signal: AbortSignal.timeout(15 * 60_000),
    });
    if (res.status === 204) return undefined;
    return res.json();
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  // Unref'd: a lost race must not keep the test process alive.
  const timeout = sleep(ms, undefined, { ref: false }).then(() =>
    Promise.reject(new Error(`timed out after ${ms} ms`)),
  );
  return Promise.race([p, timeout]);
}

/** One QMP command over QEMU's control socket. */
async function qmp(socket: string, command: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const c = net.createConnection(socket);
    let buffer = '';
    let sent = false;
    c.on('data', (d) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: unknown };
        if (msg.QMP) c.write('{"execute":"qmp_capabilities"}\n');
        else if (msg.return !== undefined && !sent) {
          sent = true;
          c.write(`${JSON.stringify({ execute: command })}\n`);
        } else if (msg.return !== undefined) {
          c.end();
          resolve();
        } else if (msg.error) reject(new Error(JSON.stringify(msg.error)));
      }
    });
    c.on('error', reject);
  });
}

/** `mdir`/`mtype` on the FAT partition that starts at `startSector` of `image`. */
export function mtools(tool: 'mdir' | 'mtype', image: string, startSector: number, args: string[]): string {
  return execFileSync(tool, ['-i', `${image}@@${startSector * 512}`, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
  });
}
