import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runSdkCli } from '#sdk/cli.ts';
import { HearthClient, RpcError } from '../client/client.ts';
import { type NodeTarget, nodeTransport, uploadFile } from '../client/node-transport.ts';
import { WsClient } from '../client/ws-client.ts';
import { HearthError } from '../errors.ts';
import { makePaths } from '../paths.ts';
import { describeMethod, jsonSchemaOf } from '../rpc/discover.ts';
import { METHODS } from '../rpc/methods.ts';
import type { MethodDef } from '../rpc/registry.ts';
import { renderSettingsDocs } from '../settings/settings.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import type { ContainerRow, ServerStatus } from '../status/status.ts';
import { COMMIT, VERSION } from '../version.ts';
import {
  checkRequired,
  closest,
  mainParam,
  type ParamInfo,
  paramsOf,
  parseParams,
  UsageError,
} from './args.ts';
import { describeError } from './describe.ts';
import { formatResult } from './format.ts';
import { renderPs, renderStatus } from './operator.ts';
import { confirm, promptSecret } from './prompt.ts';
import { forgetSession, resolveTarget, saveSession } from './target.ts';
import { printable, printableStream } from './terminal.ts';

const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 69, internal: 70 } as const;

interface Globals {
  json: boolean;
  help: boolean;
  host: string | undefined;
  token: string | undefined;
  root: string;
  runtimeDir: string | undefined;
  /** --yes: no question before a destructive command. */
  yes: boolean;
}

/** The front door of every command but `daemon`: returns the exit code. */
export async function runCli(
  argv: string[],
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  // What the box says is not the CLI's to trust: no escape sequence reaches the terminal.
  const out = printableStream(stdout);
  const err = printableStream(stderr);
  try {
    const { globals, rest } = splitGlobals(argv);
    return await dispatch(rest, globals, out);
  } catch (e) {
    err.write(`${describeError(e)}\n`);
    if (e instanceof UsageError) return EXIT.usage;
    if ((e instanceof HearthError || e instanceof RpcError) && e.code === 'unreachable')
      return EXIT.unavailable;
    if (e instanceof HearthError || e instanceof RpcError) return EXIT.failed;
    return EXIT.internal;
  }
}

export { describeError, inCommandWords } from './describe.ts';

/** Takes the CLI's own flags out of argv; a method param may not share a name with one (args.test.ts). */
export function splitGlobals(argv: string[]): { globals: Globals; rest: string[] } {
  const globals: Globals = {
    json: false,
    help: false,
    yes: false,
    // An empty variable counts as unset.
    host: process.env['HEARTH_HOST'] || undefined,
    token: process.env['HEARTH_TOKEN'] || undefined,
    root: process.env['HEARTH_ROOT'] || '/',
    runtimeDir: process.env['HEARTH_RUNTIME_DIR'] || undefined,
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--json') globals.json = true;
    else if (flag === '--yes' || flag === '-y') globals.yes = true;
    else if (flag === '--help' || flag === '-h') globals.help = true;
    else if (flag === '--host') globals.host = value();
    else if (flag === '--token') globals.token = value();
    else if (flag === '--root') globals.root = value();
    else if (flag === '--runtime-dir') globals.runtimeDir = value();
    // `hearth --version`, as most commands have it: the `version` command.
    else if (flag === '--version' && rest.length === 0) rest.push('version');
    else rest.push(a);
  }
  return { globals, rest };
}

