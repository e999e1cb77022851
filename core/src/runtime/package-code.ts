import { createRequire } from 'node:module';
import type { Effects } from '#sdk/effects.ts';
import type { PackageDefinition } from '#sdk/package.ts';
import { codeFrom, HearthError } from '../errors.ts';
import type { HostLink } from './host-link.ts';

/**
 * The package's code bundle (`code/index.js`, CommonJS) and the Effects its handlers get.
 * The bundle carries its own copy of the SDK, so nothing here uses `instanceof` on what
 * it returns or throws: errors are matched by their string `code`. The runtime loads it at
 * the first hook or action that needs it, not at start: the daemons and checks come from
 * the manifest the host sends (protocol.ts), and code never run costs no memory.
 */

export class PackageCodeInvalid extends HearthError {
  constructor(file: string, why: string, cause?: unknown) {
    super('package_code_invalid', `the package code ${file} cannot be used: ${why}`, {
      hint: 'rebuild the package with hearth-sdk pack',
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * `require(file).default`, checked: a package definition of a version this runtime knows,
 * with the handlers it calls. Its manifest was checked by the package's own SDK when the
 * code defined it (`definePackage`), and by the host when it installed the package.
 * The binary's own `require` loads only built-in modules; `createRequire` loads files.
 */
export function loadPackageCode(file: string): PackageDefinition {
  const load = createRequire(file);
  let exported: unknown;
  try {
    exported = (load(file) as { default?: unknown }).default;
  } catch (e) {
    throw new PackageCodeInvalid(file, (e as Error).message ?? String(e), e);
  }
  const why = notADefinition(exported);
  if (why) {
    // Not kept: the next call loads the file again (Node keeps a module that loaded).
    delete load.cache[load.resolve(file)];
    throw new PackageCodeInvalid(file, why);
  }
  return exported as PackageDefinition;
}

function notADefinition(exported: unknown): string | null {
  const def = exported as Partial<PackageDefinition> | null;
  if (typeof def !== 'object' || def === null || def.kind !== 'hearth-package') {
    return 'it does not export a package definition';
  }
  if (def.definitionVersion !== 1) {
    return `the package was defined with an SDK whose definition format (${String(def.definitionVersion)}) this runtime does not know`;
  }
  for (const fn of ['runAction', 'runMigration', 'runInit', 'runUninit'] as const) {
    if (typeof def[fn] !== 'function') return `${fn} is not a function`;
  }
  return null;
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
