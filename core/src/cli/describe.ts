import { RpcError } from '../client/client.ts';
import { HearthError } from '../errors.ts';
import { METHODS } from '../rpc/methods.ts';
import { UsageError } from './args.ts';

/**
 * An error in the CLI's words: the one line `hearth` prints before it exits 1. Its own module
 * so that each role's bundle describes the errors its own classes made (the daemon's start
 * fails in the daemon's bundle, whose HearthError is not the CLI bundle's).
 */
export function describeError(e: unknown): string {
  if (e instanceof UsageError || e instanceof HearthError || e instanceof RpcError) {
    const hint = e instanceof RpcError ? (cliHint(e) ?? e.hint) : e.hint;
    const said = (text: string) => (e instanceof RpcError ? inCommandWords(text) : text);
    return `hearth: ${said(e.message)}${hint ? ` — hint: ${said(hint)}` : ''}`;
  }
  const detail = process.env['HEARTH_DEBUG'] && e instanceof Error ? `\n${e.stack}` : '';
  return `hearth: internal error: ${e instanceof Error ? e.message : String(e)}${detail}`;
}

/** The hint in the CLI's words where the fix is a command (the box's own hints name none). */
function cliHint(e: RpcError): string | undefined {
  if (e.code === 'hpk_unknown_signer') {
    const key = /signed by (\S+), which/.exec(e.message)?.[1] ?? '<public key>';
    return (
      `if you trust its author: hearth package signer add --public-key ${key} --name <who>, then install again ` +
      "(a checkout's make services signs with its development key); or install with --allow-untrusted"
    );
  }
  return undefined;
}

const OWN_NAMES: Record<string, string> = { 'auth.login': 'hearth login', 'auth.logout': 'hearth logout' };
const METHOD_NAMES = new Set<string>(METHODS.map((m) => m.name));

/** The box speaks for every client, in method names; on the command line they are commands. */
export function inCommandWords(text: string): string {
  return text.replace(/\b[a-z]+(?:\.[a-z][a-zA-Z]*)+\b/g, (name) =>
    METHOD_NAMES.has(name) ? (OWN_NAMES[name] ?? `hearth ${name.replaceAll('.', ' ')}`) : name,
  );
}
