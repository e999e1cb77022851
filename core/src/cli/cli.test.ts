import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RpcError } from '../client/client.ts';
import { describeError, inCommandWords, splitGlobals } from './cli.ts';

test("the box's method names read as the commands that call them; other dotted words stay", () => {
  assert.equal(
    inCommandWords('use package.update for another version, or uninstall it first'),
    'use hearth package update for another version, or uninstall it first',
  );
  assert.equal(
    inCommandWords('log in with auth.login, or send a token'),
    'log in with hearth login, or send a token',
  );
  assert.equal(inCommandWords('see example.com or package.nothing'), 'see example.com or package.nothing');
});

test('an error from the box is said in commands, message and hint', () => {
  const e = new RpcError({
    code: -32000,
    message: 'hello-world is installed already',
    data: { code: 'conflict', hint: 'use package.update for another version' },
  });
  assert.equal(
    describeError(e),
    'hearth: hello-world is installed already — hint: use hearth package update for another version',
  );
});

test('hearth --version is the version command; after a command, --version is that command’s', () => {
  assert.deepEqual(splitGlobals(['--version']).rest, ['version']);
  assert.deepEqual(splitGlobals(['--json', '--version']).rest, ['version']);
  assert.deepEqual(splitGlobals(['package', 'get', '--version', '1']).rest, [
    'package',
    'get',
    '--version',
    '1',
  ]);
});
