import { z } from 'zod';
import { defineMethod, secret } from '../rpc/registry.ts';

const name = z.string().min(3).max(253).meta({ description: 'the domain name, e.g. cloud.example.com' });
const byName = z.object({ name }).strict();

const view = z.object({
  name: z.string(),
  package: z.string().nullable(),
  interface: z.string().nullable(),
  challenge: z.enum(['http-01', 'dns-01']),
  dns: z
    .object({
      provider: z.literal('rfc2136'),
      server: z.string(),
      port: z.number(),
      zone: z.string(),
      keyName: z.string(),
    })
    .nullable(),
  state: z.enum(['pending', 'valid', 'renewing', 'failing', 'expired']),
  notBefore: z.number().nullable(),
  notAfter: z.number().nullable(),
  issuedAt: z.number().nullable(),
  nextAttempt: z.number().nullable(),
  failures: z.number(),
  lastError: z.string().nullable(),
});

export const acmeMethods = [
  defineMethod({
    name: 'acme.domain.list',
    description:
      'Custom domains and their certificates from the ACME CA: state (pending, valid, renewing, failing, ' +
      'expired), validity, when the box tries next, the last error. Certificates are renewed 30 days before they end.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.array(view),
    handler: (_, ctx) => ctx.services.acme.list(),
  }),
  defineMethod({
    name: 'acme.domain.add',
    description:
      'Add a custom domain (for the box itself, or for a package interface) and order its certificate. ' +
      'http-01: the domain must point at this box and port 80 reach it from the internet. dns-01: the box ' +
      'writes a TXT record to the zone’s primary DNS server by RFC 2136 dynamic update, signed with a TSIG key ' +
      '(hmac-sha256); nothing needs to reach the box.',
    access: 'admin',
    annotations: { readOnly: false, openWorld: true },
    params: z
      .object({
        name,
        package: z
          .string()
          .regex(/^[a-z][a-z0-9-]{1,62}$/)
          .optional(),
        interface: z.string().min(1).max(63).optional(),
        challenge: z.enum(['http-01', 'dns-01']).default('http-01'),
        dns: z
          .object({
            server: z
              .union([z.ipv4(), z.ipv6()])
              .meta({ description: 'the zone’s primary server, an IP address' }),
            port: z.number().int().min(1).max(65535).default(53),
            zone: z.string().min(1).max(253),
            keyName: z
              .string()
              .min(1)
              .max(253)
              .meta({ description: 'the TSIG key’s name, as the server knows it' }),
            secret: secret(z.base64().min(16).max(1024)).meta({
              description: 'the TSIG key (hmac-sha256), base64',
            }),
          })
          .strict()
          .optional()
          .meta({ description: 'dns-01: the zone’s primary DNS server and its TSIG key, as JSON' }),
      })
      .strict(),
    result: view,
    handler: (p, ctx) => ctx.services.acme.add(p),
  }),
  defineMethod({
    name: 'acme.domain.remove',
    description: 'Remove a custom domain and forget its certificate (the CA is not asked to revoke it).',
    access: 'admin',
    annotations: { destructive: true },
    params: byName,
    result: z.object({}),
    handler: ({ name }, ctx) => {
      ctx.services.acme.remove(name);
      return {};
    },
  }),
  defineMethod({
    name: 'acme.domain.issue',
    description:
      'Order the domain’s certificate now, without waiting for the renewal time or the wait after a failure; ' +
      'answers once the CA has decided, with the domain’s state (lastError says why it failed).',
    access: 'admin',
    annotations: { readOnly: false, openWorld: true },
    params: byName,
    result: view,
    handler: ({ name }, ctx) => ctx.services.acme.issueNow(name),
  }),
];
