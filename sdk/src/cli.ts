import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SdkError, UsageError } from './errors.ts';
import { formatBytes } from './hpk/format.ts';
import { readHpk, type VerifiedHpk } from './hpk/read.ts';
import { keygen, loadSigningKey, normalizePublicKey } from './keys.ts';
import { ARCHITECTURES, type Architecture } from './manifest.ts';
import { packDir } from './pack/pack-dir.ts';
import TEMPLATE from './template-files.json' with { type: 'json' };
import { SDK_VERSION } from './version.ts';

/**
 * `hearth-sdk`: init, keygen, pack, inspect, verify. Exported as {@link runSdkCli} so the
 * `hearth` binary can offer the same commands as `hearth sdk …`.
 */

const EXIT = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

/**
 * Where `runSdkCli` writes, and what it knows about its surroundings.
 *
 * @example
 * await runSdkCli(['verify', 'app.hpk', '--trust', key], { name: 'hearth sdk', stdout: process.stdout });
 */
export interface SdkCliOptions {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** The SDK's directory (sdk/): lets `pack` bundle packages that do not install @hearth/sdk themselves. */
  sdkDir?: string;
  /** The program name in messages: `hearth-sdk`, or `hearth sdk`. */
  name?: string;
}

const HELP = (name: string) => `usage: ${name} <command> [options]

commands:
  init <dir>                      create a package from the hello-world template
  keygen [--out FILE]             create an ed25519 signing key (default hearth-signing.key), print its public key
  pack [DIR] --key FILE           build DIR (default .) into <id>-<version>.hpk
       [--out FILE] [--unsigned] [--cache DIR] [--verbose]
  inspect FILE [--trust KEY]... [--json]
                                  show a package's manifest and signature
  verify FILE --trust KEY... [--arch ARCH] [--allow-untrusted] [--json]
                                  check a package as a box would (exit 1 if refused)
  version                         print the SDK version

Keys are the base64 public keys keygen prints. Debian images are cached in --cache
(default $XDG_CACHE_HOME/hearth-sdk).`;

/**
 * Runs the `hearth-sdk` command line and returns the exit code: 0 done, 1 refused or
 * failed (one line plus a hint on stderr), 2 wrong usage.
 *
 * @example
 * process.exitCode = await runSdkCli(process.argv.slice(2), { sdkDir: path.resolve(import.meta.dirname, '..') });
 */
