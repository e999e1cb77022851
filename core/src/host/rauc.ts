import fs from 'node:fs';
import path from 'node:path';
import type { Progress } from '../calls.ts';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import {
  type BundleInfo,
  type EngineStatus,
  parseBundleInfo,
  parseEngineStatus,
  parseProgressLine,
} from './rauc-parse.ts';
import { CommandFailed, run } from './run.ts';

/*
 * RAUC, the A/B update engine (ARCHITECTURE.md "OS updates"), through its CLI: `rauc info`
 * checks a bundle's CMS signature against the keyring of /etc/rauc/system.conf; `rauc
 * extract` reads its whole payload through the verity hash tree in user space (a tampered
 * block fails it); `rauc install` writes the idle slot (system.conf says
 * `activate-installed=false`, so the bootloader is left alone); `rauc status mark-active
 * other` makes it the trial through our backend (rootfs/usr/libexec/hearth/rauc-boot);
 * `mark-good` blesses the booted slot. install and status talk to rauc's D-Bus service.
 */

export type BundleRefusal = 'not_a_bundle' | 'bad_signature' | 'corrupted';

export class BundleRefused extends HearthError {
  constructor(reason: BundleRefusal, message: string, cause?: unknown) {
    super('update_refused', message, {
      hint: 'nothing was written; use a bundle from the Hearth releases, or the update feed',
      data: { reason },
      cause,
    });
  }
}

export interface UpdateEngine {
  /** Whether this machine is an A/B system RAUC knows (the image's system.conf). */
  available(): boolean;
  info(bundle: string): Promise<BundleInfo>;
  /** Reads the whole payload, each block against the signed hash tree, into `scratch` (then removed). */
  checkPayload(bundle: string, scratch: string): Promise<void>;
  install(bundle: string, progress: (p: Progress) => void): Promise<void>;
  status(): Promise<EngineStatus>;
  markActiveOther(): Promise<void>;
  markGoodBooted(): Promise<void>;
}

export function hostRauc(o: {
  binary?: string;
  conf?: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
}): UpdateEngine {
  const binary = o.binary ?? 'rauc';
  const conf = o.conf ?? '/etc/rauc/system.conf';
  const base = [binary, `--conf=${conf}`];
  const opts = { log: o.log, debianPackage: 'rauc', ...(o.env ? { env: o.env } : {}) };
  // RAUC's stderr says why it refused; the reason goes to the log, its kind to the caller.
  const refusal = (e: unknown): BundleRefusal => {
    const text = e instanceof CommandFailed ? String(e.stderr ?? '') : '';
    if (/signature|Verify error|certificate/i.test(text)) return 'bad_signature';
    if (/corrupt|Verification (of data area )?failed/i.test(text)) return 'corrupted';
    return 'not_a_bundle';
  };
  return {
    available: () => fs.existsSync(conf),
    async info(bundle) {
      try {
        const out = await run([...base, 'info', '--output-format=json', bundle], opts);
        return parseBundleInfo(out.stdout);
      } catch (e) {
        const reason = refusal(e);
        o.log.warn('rauc refused a bundle', { bundle, reason, error: e });
        throw new BundleRefused(
          reason,
          reason === 'bad_signature'
            ? 'the update bundle is not signed by a key this box trusts, or was changed after signing'
            : 'the file is not a Hearth update bundle',
          e,
        );
      }
    },
    async checkPayload(bundle, scratch) {
      fs.rmSync(scratch, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(scratch), { recursive: true, mode: 0o700 });
      try {
        await run([...base, 'extract', bundle, scratch], opts);
      } catch (e) {
        o.log.warn('rauc found the bundle’s payload changed', { bundle, error: e });
        throw new BundleRefused('corrupted', 'the update bundle’s contents do not match its signature', e);
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    },
    async install(bundle, progress) {
      // run(), not runLines(): only run() fails on a non-zero exit, and a failed write must fail.
      progress({ step: 'write', done: 0, total: 100 });
      const out = await run([...base, 'install', '--progress', bundle], opts);
      const last = out.stdout
        .split('\n')
        .map(parseProgressLine)
        .filter((p) => p !== null)
        .at(-1);
      progress({ step: 'write', done: last?.percent ?? 100, total: 100 });
    },
    async status() {
      return parseEngineStatus(
        (await run([...base, 'status', '--detailed', '--output-format=json'], opts)).stdout,
      );
    },
    async markActiveOther() {
      await run([...base, 'status', 'mark-active', 'other'], opts);
    },
    async markGoodBooted() {
      await run([...base, 'status', 'mark-good', 'booted'], opts);
    },
  };
}
