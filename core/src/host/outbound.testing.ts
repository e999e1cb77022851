import assert from 'node:assert/strict';
import { SendFailed } from './outbound.ts';

/** For tests of what leaves the box: a rejection with this code (and permanence, message). */
export const failsWith =
  (code: string, o: { permanent?: boolean; message?: RegExp } = {}) =>
  (e: unknown) => {
    assert.ok(e instanceof SendFailed, String(e));
    assert.equal(e.code, code, e.message);
    if (o.permanent !== undefined) assert.equal(e.permanent, o.permanent, e.message);
    if (o.message) assert.match(e.message, o.message);
    return true;
  };