export async function runSdkCli(argv: string[], options: SdkCliOptions = {}): Promise<number> {
  const out = options.stdout ?? process.stdout;
  const err = options.stderr ?? process.stderr;
  const name = options.name ?? 'hearth-sdk';
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'init':
        return await init(rest, out, name);
      case 'keygen':
        return await keygenCommand(rest, out);
      case 'pack':
        return await pack(rest, out, err, options.sdkDir);
      case 'inspect':
        return await inspect(rest, out);
      case 'verify':
        return await verify(rest, out);
      case 'version':
      case '--version':
        out.write(`${SDK_VERSION}\n`);
        return EXIT.ok;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(`${HELP(name)}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`unknown command '${command}'`, { hint: `${name} help lists the commands` });
    }
  } catch (e) {
    err.write(`${describeSdkError(e, name)}\n`);
    if (e instanceof UsageError) return EXIT.usage;
    if (e instanceof SdkError) return EXIT.failed;
    return EXIT.internal;
  }
}

/**
 * One line for a person: `hearth-sdk: <message> — hint: <hint>`.
 *
 * @example
 * console.error(describeSdkError(e, 'hearth sdk'));
 */
export function describeSdkError(e: unknown, name = 'hearth-sdk'): string {
  if (e instanceof SdkError) return `${name}: ${e.message}${e.hint ? ` — hint: ${e.hint}` : ''}`;
  // node:util parseArgs throws TypeErrors with codes for unknown or malformed options.
  const code = (e as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    return `${name}: ${(e as Error).message} — hint: ${name} help lists the options`;
  }
  const detail = process.env['HEARTH_DEBUG'] && e instanceof Error ? `\n${e.stack}` : '';
  return `${name}: internal error: ${e instanceof Error ? e.message : String(e)}${detail}`;
}

function parse<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function init(args: string[], out: NodeJS.WritableStream, name: string): Promise<number> {
  const { positionals } = parse(args, {});
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw new UsageError('init needs one directory: init <dir>');
  const entries = await fs
    .readdir(dir)
    .catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  if (entries.length > 0)
    throw new SdkError('directory_not_empty', `${dir} is not empty`, {
      hint: 'init writes into a new or empty directory',
    });
  const base = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '');
  const id = /^[a-z][a-z0-9-]{1,62}$/.test(base) ? base : 'hello-world';
  for (const [file, text] of Object.entries(TEMPLATE as Record<string, string>)) {
    const target = path.join(dir, file);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, text.replaceAll('hello-world', id), { flag: 'wx' });
  }
  out.write(
    [
      `created package '${id}' in ${dir}`,
      '',
      'next:',
      `  ${name} keygen --out ~/.config/hearth/signing.key      (once; keep the key safe)`,
      `  ${name} pack ${dir} --key ~/.config/hearth/signing.key`,
      '',
      'edit hearth.package.ts (what the package is and does) and hearth.images.json (its root filesystem).',
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

async function keygenCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length) throw new UsageError('keygen takes no arguments (use --out FILE)');
  const file = values.out ?? 'hearth-signing.key';
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const { publicKey } = await keygen(file);
  if (values.json) out.write(`${JSON.stringify({ privateKeyFile: file, publicKey })}\n`);
  else out.write(`private key written to ${file} (mode 0600, keep it secret)\npublic key: ${publicKey}\n`);
  return EXIT.ok;
}

function defaultCacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(base, 'hearth-sdk');
}

async function pack(
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  sdkDir: string | undefined,
): Promise<number> {
  const { values, positionals } = parse(args, {
    key: { type: 'string' },
    out: { type: 'string' },
    unsigned: { type: 'boolean' },
    cache: { type: 'string' },
    verbose: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new UsageError('pack takes one package directory');
  if (!values.key && !values.unsigned) {
    throw new UsageError('pack needs --key FILE (or --unsigned for a package only you will install)', {
      hint: 'create a key with hearth-sdk keygen',
    });
  }
  if (values.key && values.unsigned) throw new UsageError('--key and --unsigned exclude each other');
  const key = values.key ? await loadSigningKey(values.key) : null;
  const result = await packDir({
    dir: positionals[0] ?? '.',
    out: values.out,
    key,
    cacheDir: values.cache ?? defaultCacheDir(),
    sdkDir,
    progress: (line) => err.write(`  ${line}\n`),
    ...(values.verbose ? { trace: (argv: string[]) => err.write(`  $ ${argv.join(' ')}\n`) } : {}),
  });
  if (values.json) {
    out.write(
      `${JSON.stringify({ file: result.file, size: result.size, ms: result.ms, signer: key?.publicKey ?? null })}\n`,
    );
  } else {
    out.write(
      `packed ${result.manifest.id} ${result.manifest.version}: ${result.file} (${formatBytes(result.size)}, ${result.ms} ms)` +
        `${key ? `, signed by ${key.publicKey}` : ', unsigned'}\n`,
    );
  }
  return EXIT.ok;
}

function describe(pkg: VerifiedHpk): string {
  const m = pkg.manifest;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const images = m.images
    .map((img) => {
      const sizes = img.architectures.map((a) => {
        const member = pkg.members.get(`images/${a}/${img.name}.squashfs`);
        return `${a} ${member ? formatBytes(member.size) : '?'}`;
      });
      return `${img.name} (${sizes.join(', ')})`;
    })
    .join('; ');
  const signer = !pkg.signer
    ? 'unsigned'
    : `signed by ${pkg.signer.publicKey} (${pkg.signer.trusted ? 'trusted' : 'not among the trusted keys given with --trust'})`;
  return [
    `${m.id} ${m.version} — ${m.title}`,
    `  ${m.description.short}`,
    `  license ${m.license}; ${m.architectures.join(', ')}; ${count(m.daemons.length, 'daemon')}, ${count(m.healthChecks.length, 'health check')}, ${count(m.actions.length, 'action')}, ${count(m.interfaces.length, 'interface')}, ${count(m.volumes.length, 'volume')}`,
    `  images: ${images}`,
    ...(m.dependencies.length
      ? [`  depends on: ${m.dependencies.map((d) => `${d.id} ${d.versionRange}`).join(', ')}`]
      : []),
    `  ${signer}`,
    `  ${formatBytes(pkg.fileSize)} in ${pkg.members.size} members, every digest checked`,
  ].join('\n');
}

function asJson(pkg: VerifiedHpk) {
  return {
    file: pkg.file,
    size: pkg.fileSize,
    signer: pkg.signer,
    members: [...pkg.members.values()],
    manifest: pkg.manifest,
  };
}

async function inspect(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parse(args, {
    trust: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('inspect needs one .hpk file');
  const trustedSigners = (values.trust ?? []).map(normalizePublicKey);
  const pkg = await readHpk(positionals[0]!, { trustedSigners, allowUntrusted: true });
  out.write(values.json ? `${JSON.stringify(asJson(pkg), null, 2)}\n` : `${describe(pkg)}\n`);
  return EXIT.ok;
}

async function verify(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parse(args, {
    trust: { type: 'string', multiple: true },
    arch: { type: 'string' },
    'allow-untrusted': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('verify needs one .hpk file');
  if (values.arch !== undefined && !ARCHITECTURES.includes(values.arch as Architecture)) {
    throw new UsageError(`--arch must be one of ${ARCHITECTURES.join(', ')}`);
  }
  if (!values.trust?.length && !values['allow-untrusted']) {
    throw new UsageError('verify needs at least one --trust KEY (or --allow-untrusted)');
  }
  const pkg = await readHpk(positionals[0]!, {
    trustedSigners: (values.trust ?? []).map(normalizePublicKey),
    allowUntrusted: values['allow-untrusted'] ?? false,
    ...(values.arch ? { arch: values.arch as Architecture } : {}),
  });
  if (values.json) {
    out.write(`${JSON.stringify({ ok: true, ...asJson(pkg) }, null, 2)}\n`);
  } else {
    const who = pkg.signer
      ? `signed by ${pkg.signer.publicKey}${pkg.signer.trusted ? ' (trusted)' : ' (NOT trusted)'}`
      : 'unsigned';
    out.write(`ok: ${pkg.manifest.id} ${pkg.manifest.version}, ${who}, ${pkg.members.size} members intact\n`);
  }
  return EXIT.ok;
}
