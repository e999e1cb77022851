import { checkAccess } from '../auth/access.ts';
import { HearthError } from '../errors.ts';
import { type JsonSchema, jsonSchemaOf } from '../rpc/discover.ts';
import type { Caller, MethodDef } from '../rpc/registry.ts';

/** An MCP tool as `tools/list` describes it. */
export interface Tool {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonSchema & { type: 'object' };
  outputSchema?: JsonSchema & { type: 'object' };
  annotations: {
    title: string;
    readOnlyHint: boolean;
    destructiveHint: boolean;
    idempotentHint: boolean;
    openWorldHint: boolean;
  };
}

/** The argument a destructive tool takes when the client cannot ask the person itself. */
export const CONFIRM_ARG = 'confirm';

const CONFIRM_NOTE =
  'Destructive: the person must agree first. A client that supports elicitation asks them when you call; ' +
  'otherwise ask them yourself, and call with `confirm: true` only once they have said yes.';

/**
 * Whether a method is offered as a tool. Setup-mode methods and logging in and out are for
 * people at the wizard or the login page (an agent comes with its API token), and methods
 * whose params or result require a `stream` only work on a connection that carries streams
 * (the WebSocket): the state subscription has MCP's own form, resources/subscribe.
 */
export function isTool(m: MethodDef): boolean {
  if (m.access === 'setup' || m.name === 'auth.login' || m.name === 'auth.logout') return false;
  return !requires(toolOf(m).inputSchema, 'stream') && !requires(schemaOfResult(m), 'stream');
}

const requires = (schema: JsonSchema, key: string): boolean =>
  Array.isArray(schema['required']) && (schema['required'] as string[]).includes(key);

const resultSchemas = new WeakMap<MethodDef, JsonSchema>();
function schemaOfResult(m: MethodDef): JsonSchema {
  let s = resultSchemas.get(m);
  if (!s) {
    s = jsonSchemaOf(m.result, 'output');
    resultSchemas.set(m, s);
  }
  return s;
}

/** Whether `caller` may call `m` now: the same access table as every other surface. */
export function mayCall(m: MethodDef, caller: Caller, setupMode: boolean): boolean {
  try {
    checkAccess(m.access, caller, setupMode);
    return true;
  } catch (e) {
    if (e instanceof HearthError) return false;
    throw e;
  }
}

const tools = new WeakMap<MethodDef, Tool>();

/** The tool of one method: its schemas, its description and its annotations carried over. */
export function toolOf(m: MethodDef): Tool {
  const cached = tools.get(m);
  if (cached) return cached;
  const input = jsonSchemaOf(m.params, 'input') as JsonSchema & { type: 'object' };
  const destructive = m.annotations.destructive;
  if (destructive) {
    input['properties'] = {
      ...(input['properties'] as object),
      [CONFIRM_ARG]: {
        type: 'boolean',
        description: 'true once the person has agreed to this (needed where the client cannot ask them)',
      },
    };
  }
  const output = schemaOfResult(m);
  const title = titleOf(m.name);
  const tool: Tool = {
    name: m.name,
    title,
    description: [m.description, `Needs: ${m.access} access.`, ...(destructive ? [CONFIRM_NOTE] : [])].join(
      '\n\n',
    ),
    inputSchema: input,
    // MCP's structured content is an object; results of other shapes travel as text only.
    ...(output['type'] === 'object' ? { outputSchema: output as JsonSchema & { type: 'object' } } : {}),
    annotations: {
      title,
      readOnlyHint: m.annotations.readOnly,
      destructiveHint: destructive,
      idempotentHint: m.annotations.idempotent,
      openWorldHint: m.annotations.openWorld,
    },
  };
  tools.set(m, tool);
  return tool;
}

/** `package.action.run` → `Package action run`. */
function titleOf(name: string): string {
  const words = name.split(/[.-]/).join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The tools `caller` sees: every tool of the registry it may call now, by name. */
export function toolsFor(methods: readonly MethodDef[], caller: Caller, setupMode: boolean): Tool[] {
  return methods.filter((m) => isTool(m) && mayCall(m, caller, setupMode)).map(toolOf);
}