async function dispatch(args: string[], g: Globals, out: NodeJS.WritableStream): Promise<number> {
  const [first, ...more] = args;
  switch (first) {
    case undefined:
      out.write(topHelp());
      return g.help ? EXIT.ok : EXIT.usage;
    case 'help':
      out.write(topHelp());
      return EXIT.ok;
    case 'version':
      out.write(
        g.json
          ? `${JSON.stringify({ version: VERSION, commit: COMMIT, node: process.version, arch: process.arch })}\n`
          : `hearth ${VERSION} (${COMMIT}) node ${process.version} ${process.arch}\n`,
      );
      return EXIT.ok;
    case 'settings':
      out.write(renderSettingsDocs());
      return EXIT.ok;
    case 'db':
      return dbCommand(more, g, out);
    case 'sdk':
      // The package author's tools, also in the box's binary (pack needs esbuild: use hearth-sdk).
      // --json was taken as a global flag: the SDK's commands take it as their own.
      return runSdkCli(g.json && ['inspect', 'verify'].includes(more[0] ?? '') ? [...more, '--json'] : more, {
        name: 'hearth sdk',
        stdout: out,
      });
    case 'login':
      return login(g, out);
    case 'logout':
      return logout(g, out);
    // The operator's view, shaped for reading (with --json, the methods' answers).
    case 'status':
    case 'ps': {
      const method = methodNamed(first === 'status' ? 'server.status' : 'server.ps');
      if (g.help) {
        out.write(methodHelp(method));
        return EXIT.ok;
      }
      return callMethod(method, more, g, out, (r) =>
        first === 'status' ? renderStatus(r as ServerStatus) : renderPs(r as ContainerRow[]),
      );
    }
    case 'mcp': {
      // Loaded only here: the MCP SDK would slow every other command's start.
      const { MCP_HELP, runMcpBridge } = await import('../mcp/bridge.ts');
      if (g.help) {
        out.write(MCP_HELP);
        return EXIT.ok;
      }
      await runMcpBridge(() => resolveTarget(g), {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
      });
      return EXIT.ok;
    }
  }
  const words = args.filter(
    (a, i) => !a.startsWith('-') && args.slice(0, i).every((b) => !b.startsWith('-')),
  );
  // The longest run of words that names a method; a word after it is its main param's value.
  let named = words.length;
  while (named > 0 && !METHODS.some((m) => m.name === words.slice(0, named).join('.'))) named--;
  const method = named > 0 ? (methodNamed(words.slice(0, named).join('.')) as MethodDef) : undefined;
  if (!method) {
    const group = METHODS.filter((m) => m.name.startsWith(`${words.join('.')}.`));
    if (group.length > 0) {
      out.write(groupHelp(words, group as MethodDef[]));
      return g.help ? EXIT.ok : EXIT.usage;
    }
    const commands = [...METHODS.map((m) => m.name.replaceAll('.', ' ')), ...OWN_COMMANDS];
    // Compared over as many words as each command has: `package instal x.hpk` is still near.
    const near = closestCommand(words, commands);
    throw new UsageError(
      `unknown command '${words.join(' ')}'${near ? ` — did you mean 'hearth ${near}'?` : ''}`,
      'hearth --help lists the commands',
    );
  }
  if (g.help) {
    out.write(methodHelp(method));
    return EXIT.ok;
  }
  return callMethod(method, args.slice(named), g, out);
}

/** The CLI's own commands, beside the registry's methods. */
const OWN_COMMANDS = ['help', 'version', 'settings', 'db', 'sdk', 'login', 'logout', 'status', 'ps', 'mcp'];

function closestCommand(words: string[], commands: string[]): string | undefined {
  let best: string | undefined;
  for (let n = Math.min(words.length, 4); n > 0 && !best; n--) {
    best = closest(
      words.slice(0, n).join(' '),
      commands.filter((c) => c.split(' ').length === n),
    );
  }
  return best;
}

const methodNamed = (name: string) => METHODS.find((m) => m.name === name) as MethodDef;

