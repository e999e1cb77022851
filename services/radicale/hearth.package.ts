// Radicale, a CalDAV/CardDAV server, from Debian's packages. Users are kept in an htpasswd
// file of salted hashes (apr1-md5, which Radicale checks through passlib); the "Set
// password" action writes it with passlib inside the container, so no password ever
// leaves the box's own code paths unhashed.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { defineAction, definePackage, secret } from '@hearth/sdk';
import { z } from 'zod';

const PORT = 5232;
const COLLECTIONS = '/data/collections';
const USERS = '/data/config/users';

/** Hashes a password with passlib's apr1-md5 (Radicale's htpasswd "md5"); stdin only. */
function apr1(password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const py = spawn('/usr/bin/python3', [
      '-c',
      'import sys; from passlib.hash import apr_md5_crypt; print(apr_md5_crypt.hash(sys.stdin.read()))',
    ]);
    let out = '';
    py.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    py.on('error', reject);
    py.on('close', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`hashing failed (${code})`)),
    );
    py.stdin.end(password);
  });
}

export default definePackage({
  id: 'radicale',
  version: '3.1.8',
  title: 'Radicale',
  description: {
    short: 'Your calendars and contacts (CalDAV and CardDAV)',
    long:
      'Radicale is a small CalDAV and CardDAV server: keep calendars, tasks and address books on your own box ' +
      'and sync them with any standard client.',
  },
  license: 'GPL-3.0-or-later',
  upstreamRepo: 'https://github.com/Kozea/Radicale',
  packageRepo: 'https://hearth.local/services/radicale',
  icon: 'icon.svg',
  architectures: ['x86_64', 'arm64'],
  // Its password field is a secret (secret()), which the box keeps out of its records from 0.1.0.
  minHearthVersion: '0.1.0',
  volumes: [
    {
      id: 'collections',
      name: 'Collections',
      description: 'Calendars and address books',
      mountPath: COLLECTIONS,
    },
    {
      id: 'config',
      name: 'Users',
      description: 'The users and their password hashes',
      mountPath: '/data/config',
    },
  ],
  interfaces: [
    {
      // One port for both: the web interface is at /.web/, CalDAV and CardDAV at /.
      id: 'web',
      name: 'Radicale',
      description: 'The web interface, and the address calendar and contacts apps connect to',
      protocol: 'http',
      port: PORT,
      kind: 'ui',
    },
  ],
  resources: { memoryMiB: 128, cpus: 0.5 },
  daemons: [
    {
      id: 'radicale',
      command: [
        '/bin/busybox',
        'sh',
        '-c',
        [
          `mkdir -p ${COLLECTIONS} /data/config`,
          `touch ${USERS}`,
          [
            'exec /usr/bin/python3 -m radicale',
            `--server-hosts 0.0.0.0:${PORT}`,
            `--storage-filesystem-folder ${COLLECTIONS}`,
            '--auth-type htpasswd',
            `--auth-htpasswd-filename ${USERS}`,
            '--auth-htpasswd-encryption md5',
            '--rights-type owner_only',
          ].join(' '),
        ].join(' && '),
      ],
      ready: { kind: 'tcp', port: PORT },
    },
  ],
  healthChecks: [
    {
      id: 'dav',
      name: 'CalDAV server',
      kind: 'http',
      url: `http://127.0.0.1:${PORT}/.web/`,
      expectStatus: 200,
      intervals: { startingSeconds: 2, healthySeconds: 30 },
      timeoutSeconds: 5,
    },
  ],
  actions: [
    defineAction({
      id: 'set-password',
      name: 'Set password',
      description: 'Adds a user, or changes the password of one. Calendar apps log in with these.',
      input: z.object({
        user: z
          .string()
          .regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, 'letters, digits, dot, dash or underscore; up to 32')
          .describe('The user name'),
        password: secret(z.string().min(8).max(200).describe('At least 8 characters')),
      }),
      allowedStatuses: ['running', 'stopped'],
      handler: async ({ user, password }) => {
        await mkdir('/data/config', { recursive: true });
        const lines = (await readFile(USERS, 'utf8').catch(() => ''))
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.startsWith(`${user}:`));
        lines.push(`${user}:${await apr1(password)}`);
        await writeFile(`${USERS}.tmp`, `${lines.join('\n')}\n`, { mode: 0o600 });
        await rename(`${USERS}.tmp`, USERS);
        return { message: `${user} can now log in.` };
      },
    }),
  ],
  backup: { volumes: ['collections', 'config'] },
});
