import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { redactParams } from '../audit/redact.ts';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import type { Confirmation } from '../rpc/dispatch.ts';
import type { MethodDef } from '../rpc/registry.ts';
import { callerOf, type Extra } from './calls.ts';

// A person may take a while to answer a confirmation; a client that never answers must not
// hold the call forever.
const CONFIRM_TIMEOUT_MS = 10 * 60_000;

export class ConfirmationRequired extends HearthError {
  constructor(method: string) {
    super('confirmation_required', `${method} is destructive and was not confirmed`, {
      hint:
        'ask the person whether to go ahead, telling them what will be lost; if they agree, call again ' +
        'with confirm: true',
    });
  }
}

export class ConfirmationDeclined extends HearthError {
  constructor(method: string) {
    super('confirmation_declined', `the person did not agree to ${method}`, {
      hint: 'do not call it again unless the person asks you to',
    });
  }
}

/**
 * Asks for the person's yes to a destructive call: through the client where it can ask
 * (elicitation), otherwise from the `confirm` argument the agent sent. The Dispatcher asks
 * only once access and params are checked; a throw refuses the call.
 */
export async function confirmCall(
  server: Server,
  extra: Extra,
  method: MethodDef,
  params: unknown,
  confirmArg: unknown,
  log: Logger,
): Promise<Confirmation> {
  if (server.getClientCapabilities()?.elicitation?.form) {
    const caller = callerOf(extra);
    const who = caller.kind === 'token' ? `The agent using the API token '${caller.name}'` : 'An agent';
    let answer: Awaited<ReturnType<Server['elicitInput']>> | undefined;
    try {
      answer = await server.elicitInput(
        {
          mode: 'form',
          message:
            `${who} wants to run ${method.name} ${JSON.stringify(redactParams(method.params, params))}. ` +
            `${firstSentence(method.description)} Go ahead?`,
          requestedSchema: {
            type: 'object',
            properties: {
              confirm: { type: 'boolean', title: `Yes, run ${method.name}`, default: false },
            },
            required: ['confirm'],
          },
        },
        { relatedRequestId: extra.requestId, signal: extra.signal, timeout: CONFIRM_TIMEOUT_MS },
      );
    } catch (error) {
      // The client said it could ask but did not manage to: fall back to the argument.
      log.warn('elicitation failed', { method: method.name, error });
    }
    if (answer) {
      if (answer.action === 'accept' && answer.content?.['confirm'] === true) return 'elicitation';
      throw new ConfirmationDeclined(method.name);
    }
  }
  if (confirmArg === true) return 'argument';
  throw new ConfirmationRequired(method.name);
}

const firstSentence = (s: string): string => s.split(/(?<=\.)\s/)[0] ?? s;
