/**
 * RFC 6902 JSON Patch, the subset the state document needs: `diff` produces add, remove
 * and replace operations between two JSON values; `applyPatch` applies them. Objects are
 * compared key by key; arrays that differ are replaced whole (the state document keys
 * its collections by id, so arrays stay small).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type PatchOp =
  | { op: 'add'; path: string; value: Json }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: Json };

const isObject = (v: unknown): v is { [key: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const escapePointer = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');
const unescapePointer = (token: string): string => token.replaceAll('~1', '/').replaceAll('~0', '~');

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]!));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k]!, b[k]!))
    );
  }
  return false;
}

export function diff(from: Json, to: Json, path = ''): PatchOp[] {
  if (isObject(from) && isObject(to)) {
    const ops: PatchOp[] = [];
    for (const key of Object.keys(from)) {
      if (!Object.hasOwn(to, key)) ops.push({ op: 'remove', path: `${path}/${escapePointer(key)}` });
    }
    for (const [key, value] of Object.entries(to)) {
      const at = `${path}/${escapePointer(key)}`;
      if (!Object.hasOwn(from, key)) ops.push({ op: 'add', path: at, value: structuredClone(value) });
      else ops.push(...diff(from[key]!, value, at));
    }
    return ops;
  }
  return deepEqual(from, to) ? [] : [{ op: 'replace', path, value: structuredClone(to) }];
}

export class PatchError extends Error {}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`bad JSON pointer '${path}'`);
  return path.slice(1).split('/').map(unescapePointer);
}

/** Applies a patch to a copy of `doc` and returns it; `doc` is left untouched. */
export function applyPatch(doc: Json, ops: readonly PatchOp[]): Json {
  let root = structuredClone(doc);
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    if (tokens.length === 0) {
      if (op.op === 'remove') throw new PatchError('cannot remove the document root');
      root = structuredClone(op.value);
      continue;
    }
    const last = tokens.pop()!;
    let parent: Json = root;
    for (const t of tokens) {
      const next: Json | undefined = Array.isArray(parent)
        ? parent[Number(t)]
        : isObject(parent) && Object.hasOwn(parent, t)
          ? parent[t]
          : undefined;
      if (next === undefined) throw new PatchError(`path ${op.path} does not exist`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) {
        throw new PatchError(`bad array index in ${op.path}`);
      }
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (op.op === 'remove') parent.splice(index, 1);
      else parent[index] = structuredClone(op.value);
    } else if (isObject(parent)) {
      if (op.op !== 'add' && !Object.hasOwn(parent, last))
        throw new PatchError(`path ${op.path} does not exist`);
      if (op.op === 'remove') delete parent[last];
      // defineProperty, not assignment: a key named __proto__ must stay plain data.
      else
        Object.defineProperty(parent, last, {
          value: structuredClone(op.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    } else {
      throw new PatchError(`path ${op.path} does not exist`);
    }
  }
  return root;
}
