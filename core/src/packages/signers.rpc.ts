import { z } from 'zod';
import { defineMethod, noParams } from '../rpc/registry.ts';

const signer = z.object({
  publicKey: z.string(),
  name: z.string(),
  addedAt: z.number(),
  fingerprint: z.string(),
});

export const signerMethods = [
  defineMethod({
    name: 'package.signer.add',
    description:
      'Trust a package signer: packages signed with this ed25519 key install without `allowUntrusted`. ' +
      'Give the base64 public key its author published (as `hearth-sdk keygen` prints it) and a name.',
    access: 'admin',
    annotations: { readOnly: false },
    params: z
      .object({ publicKey: z.string().min(40).max(60), name: z.string().trim().min(1).max(100) })
      .strict(),
    result: signer,
    handler: (p, ctx) => ctx.services.signers.add(p.publicKey, p.name),
  }),
  defineMethod({
    name: 'package.signer.list',
    description: 'The package signers this box trusts, with their fingerprints.',
    access: 'read',
    params: noParams,
    result: z.array(signer),
    handler: (_, ctx) => ctx.services.signers.list(),
  }),
  defineMethod({
    name: 'package.signer.remove',
    description:
      'Stop trusting a package signer (by public key or fingerprint). Installed packages keep running; ' +
      'new packages from that signer then need `allowUntrusted`.',
    access: 'admin',
    annotations: { destructive: true, idempotent: true },
    params: z
      .object({ key: z.string().min(1).max(60).describe('the public key or its fingerprint') })
      .strict(),
    result: z.object({ ok: z.literal(true) }),
    handler: ({ key }, ctx) => {
      ctx.services.signers.remove(key);
      return { ok: true as const };
    },
  }),
];
