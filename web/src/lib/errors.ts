import { RpcError } from './api.ts';

/**
 * What went wrong, in the UI's words, and what to do. The box's own messages are written
 * for people too, but they name methods and CLI commands; the codes a person meets in the
 * UI get their own sentence here, anything else its message.
 */
const WORDS: Record<string, string | ((e: RpcError) => string)> = {
  unreachable: 'The box does not answer. Check that it is on and on your network; this page keeps trying.',
  bad_answer: 'The box gave an answer this page does not understand. Reload the page.',
  wrong_password: 'That password is not right.',
  wrong_code: 'That code is not right. Codes change every 30 seconds; use the newest one.',
  rate_limited: (e) => {
    const s = e.data['retryAfterSeconds'];
    return `Too many tries. Wait ${typeof s === 'number' ? `${Math.ceil(s)} seconds` : 'a moment'} and try again.`;
  },
  unauthorized: 'You are signed out. Sign in again.',
  invalid_token: 'Your session has ended. Sign in again.',
  forbidden: 'Your sign-in may not do this.',
  not_enough_space: (e) =>
    `There is not enough room on the data drive: ${e.message}. Remove something first.`,
  payload_too_large: 'That file is too large for the box.',
  conflict: (e) => sentence(e.message),
  not_found: (e) => sentence(e.message),
  invalid_params: (e) => `Some of what you entered is not valid: ${e.message}.`,
  hpk_unknown_signer:
    'This package is signed by someone the box does not trust. Add its signer under Settings → Signers, or install it anyway.',
  confirmation_required: 'This needs your confirmation.',
  already_set_up: 'This box is set up already. Sign in instead.',
  setup_required: 'This box is not set up yet.',
  data_drive_missing:
    'The box cannot find its data drive. Plug it in (or check its cable and power), then restart the box.',
  data_drive_invalid:
    'The drive attached as the data drive does not hold this box’s data. Attach the right drive, then restart the box.',
  update_refused: (e) => sentence(e.message),
  update_feed_refused: (e) => `The update feed was not accepted: ${e.message}.`,
};

const sentence = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s);

export function explain(e: unknown): string {
  if (e instanceof RpcError) {
    const w = WORDS[e.code];
    if (typeof w === 'function') return w(e);
    if (w) return w;
    return sentence(e.message);
  }
  return e instanceof Error ? sentence(e.message) : 'Something went wrong.';
}

export const codeOf = (e: unknown): string | undefined => (e instanceof RpcError ? e.code : undefined);
