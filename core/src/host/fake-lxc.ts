import fs from 'node:fs';
import path from 'node:path';
import { Conflict, NotFound } from '../errors.ts';
import {
  type ContainerInfo,
  type ContainerListEntry,
  ContainerNotRunning,
  type ContainerSpec,
  ForeignContainer,
  isHearthContainer,
  type Lxc,
} from './containers.ts';
import type { LxcState } from './lxc-parse.ts';

/**
 * LXC in memory, for the domain's unit tests: containers are entries in a map, and
 * `calls` records what was asked. It keeps the real adapter's promises — the contract
 * in lxc-contract.ts runs against both — so a test that passes here means the same
 * against real LXC.
 */
export class FakeLxc implements Lxc {
  readonly containers = new Map<string, { spec?: ContainerSpec; state: LxcState; pid: number | null }>();
  readonly calls: string[] = [];
  #nextPid = 1000;

  async create(spec: ContainerSpec): Promise<void> {
    if (!isHearthContainer(spec.name)) throw new ForeignContainer(spec.name);
    if (this.containers.has(spec.name)) {
      throw new Conflict(`container '${spec.name}' exists already`, { hint: 'destroy it first' });
    }
    this.calls.push(`create ${spec.name}`);
    // As the real one does: missing volume directories are made for the container.
    for (const v of spec.volumes) fs.mkdirSync(v.source, { recursive: true });
    this.containers.set(spec.name, { spec, state: 'STOPPED', pid: null });
  }

  async start(name: string): Promise<void> {
    const c = this.#mustExist(name);
    this.calls.push(`start ${name}`);
    if (c.state === 'RUNNING') return;
    c.state = 'RUNNING';
    c.pid = this.#nextPid++;
  }

  async stop(name: string): Promise<void> {
    const c = this.#mustExist(name);
    this.calls.push(`stop ${name}`);
    c.state = 'STOPPED';
    c.pid = null;
  }

  async destroy(name: string): Promise<void> {
    if (!isHearthContainer(name)) throw new ForeignContainer(name);
    const c = this.containers.get(name);
    if (!c) return;
    this.calls.push(`destroy ${name}`);
    this.containers.delete(name);
    // The writable layer goes; the volumes and the rest of the data dir stay.
    if (c.spec) {
      for (const d of ['upper', 'work'])
        fs.rmSync(path.join(c.spec.dataDir, d), { recursive: true, force: true });
    }
  }

  async info(name: string): Promise<ContainerInfo> {
    const c = this.#mustExist(name);
    const running = c.state === 'RUNNING';
    return {
      name,
      state: c.state,
      pid: c.pid,
      ips: running && c.spec ? [c.spec.network.address] : [],
      cpuNs: running ? 0 : null,
      memoryBytes: running ? 0 : null,
      memoryLimitBytes: running && c.spec ? c.spec.memoryMiB * 1048576 : null,
    };
  }

  async list(): Promise<ContainerListEntry[]> {
    return [...this.containers].map(([name, c]) => ({
      name,
      state: c.state,
      pid: c.pid,
      ipv4: c.state === 'RUNNING' && c.spec ? [c.spec.network.address] : [],
      unprivileged: true,
      foreign: !isHearthContainer(name),
      lxcPath: '/fake',
    }));
  }

  async exec(name: string, argv: string[]) {
    const c = this.#mustExist(name);
    if (c.state !== 'RUNNING') throw new ContainerNotRunning(name);
    this.calls.push(`exec ${name} ${argv.join(' ')}`);
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  async logs(name: string): Promise<string[]> {
    this.#mustExist(name);
    return ['(fake console)'];
  }

  consoleLogFile(name: string): string {
    return `/nonexistent/${name}/console.log`;
  }

  #mustExist(name: string) {
    if (!isHearthContainer(name)) throw new ForeignContainer(name);
    const c = this.containers.get(name);
    if (!c) throw new NotFound('container', name);
    return c;
  }
}
