import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/log.ts';
import { fsyncPath } from './durable-file.ts';
import { callSystemBus } from './system-bus.ts';

/**
 * SSH on the box: the owner's login user's `~/.ssh/authorized_keys` (written so a crash
 * leaves the old file or the new, owned by the user as sshd's StrictModes wants), the host
 * keys' public halves, and sshd's unit through systemd over D-Bus. The login user is made
 * by the .deb (debian/build.sh): its home is the one place here we write.
 */
export interface SshHost {
  readAuthorizedKeys(): string | null;
  writeAuthorizedKeys(content: string): void;
  /** The lines of `ssh_host_*_key.pub`, by file name. */
  hostKeys(): { file: string; line: string }[];
  /** Whether sshd runs; null when the daemon does not manage it. */
  sshdActive(): Promise<boolean | null>;
  setSshd(on: boolean): Promise<void>;
}

export class LoginUserMissing extends Error {
  override name = 'LoginUserMissing';
}

const SYSTEMD = { destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1' };
const MANAGER = { ...SYSTEMD, interface: 'org.freedesktop.systemd1.Manager' };

export function hostSsh(o: {
  /** The login user's home directory (`<root>/home/hearth`). */
  home: string;
  /** Where sshd keeps its host keys (`<root>/etc/ssh`). */
  hostKeysDir: string;
  /** sshd's unit (`ssh.service`); empty: the daemon leaves sshd alone. */
  unit: string;
  busAddress?: string | undefined;
  log: Logger;
}): SshHost {
  const dir = path.join(o.home, '.ssh');
  const file = path.join(dir, 'authorized_keys');
  const unitActive = async (): Promise<boolean> => {
    const [unitPath] = await callSystemBus(o.busAddress, {
      ...MANAGER,
      member: 'LoadUnit',
      signature: 's',
      body: [o.unit],
    });
    const [state] = await callSystemBus(o.busAddress, {
      ...SYSTEMD,
      path: unitPath as string,
      interface: 'org.freedesktop.DBus.Properties',
      member: 'Get',
      signature: 'ss',
      body: ['org.freedesktop.systemd1.Unit', 'ActiveState'],
    });
    const value = (state as { value?: unknown } | undefined)?.value;
    return value === 'active' || value === 'activating' || value === 'reloading';
  };
  return {
    readAuthorizedKeys() {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    writeAuthorizedKeys(content) {
      let owner: fs.Stats;
      try {
        owner = fs.statSync(o.home);
      } catch {
        throw new LoginUserMissing(
          `the login user's home ${o.home} does not exist (the hearth package makes it)`,
        );
      }
      fs.mkdirSync(dir, { mode: 0o700, recursive: true });
      // The home is the user's: a link planted there must not lead root's writes elsewhere.
      if (fs.lstatSync(dir).isSymbolicLink()) throw new LoginUserMissing(`${dir} is a symbolic link`);
      fs.chownSync(dir, owner.uid, owner.gid);
      fs.chmodSync(dir, 0o700);
      const tmp = `${file}.tmp`;
      fs.rmSync(tmp, { force: true });
      // 'wx' (O_CREAT|O_EXCL) creates a new file and follows no link.
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        fs.writeFileSync(fd, content);
        fs.fchownSync(fd, owner.uid, owner.gid);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      fsyncPath(dir);
      o.log.info('authorized_keys written', {
        file,
        keys: content.split('\n').filter((l) => /^[a-z]/.test(l)).length,
      });
    },
    hostKeys() {
      let names: string[];
      try {
        names = fs.readdirSync(o.hostKeysDir).filter((n) => /^ssh_host_[a-z0-9]+_key\.pub$/.test(n));
      } catch {
        return [];
      }
      return names.sort().flatMap((n) => {
        try {
          const line = fs.readFileSync(path.join(o.hostKeysDir, n), 'utf8').split('\n')[0] ?? '';
          return [{ file: n, line }];
        } catch {
          return [];
        }
      });
    },
    async sshdActive() {
      if (!o.unit) return null;
      return unitActive();
    },
    async setSshd(on) {
      if (!o.unit) return;
      await callSystemBus(o.busAddress, {
        ...MANAGER,
        member: on ? 'StartUnit' : 'StopUnit',
        signature: 'ss',
        body: [o.unit, 'replace'],
      });
      o.log.info(on ? 'sshd started' : 'sshd stopped', { unit: o.unit });
    },
  };
}
