import { HearthError } from '../errors.ts';

/**
 * The container's users, from its own /etc/passwd and /etc/group (the image's, plus
 * whatever the package's init added): daemons name a user, spawn needs numbers.
 */

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
}

export interface ResolvedUser {
  /** The name, or the number as given when the container has no entry for it. */
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export class UnknownUser extends HearthError {
  constructor(what: 'user' | 'group', name: string) {
    super('runtime_unknown_user', `the container has no ${what} '${name}'`, {
      hint: `add it to the image's /etc/${what === 'user' ? 'passwd' : 'group'}, or give a number`,
    });
  }
}

const ID = /^\d{1,10}$/;
const toId = (s: string | undefined) => (s !== undefined && ID.test(s) ? Number(s) : undefined);

/** name:password:uid:gid:gecos:home:shell; comments, blank and malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const f = line.split(':');
    const uid = toId(f[2]);
    const gid = toId(f[3]);
    if (f.length < 7 || !f[0] || uid === undefined || gid === undefined) continue;
    entries.push({ name: f[0], uid, gid, home: f[5] || '/', shell: f[6] ?? '' });
  }
  return entries;
}

/** name:password:gid:members */
export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const f = line.split(':');
    const gid = toId(f[2]);
    if (f.length < 3 || !f[0] || gid === undefined) continue;
    entries.push({ name: f[0], gid });
  }
  return entries;
}

/**
 * `user`, `uid`, `user:group`, `uid:gid` (as the manifest's daemon `user`) to numbers.
 * A name must exist; a number need not (its group is then the same number, never root's).
 * The first entry wins, as getpwnam's does.
 *
 * @example resolveUser('www-data', parsePasswd(passwd), parseGroup(group)) // { name: 'www-data', uid: 33, gid: 33, home: '/var/www' }
 */
export function resolveUser(spec: string, passwd: PasswdEntry[], groups: GroupEntry[]): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const asNumber = toId(userPart);
  const entry =
    asNumber === undefined ? passwd.find((p) => p.name === userPart) : passwd.find((p) => p.uid === asNumber);
  if (!entry && asNumber === undefined) throw new UnknownUser('user', userPart);
  const uid = entry?.uid ?? asNumber!;
  let gid = entry?.gid ?? uid;
  if (groupPart !== undefined) {
    const groupNumber = toId(groupPart);
    if (groupNumber !== undefined) gid = groupNumber;
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (!group) throw new UnknownUser('group', groupPart);
      gid = group.gid;
    }
  }
  return { name: entry?.name ?? userPart, uid, gid, home: entry?.home ?? '/' };
}
