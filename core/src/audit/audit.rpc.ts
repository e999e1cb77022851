import { z } from 'zod';
import { defineMethod } from '../rpc/registry.ts';

export const auditMethods = [
  defineMethod({
    name: 'audit.list',
    description:
      'Read the audit log, newest first: every call made to this box — method, caller (session, API token, ' +
      'local root), address, time, duration, outcome, and params with secrets redacted. Filter by method, ' +
      'caller, outcome or time; page with `before` (the smallest id you have).',
    access: 'admin',
    params: z
      .object({
        method: z.string().max(200).optional(),
        callerKind: z.enum(['anonymous', 'session', 'token', 'local']).optional(),
        callerId: z.string().max(64).optional(),
        outcome: z.enum(['ok', 'error']).optional(),
        since: z.number().int().nonnegative().optional().describe('from this time, ms since the epoch'),
        until: z.number().int().nonnegative().optional().describe('before this time, ms since the epoch'),
        before: z.number().int().positive().optional().describe('only entries with a smaller id'),
        limit: z.number().int().min(1).max(1000).default(100),
      })
      .strict(),
    result: z.array(
      z.object({
        id: z.number(),
        at: z.number(),
        method: z.string(),
        surface: z.string(),
        callerKind: z.string(),
        callerId: z.string().nullable(),
        callerName: z.string().nullable(),
        address: z.string(),
        durationMs: z.number(),
        outcome: z.enum(['ok', 'error']),
        errorCode: z.string().nullable(),
        params: z
          .unknown()
          .describe('the params of the call (of the first call, for a group), secrets redacted'),
        count: z
          .number()
          .describe(
            'how many calls the entry stands for: calls without a credential and failed calls are kept as one ' +
              'entry per address, method, outcome and minute',
          ),
        confirmation: z
          .enum(['elicitation', 'argument'])
          .nullable()
          .describe(
            'how a destructive MCP call was confirmed: the client asked the person, or confirm: true',
          ),
      }),
    ),
    handler: (filter, ctx) => ctx.services.audit.list(filter),
  }),
];
