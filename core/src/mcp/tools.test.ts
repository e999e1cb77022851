import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ToolSchema } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { METHODS } from '../rpc/methods.ts';
import type { Caller, MethodDef } from '../rpc/registry.ts';
import { CONFIRM_ARG, isTool, toolOf, toolsFor } from './tools.ts';

const methods = METHODS as readonly MethodDef[];
const token = (scope: 'read' | 'operate' | 'admin'): Caller => ({ kind: 'token', id: 't', name: 'n', scope });

test('every tool is a valid MCP tool whose schemas compile, with the method’s annotations', () => {
  const ajv = new AjvJsonSchemaValidator();
  for (const m of methods.filter(isTool)) {
    const tool = toolOf(m);
    assert.doesNotThrow(() => ToolSchema.parse(tool), m.name);
    ajv.getValidator(tool.inputSchema);
    if (tool.outputSchema) ajv.getValidator(tool.outputSchema);
    assert.deepEqual(
      [tool.annotations.readOnlyHint, tool.annotations.destructiveHint, tool.annotations.idempotentHint],
      [m.annotations.readOnly, m.annotations.destructive, m.annotations.idempotent],
    );
    const props = tool.inputSchema['properties'] as Record<string, unknown>;
    assert.equal(
      CONFIRM_ARG in props,
      m.annotations.destructive,
      `${m.name}: confirm only where destructive`,
    );
  }
});

test('setup methods, logging in and out, and WebSocket-only methods are not tools', () => {
  const not = methods.filter((m) => !isTool(m)).map((m) => m.name);
  const setup = methods.filter((m) => m.access === 'setup').map((m) => m.name);
  assert.deepEqual(
    not.sort(),
    [...setup, 'auth.login', 'auth.logout', 'state.subscribe', 'stream.cancel'].sort(),
  );
});

test('a caller sees the tools of its scope; in setup mode only public ones', () => {
  const names = (caller: Caller, setup = false) => toolsFor(methods, caller, setup).map((t) => t.name);
  assert.ok(
    names(token('read')).every((n) => ['public', 'read'].includes(methods.find((m) => m.name === n)!.access)),
  );
  assert.ok(names(token('operate')).includes('package.restart'));
  assert.ok(!names(token('operate')).includes('package.uninstall'));
  assert.ok(names({ kind: 'session', id: 's' }).includes('package.uninstall'));
  assert.deepEqual(names({ kind: 'anonymous' }), names(token('admin'), true));
  assert.ok(
    names({ kind: 'local' }, true).every((n) => methods.find((m) => m.name === n)!.access === 'public'),
  );
});
