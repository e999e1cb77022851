import fs from 'node:fs';
import path from 'node:path';
import { Conflict, NotFound } from '../errors.ts';
import {
  type ContainerInfo,
  type ContainerListEntry,
  ContainerNotRunning,
  type ContainerSpec,
  ContainerStartFailed,
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
    if (!fs.existsSync(spec.image)) throw new NotFound('image', spec.image);
    this.calls.push(`create ${spec.name}`);
    // As the real one does: the writable layer and missing volume directories are made,
    // owned by the container's root (as root: only root can give them away).
    const own = (dir: string) => {
      if (process.getuid?.() === 0) fs.chownSync(dir, spec.idmap.hostId, spec.idmap.hostId);
    };
    fs.mkdirSync(path.join(spec.dataDir, 'work'), { recursive: true });
    if (fs.mkdirSync(path.join(spec.dataDir, 'upper'), { recursive: true }) !== undefined)
      own(path.join(spec.dataDir, 'upper'));
    for (const v of spec.volumes)
      if (fs.mkdirSync(v.source, { recursive: true }) !== undefined) own(v.source);
    this.containers.set(spec.name, { spec, state: 'STOPPED', pid: null });
  }

  async start(name: string): Promise<void> {
    const c = this.#mustExist(name);
    this.calls.push(`start ${name}`);
    if (c.state === 'RUNNING') return;
    // The real start mounts the image first: without it there is nothing to start.
    if (c.spec && !fs.existsSync(c.spec.image)) {
      throw new ContainerStartFailed(name, [`${c.spec.image} is missing`], '/fake/lxc.log', undefined);
    }
    c.state = 'RUNNING';
    c.pid = this.#nextPid++;
  }

  async freeze(name: string): Promise<void> {
    const c = this.#mustExist(name);
    this.calls.push(`freeze ${name}`);
    if (c.state !== 'RUNNING') throw new ContainerNotRunning(name);
    c.state = 'FROZEN';
  }

  async thaw(name: string): Promise<void> {
    const c = this.#mustExist(name);
    this.calls.push(`thaw ${name}`);
    if (c.state === 'FROZEN') c.state = 'RUNNING';
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
    // The writable layer goes, and the data dir when nothing else is in it; volumes stay.
    if (c.spec) {
      for (const d of ['upper', 'work'])
        fs.rmSync(path.join(c.spec.dataDir, d), { recursive: true, force: true });
      try {
        fs.rmdirSync(c.spec.dataDir);
      } catch {}
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
