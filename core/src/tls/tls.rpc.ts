import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';

export const tlsMethods = [
  defineMethod({
    name: 'tls.status',
    description:
      'The box’s HTTPS on the LAN: the port, the fingerprint of its root CA (download it at /hearth-ca.crt to ' +
      'trust the box) and every certificate it holds, with its names and when it expires. Renewed by itself ' +
      'well before expiry, and made anew when the hostname or the addresses change.',
    access: 'read',
    params: z.object({}).strict(),
    result: z.object({
      httpsPort: z.number().nullable().meta({ description: 'null while HTTPS is off (setup mode, --dev)' }),
      caFingerprint: z.string().nullable().meta({ description: 'SHA-256 of the root CA, hex' }),
      certificates: z.array(
        z.object({
          id: z.string(),
          role: z.enum(['root', 'intermediate', 'leaf']),
          package: z.string().nullable(),
          names: z.array(z.string()),
          fingerprint: z.string(),
          notBefore: z.number(),
          notAfter: z.number(),
        }),
      ),
    }),
    handler: (_p, ctx) => ctx.services.tls.status(),
  }),
] as const;
