import type { Json, PatchOp } from '../state/json-patch.ts';

/**
 * The state document as MCP resources. `hearth://state` is the whole public document; a
 * path below it names the part at that path (`hearth://state/packages/hello-world`), so a
 * resource and a JSON Patch path are one thing and a patch tells which resources changed.
 * A package's logs are a template, `hearth://packages/{id}/logs`, read through package.logs.
 */
export const STATE_URI = 'hearth://state';
export const LOGS_TEMPLATE = 'hearth://packages/{id}/logs';
const LOGS = /^hearth:\/\/packages\/([a-z][a-z0-9-]{1,62})\/logs$/;

export interface ResourceInfo {
  uri: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
}

export type Target = { kind: 'state'; path: string[] } | { kind: 'logs'; id: string };

/** What a `hearth://` URI names, or undefined for one that names nothing. */
export function parseUri(uri: string): Target | undefined {
  const logs = LOGS.exec(uri);
  if (logs) return { kind: 'logs', id: logs[1]! };
  if (uri === STATE_URI) return { kind: 'state', path: [] };
  if (!uri.startsWith(`${STATE_URI}/`)) return undefined;
  const path = uri.slice(STATE_URI.length + 1).split('/');
  if (path.some((s) => s === '')) return undefined;
  try {
    return { kind: 'state', path: path.map(decodeURIComponent) };
  } catch {
    return undefined;
  }
}

export const stateUri = (path: readonly string[]): string =>
  [STATE_URI, ...path.map(encodeURIComponent)].join('/');

/** The part of the document at `path`, or undefined where there is none. */
export function select(doc: Json, path: readonly string[]): Json | undefined {
  let node: Json | undefined = doc;
  for (const key of path) {
    if (!node || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key))
      return undefined;
    node = node[key];
  }
  return node;
}

/** The resources to list: the document, its main parts, and each installed package. */
export function listResources(doc: Json): ResourceInfo[] {
  const json = 'application/json';
  const packages = select(doc, ['packages']);
  const ids =
    packages && typeof packages === 'object' && !Array.isArray(packages) ? Object.keys(packages) : [];
  return [
    {
      uri: STATE_URI,
      name: 'state',
      title: 'The whole box',
      description:
        'The public state document: server, packages (status and health), notifications, metrics. ' +
        'Subscribe to hear of every change.',
      mimeType: json,
    },
    {
      uri: stateUri(['server']),
      name: 'server',
      title: 'Server',
      description: 'Hostname, version, architecture, boot id, whether setup is complete.',
      mimeType: json,
    },
    {
      uri: stateUri(['packages']),
      name: 'packages',
      title: 'Packages',
      description: 'Every installed service package by id, with status and health checks.',
      mimeType: json,
    },
    {
      uri: stateUri(['notifications']),
      name: 'notifications',
      title: 'Notifications',
      description: 'The newest notifications for the owner and how many are unseen.',
      mimeType: json,
    },
    {
      uri: stateUri(['metrics']),
      name: 'metrics',
      title: 'Metrics',
      description: 'CPU, memory, disk and temperature, refreshed periodically.',
      mimeType: json,
    },
    ...ids.map((id) => ({
      uri: stateUri(['packages', id]),
      name: `package ${id}`,
      title: `Package ${id}`,
      description: `The service package ${id}: version, desired and observed status, health checks.`,
      mimeType: json,
    })),
  ];
}

/** JSON Pointer (RFC 6901) → path segments. */
export function pointerPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const isPrefix = (a: readonly string[], b: readonly string[]): boolean =>
  a.length <= b.length && a.every((s, i) => s === b[i]);

/**
 * Which of `uris` a patch changed: a state resource changed when an operation touched its
 * path, something inside it, or something it is inside of.
 */
export function changedBy(patch: readonly PatchOp[], uris: Iterable<string>): string[] {
  const touched = patch.map((op) => pointerPath(op.path));
  const out: string[] = [];
  for (const uri of uris) {
    const t = parseUri(uri);
    if (t?.kind !== 'state') continue;
    if (touched.some((p) => isPrefix(p, t.path) || isPrefix(t.path, p))) out.push(uri);
  }
  return out;
}

/** Whether a patch adds or removes a package, which changes the list of resources. */
export const changesPackageList = (patch: readonly PatchOp[]): boolean =>
  patch.some((op) => {
    const p = pointerPath(op.path);
    if (p.length === 0 || (p.length === 1 && p[0] === 'packages')) return true;
    return p.length === 2 && p[0] === 'packages' && op.op !== 'replace';
  });
