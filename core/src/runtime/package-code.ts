import { createRequire } from 'node:module';
import type { Effects } from '#sdk/effects.ts';
import type { DeclaredManifest } from '#sdk/manifest.ts';
import { manifestOf, type PackageDefinition } from '#sdk/package.ts';
import { codeFrom, HearthError } from '../errors.ts';
import type { HostLink } from './host-link.ts';

/**
 * The package's code bundle (`code/index.js`, CommonJS) and the Effects its handlers get.
 * The bundle carries its own copy of the SDK, so nothing here uses `instanceof` on what
 * it returns or throws: errors are matched by their string `code`.
 */

export class PackageCodeInvalid extends HearthError {
  constructor(file: string, why: string, cause?: unknown) {
    super('package_code_invalid', `the package code ${file} cannot be used: ${why}`, {
      hint: 'rebuild the package with hearth-sdk pack',
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

export interface LoadedPackage {
  definition: PackageDefinition;
  manifest: DeclaredManifest;
}

/**
 * `require(file).default`, checked: a package definition of a version this runtime
 * knows, with a manifest that passes the SDK's checks (defaults filled in). The binary's
 * own `require` loads only built-in modules; `createRequire` loads files.
 */
export function loadPackageCode(file: string): LoadedPackage {
  let exported: unknown;
  try {
    exported = (createRequire(file)(file) as { default?: unknown }).default;
  } catch (e) {
    throw new PackageCodeInvalid(file, (e as Error).message ?? String(e), e);
  }
  let manifest: DeclaredManifest;
  try {
    manifest = manifestOf(exported);
  } catch (e) {
    throw new PackageCodeInvalid(file, (e as Error).message, e);
  }
  const definition = exported as PackageDefinition;
  for (const fn of ['runAction', 'runMigration', 'runInit', 'runUninit'] as const) {
    if (typeof definition[fn] !== 'function') throw new PackageCodeInvalid(file, `${fn} is not a function`);
  }
  return { definition, manifest };
}

/**
 * What a package handler threw, as an error the host can read: its own `code` when it
 * has a usable one (the SDK's `action_input_invalid`, …), `package_code_failed` otherwise.
 * The message is the package's own text; the host treats it as untrusted anyway.
 */
export function packageError(e: unknown): HearthError {
  if (e instanceof HearthError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = String((e as { message?: unknown } | null)?.message ?? e).slice(0, 1000);
  const hint = (e as { hint?: unknown } | null)?.hint;
  return new HearthError(
    codeFrom(code, 'package_code_failed'),
    message || 'the package code failed',
    typeof hint === 'string' ? { hint: hint.slice(0, 500) } : {},
  );
}

/**
 * The Effects given to package handlers: each method one call to the host over the
 * current connection. Health a handler reports is kept and sent again after a
 * reconnect, like the runtime's own.
 */
export function effectsOver(linkOf: () => HostLink): Effects {
  const link = {
    call: ((method, params) => linkOf().call(method, params)) as HostLink['call'],
    retain: ((key, method, params) => linkOf().retain(key, method, params)) as HostLink['retain'],
  };
  return Object.freeze({
    setHealth: async (
      checkId: string,
      report: { status: 'starting' | 'success' | 'failure'; message?: string },
    ) => {
      const params = {
        checkId,
        status: report.status,
        ...(report.message === undefined ? {} : { message: report.message }),
      };
      link.retain(`health:${checkId}`, 'effects.setHealth', params);
      await link.call('effects.setHealth', params);
    },
    getInterfaces: () => link.call('effects.getInterfaces', {}),
    getInterface: (id: string) => link.call('effects.getInterface', { id }),
    getCertificate: (interfaceId: string) => link.call('effects.getCertificate', { interfaceId }),
    notify: async (n: {
      level: 'info' | 'success' | 'warning' | 'error';
      title: string;
      message: string;
    }) => {
      await link.call('effects.notify', { level: n.level, title: n.title, message: n.message });
    },
    getDependency: (id: string) => link.call('effects.getDependency', { id }),
    getSelf: () => link.call('effects.getSelf', {}),
  }) as Effects;
}