async function callMethod(
  method: MethodDef,
  flags: string[],
  g: Globals,
  out: NodeJS.WritableStream,
  format: (result: unknown) => string = formatResult,
): Promise<number> {
  const info = paramsOf(jsonSchemaOf(method.params, 'input'));
  const params = parseParams(flags, info);
  const command = `hearth ${method.name.replaceAll('.', ' ')}`;
  checkRequired(params, info, command);
  // A person at a terminal is asked before what cannot be undone; scripts (no terminal)
  // and --yes are not. The MCP surface asks through its client instead.
  if (method.annotations.destructive && !g.yes && process.stdin.isTTY && process.stderr.isTTY) {
    const main = mainParam(info);
    const what = main && params[main.key] !== undefined ? ` ${printable(String(params[main.key]))}` : '';
    if (
      !(await confirm(
        `${command}${what}: ${printable(method.description.split(/(?<=\.) /)[0] ?? '')} Go ahead? [y/N] `,
      ))
    )
      throw new UsageError('nothing was done', 'answer y to go ahead, or give --yes');
  }
  for (const p of info) {
    if (p.secret && p.required && params[p.key] === undefined) {
      params[p.key] = await promptSecret(`${p.key === 'new' ? 'New password' : capitalise(p.key)}: `);
    }
  }
  const target = resolveTarget(g);
  for (const p of info) {
    const v = params[p.key];
    if (!p.boxPath || typeof v !== 'string') continue;
    // On the box, a relative path means one relative to where the command runs; talking
    // to another box, a local file travels as an upload where the method takes one.
    if (!g.host) {
      if (!v.startsWith('/')) params[p.key] = path.resolve(v);
    } else if (p.uploadAs) {
      if (!fs.existsSync(v)) {
        throw new UsageError(
          `there is no file ${v} on this machine`,
          'with --host, the file is uploaded from here',
        );
      }
      delete params[p.key];
      params[p.uploadAs] = (await uploadFile(target, v, uploadMeter(v))).upload;
    }
  }
  const resultSchema = jsonSchemaOf(method.result, 'output');
  const streams = 'stream' in ((resultSchema['properties'] ?? {}) as object);
  const follows = streams && (params['follow'] === true || !info.some((p) => p.key === 'follow'));
  if (follows) return follow(method.name, params, target, g, out);
  const result = await new HearthClient(nodeTransport(target)).callRaw(method.name, params);
  out.write(g.json ? `${JSON.stringify(result, null, 2)}\n` : format(result));
  return EXIT.ok;
}

/** Shows an upload's progress on a terminal; silent otherwise. */
function uploadMeter(file: string): ((sent: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  return (sent, total) => {
    process.stderr.write(`\ruploading ${printable(path.basename(file))}: ${mib(sent)} of ${mib(total)} MiB`);
    if (sent === total) process.stderr.write('\n');
  };
}

/** Calls over /ws and prints the stream the method opens until it ends or Ctrl-C. */
async function follow(
  name: string,
  params: Record<string, unknown>,
  target: NodeTarget,
  g: Globals,
  out: NodeJS.WritableStream,
): Promise<number> {
  const ws = await WsClient.connect(target);
  const result = (await ws.call(name, params)) as { stream: string; entries?: unknown[]; lines?: unknown[] };
  const print = (item: unknown) => out.write(g.json ? `${JSON.stringify(item)}\n` : `${oneLine(item)}\n`);
  // What there was already (server.logs: entries; package.logs: lines), then what comes.
  for (const e of result.entries ?? result.lines ?? []) print(e);
  await new Promise<void>((resolve) => {
    ws.onStream(result.stream, print, (reason) => {
      if (reason) process.stderr.write(`hearth: ${printable(reason.message)}\n`);
      resolve();
    });
    process.once('SIGINT', resolve);
    void ws.closed.then(() => resolve());
  });
  await ws.close();
  return EXIT.ok;
}

function oneLine(item: unknown): string {
  if (item === null || typeof item !== 'object') return String(item);
  return Object.entries(item as Record<string, unknown>)
    .map(([k, v]) =>
      k === 'time' && typeof v === 'number'
        ? new Date(v).toISOString()
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v),
    )
    .join(' ');
}

async function login(g: Globals, out: NodeJS.WritableStream): Promise<number> {
  if (!g.host) throw new UsageError('login needs --host', 'on the box itself, root needs no login');
  const password = await promptSecret('Password: ');
  const client = new HearthClient(nodeTransport({ url: g.host }));
  const s = await client.call('auth.login', { password }).catch(async (e: unknown) => {
    if (!(e instanceof RpcError && e.code === 'second_factor_required')) throw e;
    const code = await promptSecret('Code from your authenticator app (or a recovery code): ');
    return client.call('auth.login', { password, code });
  });
  saveSession(g.host, { token: s.token, expiresAt: s.expiresAt });
  out.write(
    g.json
      ? `${JSON.stringify({ sessionId: s.sessionId, expiresAt: s.expiresAt })}\n`
      : `logged in to ${g.host}\n`,
  );
  return EXIT.ok;
}

async function logout(g: Globals, out: NodeJS.WritableStream): Promise<number> {
  if (!g.host) throw new UsageError('logout needs --host');
  const client = new HearthClient(nodeTransport(resolveTarget(g)));
  try {
    await client.call('auth.logout');
  } finally {
    forgetSession(g.host);
  }
  out.write(g.json ? '{"ok":true}\n' : `logged out of ${g.host}\n`);
  return EXIT.ok;
}

