import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseBootRequest, REQUEST_FILE, takeBootRequest } from './boot-request.ts';

test('what an owner may write, as a text editor on any computer saves it', () => {
  assert.deepEqual(parseBootRequest('\uFEFF# reset\r\nnew-password =  a long pass = phrase  \r\n'), {
    newPassword: 'a long pass = phrase',
    factoryReset: false,
  });
  assert.deepEqual(parseBootRequest('Factory-Reset = YES\n'), { factoryReset: true });
  assert.match((parseBootRequest('just my password') as { error: string }).error, /name = value/);
  assert.match((parseBootRequest('factory-reset = sure') as { error: string }).error, /yes or no/);
  assert.match((parseBootRequest('colour = blue') as { error: string }).error, /unknown setting/);
  assert.match((parseBootRequest('# nothing\n') as { error: string }).error, /asks for nothing/);
});

test('the request is taken once: read, deleted, and nothing when there is none', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-boot-'));
  try {
    assert.equal(takeBootRequest(dir), undefined);
    fs.writeFileSync(path.join(dir, REQUEST_FILE), 'factory-reset = yes\n');
    assert.deepEqual(takeBootRequest(dir), { factoryReset: true });
    assert.equal(fs.existsSync(path.join(dir, REQUEST_FILE)), false);
    assert.equal(takeBootRequest(dir), undefined);
    fs.writeFileSync(path.join(dir, REQUEST_FILE), 'x'.repeat(5000));
    assert.match((takeBootRequest(dir) as { error: string }).error, /larger than/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
