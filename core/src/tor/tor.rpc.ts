import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';

const packageId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, 'a package id: lower-case letters, digits and dashes');
const interfaceId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'an interface id, as package.get lists them')
  .meta({ description: 'the interface’s id in the package’s manifest (package.get lists them)' });
const which = z.object({ package: packageId, interface: interfaceId }).strict();

const onion = z.object({
  package: z.string(),
  interface: z.string(),
  address: z.string().meta({ description: 'the v3 onion address, `<56 letters>.onion`' }),
  enabled: z.boolean(),
  active: z.boolean().meta({ description: 'tor carries it now' }),
  port: z
    .number()
    .nullable()
    .meta({ description: 'the port to dial at the address (80 for a web interface)' }),
});

export const torMethods = [
  defineMethod({
    name: 'tor.status',
    description:
      'Tor on the box: off (no onion turned on), starting, bootstrapping (reaching the Tor network, with its ' +
      'progress), ready or failed (with why); and every interface’s onion address, whether it is on and ' +
      'whether tor carries it now.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.object({
      state: z.enum(['off', 'starting', 'bootstrapping', 'ready', 'failed']),
      bootstrap: z
        .object({ progress: z.number(), summary: z.string(), warning: z.string().optional() })
        .nullable(),
      lastError: z.string().nullable(),
      runningSince: z.number().nullable(),
      onions: z.array(onion),
    }),
    handler: (_, ctx) => ctx.services.tor.status(),
  }),
  defineMethod({
    name: 'interface.tor.enable',
    description:
      'Give a package’s interface an onion address, reachable by anyone with Tor Browser who knows it (the ' +
      'service does its own login). The key is kept in the box’s database: the address stays the same across ' +
      'restarts, updates, restores and turning it off and on. Starts tor if it is not running.',
    access: 'admin',
    annotations: { readOnly: false, idempotent: true, openWorld: true },
    params: which,
    result: onion,
    handler: (p, ctx) => ctx.services.tor.enable(p.package, p.interface),
  }),
  defineMethod({
    name: 'interface.tor.disable',
    description:
      'Take a package’s interface off Tor. Its key is kept, so turning it on again gives the same address.',
    access: 'admin',
    annotations: { readOnly: false, idempotent: true },
    params: which,
    result: onion,
    handler: (p, ctx) => ctx.services.tor.disable(p.package, p.interface),
  }),
];
