import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';
import { MAX_LINE } from './keys.ts';

const fingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'a fingerprint as ssh-keygen -l prints it: SHA256:…')
  .meta({
    description: 'the key’s SHA256 fingerprint, as ssh-keygen -l prints it (ssh.key.list lists them)',
  });

const key = z.object({
  fingerprint: z.string(),
  type: z.string(),
  name: z.string(),
  createdAt: z.number(),
});

export const sshMethods = [
  defineMethod({
    name: 'ssh.key.list',
    description:
      'SSH on the box: the login user, whether sshd runs (it runs only while a key is added), the public keys ' +
      'that may log in, and the box’s host key fingerprints — compare them with what ssh shows at the first login.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.object({
      user: z.string(),
      running: z.boolean().nullable(),
      keys: z.array(key),
      hostKeys: z.array(z.object({ type: z.string(), fingerprint: z.string() })),
      lastError: z.string().nullable(),
    }),
    handler: (_, ctx) => ctx.services.ssh.status(),
  }),
  defineMethod({
    name: 'ssh.key.add',
    description:
      'Let an SSH public key log in to the box as its login user (`ssh hearth@<box>.local`), who may use sudo. ' +
      'Paste one line of a .pub file (ssh-ed25519, ecdsa-sha2-nistp*, ssh-rsa of 2048 bits or more, or a security ' +
      'key’s sk- type); options before the key are refused. Password login stays off. Starts sshd with the first key.',
    access: 'admin',
    annotations: { readOnly: false, idempotent: false },
    params: z
      .object({
        key: z
          .string()
          .max(MAX_LINE)
          .meta({ description: 'the public key line, e.g. the content of ~/.ssh/id_ed25519.pub' }),
        name: z
          .string()
          .max(100)
          .optional()
          .meta({ description: 'a name for the key; default the key’s comment' }),
      })
      .strict(),
    result: key,
    handler: (p, ctx) => ctx.services.ssh.add(p.key, p.name),
  }),
  defineMethod({
    name: 'ssh.key.remove',
    description: 'Stop an SSH key from logging in. With the last key gone, sshd stops.',
    access: 'admin',
    annotations: { readOnly: false, destructive: true, idempotent: false },
    params: z.object({ fingerprint }).strict(),
    result: z.object({ removed: z.string() }),
    handler: (p, ctx) => ctx.services.ssh.remove(p.fingerprint),
  }),
];
