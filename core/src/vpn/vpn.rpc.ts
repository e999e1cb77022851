import { z } from 'zod';
import { defineMethod, secret } from '../rpc/registry.ts';

const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$/,
    'a name: 1 to 32 letters, digits, spaces, dots, dashes or underscores',
  )
  .meta({ description: 'the peer’s name, e.g. the device it is for (“Anna’s phone”)' });

const config = z.object({
  name: z.string(),
  // Both hold the peer's private key: kept out of the audit log.
  config: secret(
    z.string().meta({
      description: 'the WireGuard config to import (wg-quick format); it holds the peer’s private key',
    }),
  ),
  qrSvg: secret(
    z.string().meta({ description: 'the same config as a QR code (SVG), for the WireGuard phone apps' }),
  ),
});

export const vpnMethods = [
  defineMethod({
    name: 'vpn.peer.list',
    description:
      'The WireGuard VPN into the box: whether it runs (it does while a peer exists), the box’s public key, the ' +
      'endpoint peers dial and its address in the VPN, the home LAN’s networks, and every peer with its address, ' +
      'access (the box only, or the box and the home LAN), last handshake and traffic.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.object({
      running: z.boolean(),
      publicKey: z.string(),
      endpoint: z.string(),
      address: z.string(),
      lanSubnets: z.array(z.string()),
      lastError: z.string().nullable(),
      peers: z.array(
        z.object({
          name: z.string(),
          publicKey: z.string(),
          address: z.string(),
          access: z.enum(['box', 'lan']),
          createdAt: z.number(),
          lastHandshake: z.number().nullable(),
          endpoint: z.string().nullable(),
          rxBytes: z.number(),
          txBytes: z.number(),
        }),
      ),
    }),
    handler: (_, ctx) => ctx.services.vpn.status(),
  }),
  defineMethod({
    name: 'vpn.peer.add',
    description:
      'Add a device to the VPN: the box makes its keys and answers with its config and a QR code to import in a ' +
      'WireGuard app. `access`: `box` reaches the box only, `lan` also the devices of the home LAN (through the ' +
      'box, as the box). Starts the VPN with the first peer.',
    access: 'admin',
    annotations: { readOnly: false, idempotent: false },
    params: z
      .object({
        name,
        access: z.enum(['box', 'lan']).default('box').meta({ description: '`box` (the default) or `lan`' }),
      })
      .strict(),
    result: config,
    handler: (p, ctx) => ctx.services.vpn.add(p.name, p.access),
  }),
  defineMethod({
    name: 'vpn.peer.config',
    description: 'A peer’s config and QR code again, e.g. to set up the same device anew.',
    access: 'admin',
    annotations: { readOnly: true },
    params: z.object({ name }).strict(),
    result: config,
    handler: (p, ctx) => ctx.services.vpn.config(p.name),
  }),
  defineMethod({
    name: 'vpn.peer.remove',
    description: 'Revoke a peer: its key stops working at once. With the last peer gone, the VPN stops.',
    access: 'admin',
    annotations: { readOnly: false, destructive: true, idempotent: false },
    params: z.object({ name }).strict(),
    result: z.object({ removed: z.string() }),
    handler: (p, ctx) => ctx.services.vpn.remove(p.name),
  }),
];
