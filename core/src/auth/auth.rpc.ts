import { z } from 'zod';
import { HearthError } from '../errors.ts';
import { type CallContext, defineMethod, noParams, SCOPES, secret } from '../rpc/registry.ts';
import { newPasswordSchema } from './passwords.ts';

const ok = z.object({ ok: z.literal(true) });

const sessionOf = (ctx: CallContext): string => {
  if (ctx.caller.kind !== 'session') {
    throw new HearthError(
      'not_a_session',
      'this call belongs to a login session, and you called without one',
    );
  }
  return ctx.caller.id;
};
const currentSession = (ctx: CallContext) => (ctx.caller.kind === 'session' ? ctx.caller.id : undefined);

const token = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.enum(SCOPES),
  createdAt: z.number().describe('milliseconds since the epoch'),
  lastUsedAt: z.number().nullable(),
});

export const authMethods = [
  defineMethod({
    name: 'auth.login',
    description:
      'Log in with the owner’s password. Starts a session: browsers get an HttpOnly cookie, other clients use ' +
      'the returned token as `Authorization: Bearer`. With the second factor on, send the authenticator code too ' +
      '(without it the answer is second_factor_required). After five wrong passwords from one address, one try ' +
      'every 12 seconds.',
    access: 'public',
    annotations: { readOnly: false },
    params: z
      .object({
        password: secret(z.string().min(1).max(1024)),
        code: secret(z.string().trim().min(1).max(64))
          .optional()
          .describe('with the second factor on: the code from the authenticator app, or a recovery code'),
      })
      .strict(),
    result: z.object({ sessionId: z.string(), token: secret(z.string()), expiresAt: z.number() }),
    handler: async ({ password, code }, ctx) => {
      const s = await ctx.services.auth.login(password, ctx, code);
      if (s.codeKind === 'recovery') {
        const left = ctx.services.auth.secondFactorStatus().recoveryCodesLeft;
        ctx.services.notifications.create({
          level: 'warning',
          title: 'A recovery code was used to log in',
          message:
            `Someone logged in from ${ctx.address} with a recovery code instead of the authenticator app; ` +
            `${left} recovery code${left === 1 ? '' : 's'} left. If it was not you, change the password and make ` +
            'new recovery codes.',
          source: 'auth',
        });
      }
      ctx.sessionCookie?.set(s.token, s.expiresAt);
      return { sessionId: s.id, token: s.token, expiresAt: s.expiresAt };
    },
  }),
  defineMethod({
    name: 'auth.logout',
    description: 'End the current login session (and clear its cookie).',
    access: 'read',
    annotations: { readOnly: false, idempotent: true },
    params: noParams,
    result: ok,
    handler: (_, ctx) => {
      ctx.services.auth.logout(sessionOf(ctx));
      ctx.sessionCookie?.clear();
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'auth.session.list',
    description: 'List the open login sessions: when and from where each started, and which one is yours.',
    access: 'admin',
    params: noParams,
    result: z.array(
      z.object({
        id: z.string(),
        createdAt: z.number(),
        lastSeenAt: z.number(),
        expiresAt: z.number(),
        address: z.string(),
        userAgent: z.string(),
        current: z.boolean(),
      }),
    ),
    handler: (_, ctx) => ctx.services.auth.listSessions(currentSession(ctx)),
  }),
  defineMethod({
    name: 'auth.session.kill',
    description:
      'End a login session by id (see auth.session.list), for example a browser you left logged in.',
    access: 'admin',
    annotations: { destructive: true, idempotent: true },
    params: z.object({ id: z.string().min(1).max(64) }).strict(),
    result: ok,
    handler: ({ id }, ctx) => {
      ctx.services.auth.killSession(id);
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'auth.password.change',
    description:
      'Change the owner’s password (at least 12 characters). Every other login session ends; API tokens stay valid.',
    access: 'admin',
    annotations: { destructive: true },
    params: z
      .object({
        current: secret(z.string().min(1).max(1024)),
        new: newPasswordSchema(),
      })
      .strict(),
    result: ok,
    handler: async (p, ctx) => {
      await ctx.services.auth.changePassword(p.current, p.new, currentSession(ctx), ctx.address);
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'auth.password.reset',
    description:
      'Set a new owner’s password without the old one: only root on the box itself (its console) can. The ' +
      'second factor is turned off and every login session ends; API tokens keep working. (Without a console, ' +
      'a hearth-recovery.txt file on the boot partition does the same: see the README.)',
    access: 'local',
    annotations: { destructive: true },
    params: z.object({ new: newPasswordSchema() }).strict(),
    result: ok,
    handler: async (p, ctx) => {
      await ctx.services.auth.resetPassword(p.new);
      ctx.services.notifications.create({
        level: 'warning',
        title: 'The password was reset on the box',
        message:
          'Root on the box set a new owner’s password; the second factor is off and every session ended. If it ' +
          'was not you, someone has your box in hand.',
        source: 'auth',
      });
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'auth.totp.status',
    description:
      'Whether the owner’s second factor (a code from an authenticator app at login) is on, and how many ' +
      'recovery codes are left.',
    access: 'admin',
    params: noParams,
    result: z.object({ enabled: z.boolean(), pending: z.boolean(), recoveryCodesLeft: z.number() }),
    handler: (_, ctx) => ctx.services.auth.secondFactorStatus(),
  }),
  defineMethod({
    name: 'auth.totp.begin',
    description:
      'Start turning on the second factor: answers a secret and an otpauth:// URI (show it as a QR code) for an ' +
      'authenticator app, once. It takes effect when auth.totp.confirm gets a first code from the app.',
    access: 'admin',
    annotations: { readOnly: false },
    params: noParams,
    result: z.object({ secret: secret(z.string()), uri: secret(z.string()) }),
    handler: (_, ctx) => ctx.services.auth.beginSecondFactor(ctx.services.system.hostname),
  }),
  defineMethod({
    name: 'auth.totp.confirm',
    description:
      'Turn the second factor on with the code the authenticator app shows now. Answers ten one-time recovery ' +
      'codes, once: keep them somewhere safe — each logs in once without the app, even when a clock is wrong.',
    access: 'admin',
    annotations: { readOnly: false },
    params: z.object({ code: secret(z.string().trim().min(1).max(16)) }).strict(),
    result: z.object({ recoveryCodes: secret(z.array(z.string())) }),
    handler: ({ code }, ctx) => ({ recoveryCodes: ctx.services.auth.confirmSecondFactor(code) }),
  }),
  defineMethod({
    name: 'auth.totp.disable',
    description: 'Turn the second factor off (the password is needed). Logins then take the password alone.',
    access: 'admin',
    annotations: { destructive: true, idempotent: true },
    params: z.object({ password: secret(z.string().min(1).max(1024)) }).strict(),
    result: ok,
    handler: async ({ password }, ctx) => {
      await ctx.services.auth.disableSecondFactor(password, ctx.address);
      return { ok: true as const };
    },
  }),
  defineMethod({
    name: 'auth.totp.recovery',
    description:
      'Make ten new recovery codes (the password is needed); the old ones stop working. Answers them, once.',
    access: 'admin',
    annotations: { destructive: true },
    params: z.object({ password: secret(z.string().min(1).max(1024)) }).strict(),
    result: z.object({ recoveryCodes: secret(z.array(z.string())) }),
    handler: async ({ password }, ctx) => ({
      recoveryCodes: await ctx.services.auth.regenerateRecoveryCodes(password, ctx.address),
    }),
  }),
  defineMethod({
    name: 'auth.token.create',
    description:
      'Create an API token for a script or an agent. Scopes: `read` (look only), `operate` (start, stop, ' +
      'back up…), `admin` (everything). The secret is shown once, in this answer; only its hash is kept.',
    access: 'admin',
    annotations: { readOnly: false },
    params: z
      .object({
        name: z.string().trim().min(1).max(100).describe('what the token is for, e.g. "home assistant"'),
        scope: z.enum(SCOPES),
      })
      .strict(),
    result: token.extend({ token: secret(z.string()) }),
    handler: ({ name, scope }, ctx) => ctx.services.auth.createToken(name, scope),
  }),
  defineMethod({
    name: 'auth.token.list',
    description: 'List the API tokens (never their secrets): name, scope, when created and last used.',
    access: 'admin',
    params: noParams,
    result: z.array(token),
    handler: (_, ctx) => ctx.services.auth.listTokens(),
  }),
  defineMethod({
    name: 'auth.token.revoke',
    description: 'Revoke an API token by id: every client using it is refused from now on.',
    access: 'admin',
    annotations: { destructive: true, idempotent: true },
    params: z.object({ id: z.string().min(1).max(64) }).strict(),
    result: ok,
    handler: ({ id }, ctx) => {
      ctx.services.auth.revokeToken(id);
      return { ok: true as const };
    },
  }),
];
