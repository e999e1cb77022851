import type { SshHost } from '../host/ssh.ts';
import type { Step } from './plan.ts';

/* The one table that carries out SSH's steps. */

type Executors = { [K in Step['kind']]: (step: Extract<Step, { kind: K }>, host: SshHost) => Promise<void> };

export const EXECUTORS: Executors = {
  'write-keys': async (s, host) => host.writeAuthorizedKeys(s.content),
  'start-sshd': (_, host) => host.setSshd(true),
  'stop-sshd': (_, host) => host.setSshd(false),
};

export function execute(step: Step, host: SshHost): Promise<void> {
  return (EXECUTORS[step.kind] as (s: Step, h: SshHost) => Promise<void>)(step, host);
}
