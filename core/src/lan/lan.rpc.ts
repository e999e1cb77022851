import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';

const address = z.object({
  kind: z.enum(['lan', 'mdns', 'onion', 'domain']).meta({
    description:
      'lan: the box’s address and the interface’s port; mdns: a .local name; onion: its Tor address; domain: a custom domain',
  }),
  address: z.string().meta({ description: 'a full URL for web interfaces, host:port for the others' }),
  answers: z
    .boolean()
    .nullable()
    .meta({ description: 'whether it answers now, tried from the box itself; null when not checked' }),
  note: z.string().nullable().meta({ description: 'what to do when it does not answer' }),
});

const item = z.object({
  package: z.string(),
  interface: z.string(),
  name: z.string(),
  kind: z.enum(['ui', 'api', 'p2p', 'mcp']),
  protocol: z.enum(['http', 'https', 'tcp', 'udp']),
  lanPort: z
    .number()
    .nullable()
    .meta({ description: 'the interface’s port on the box; null for UDP (not carried yet)' }),
  addresses: z.array(address),
});

export const lanMethods = [
  defineMethod({
    name: 'interface.list',
    description:
      'Every address of every package interface (or of one package’s): its port on the box by the box’s ' +
      'addresses and .local names, its onion address and custom domains — and whether each answers now. ' +
      'These addresses do not use the box’s login: the service does its own.',
    access: 'read',
    params: z
      .object({
        package: z
          .string()
          .regex(/^[a-z][a-z0-9-]{1,62}$/, 'a package id')
          .optional()
          .meta({ description: 'only this package’s interfaces' }),
      })
      .strict(),
    result: z.array(item),
    handler: (p, ctx) => ctx.services.lan.interfaces(p.package),
  }),
];