/** Opens the database under --root and brings its schema up to date (offline). */
function dbCommand(args: string[], g: Globals, out: NodeJS.WritableStream): number {
  if (args[0] !== 'migrate') throw new UsageError('unknown db command', 'hearth db migrate [--root DIR]');
  const { values } = parseArgs({ args: args.slice(1), options: { 'data-dir': { type: 'string' } } });
  const paths = makePaths(g.root, { dataDir: values['data-dir'] });
  fs.mkdirSync(paths.dataDir, { recursive: true });
  const db = openDatabase(paths.database);
  try {
    const r = migrate(db, MIGRATIONS, paths.database);
    out.write(
      g.json
        ? `${JSON.stringify({ database: paths.database, ...r })}\n`
        : `database ${paths.database}: schema ${r.from} → ${r.to}\n`,
    );
  } finally {
    db.close();
  }
  return EXIT.ok;
}

// --- help ------------------------------------------------------------------

const firstSentence = (s: string) => s.split(/(?<=\.)\s/)[0] ?? s;
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function topHelp(): string {
  const groups = new Map<string, number>();
  for (const m of METHODS) groups.set(m.name.split('.')[0]!, (groups.get(m.name.split('.')[0]!) ?? 0) + 1);
  return [
    'Usage: hearth <command> [flags]',
    '',
    'Commands of the box (generated from its API; `hearth <group> --help` lists them):',
    ...[...groups].map(([g, n]) => `  ${g.padEnd(14)} ${n} command${n === 1 ? '' : 's'}`),
    '',
    'Other commands:',
    '  status         what needs attention: drift, crash loops, failing checks, recent events',
    '  ps             every container on the box now, with uptime and memory',
    '  daemon         run the Hearth daemon (also as `hearthd`); `hearth settings` lists its flags',
    '  sdk            package author tools: init, keygen, inspect, verify (pack: hearth-sdk)',
    '  login          log in to a box given with --host; the session is kept in ~/.config/hearth',
    '  logout         end that session',
    '  mcp            an MCP server on stdin/stdout for desktop AI clients, forwarding to the box',
    '  settings       print the reference of every daemon setting',
    '  db migrate     bring the database under --root up to date',
    '  version        print the version',
    '',
    'Flags for every command:',
    '  --json               print the result as JSON',
    '  --host URL           talk to another box (default: this box, over its local socket)',
    '  --token TOKEN        use an API token (or $HEARTH_TOKEN)',
    '  --root DIR           the root the local daemon runs under (default /, or $HEARTH_ROOT)',
    '  --yes, -y            do not ask before a command that cannot be undone',
    '  --help               explain a command',
    '',
  ].join('\n');
}

function groupHelp(words: string[], methods: MethodDef[]): string {
  const rows = methods.map((m) => [m.name.split('.').join(' '), firstSentence(m.description)] as const);
  const width = Math.max(...rows.map(([c]) => c.length));
  return [
    `Usage: hearth ${words.join(' ')} <command> [flags]`,
    '',
    ...rows.map(([c, d]) => `  ${c.padEnd(width)}  ${d}`),
    '',
  ].join('\n');
}

function methodHelp(m: MethodDef): string {
  const params = paramsOf(jsonSchemaOf(m.params, 'input'));
  const d = describeMethod(m);
  const flag = (p: ParamInfo) => {
    const value = p.type === 'boolean' ? '' : p.enum ? ` ${p.enum.join('|')}` : ` <${p.type}>`;
    const notes = [
      p.required ? 'required' : undefined,
      p.default !== undefined ? `default ${JSON.stringify(p.default)}` : undefined,
      p.secret ? 'asked for if not given' : undefined,
    ].filter(Boolean);
    return `  ${`${p.flag}${value}`.padEnd(30)} ${p.description ?? ''}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  };
  return [
    `Usage: hearth ${m.name.split('.').join(' ')}${params.length ? ' [flags]' : ''}`,
    '',
    m.description,
    '',
    `Access: ${m.access}${d['x-annotations'].destructive ? ' — destructive' : ''}${d['x-annotations'].readOnly ? ' — read-only' : ''}`,
    ...(params.length
      ? ['', 'Flags:', ...params.map(flag), `  ${'--params <json>'.padEnd(30)} all params as one JSON object`]
      : []),
    '',
  ].join('\n');
}
