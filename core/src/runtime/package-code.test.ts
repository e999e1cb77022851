import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HearthError } from '../errors.ts';
import { loadPackageCode, packageError } from './package-code.ts';

test('packageError: the code package code gave, if usable; its message; never instanceof', () => {
  const own = Object.assign(new Error('input of greet: name: too short'), { code: 'action_input_invalid' });
  assert.deepEqual(
    [packageError(own).code, packageError(own).message],
    ['action_input_invalid', 'input of greet: name: too short'],
  );
  const hinted = packageError(Object.assign(new Error('no'), { code: 'not_ready', hint: 'wait' }));
  assert.equal(hinted.hint, 'wait');
  assert.equal(packageError(new TypeError('x is undefined')).code, 'package_code_failed');
  assert.equal(
    packageError(Object.assign(new Error('e'), { code: 'Not A Code' })).code,
    'package_code_failed',
  );
  assert.equal(packageError(Object.assign(new Error('e'), { code: 42 })).code, 'package_code_failed');
  assert.equal(packageError('thrown string').message, 'thrown string');
  assert.equal(packageError(null).code, 'package_code_failed');
  const ours = new HearthError('host_unavailable', 'x');
  assert.equal(packageError(ours), ours);
  assert.ok(packageError(new Error('m'.repeat(5000))).message.length <= 1000);
});

test('loadPackageCode: refuses what is not a package definition, saying why', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-code-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  assert.throws(() => loadPackageCode(path.join(dir, 'missing.js')), { code: 'package_code_invalid' });
  assert.throws(() => loadPackageCode(file('syntax.js', 'exports.default = {')), {
    code: 'package_code_invalid',
  });
  assert.throws(() => loadPackageCode(file('other.js', 'exports.default = { kind: "x" };')), {
    code: 'package_code_invalid',
    message: /does not export a package definition/,
  });
  assert.throws(
    () =>
      loadPackageCode(
        file('future.js', 'exports.default = { kind: "hearth-package", definitionVersion: 2 };'),
      ),
    { code: 'package_code_invalid', message: /definition format \(2\)/ },
  );
});
