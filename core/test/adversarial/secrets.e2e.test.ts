import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jsonSchemaOf } from '../../src/rpc/discover.ts';
import { METHODS } from '../../src/rpc/methods.ts';
import { setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';
import { call, rpc } from './http.ts';

type Schema = { properties?: Record<string, Schema>; 'x-secret'?: boolean };

/** The names of a method's secret params (top level: where the registry puts them). */
const secretParams = (schema: Schema): string[] =>
  Object.entries(schema.properties ?? {})
    .filter(([, s]) => s['x-secret'])
    .map(([k]) => k);

/**
 * Every param marked secret, of every method, and the secret fields of package action
 * input, sent with a recognisable value by an admin and by an anonymous caller, in calls
 * that succeed and fail: the value must appear in neither the audit log nor the log file.
 */
describe('secrets in calls', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    await setUp(d);
  });
  after(() => d.cleanup());

  test('never reach the audit log or the log file', async () => {
    const sentinels: string[] = [];
    const sentinel = () => {
      const s = `sentinel-${sentinels.length}-${'q'.repeat(12)}`;
      sentinels.push(s);
      return s;
    };
    const withSecrets = METHODS.map(
      (m) => [m.name, secretParams(jsonSchemaOf(m.params, 'input') as Schema)] as const,
    ).filter(([, keys]) => keys.length > 0);
    assert.ok(withSecrets.length >= 3, `secret params found in ${withSecrets.map(([m]) => m).join(', ')}`);
    for (const [method, keys] of withSecrets) {
      for (const bearer of [d.localToken, undefined]) {
        const params = Object.fromEntries(keys.map((k) => [k, sentinel()]));
        await rpc(d.port, call(1, method, params), {
          headers: { 'X-Hearth-Request': '1', ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
        });
        // The same with a param too many: refused by validation, still audited.
        await rpc(
          d.port,
          call(2, method, { ...Object.fromEntries(keys.map((k) => [k, sentinel()])), extra: 1 }),
          {
            headers: bearer ? { Authorization: `Bearer ${bearer}` } : {},
          },
        );
      }
    }
    // A package action's input: secrets by the package's schema, or by their names when
    // the package is not known.
    await rpc(
      d.port,
      call(3, 'package.action.run', {
        id: 'radicale',
        action: 'set-password',
        input: { user: 'anna', password: sentinel(), nested: { apiToken: sentinel() } },
      }),
      { headers: { Authorization: `Bearer ${d.localToken}` } },
    );
    const audit = await d.client({ bearer: d.localToken }).call('audit.list', { limit: 1000 });
    const auditText = JSON.stringify(audit);
    assert.ok(audit.length > withSecrets.length, 'the calls were audited');
    const log = fs.readFileSync(path.join(d.root, 'var/log/hearth/hearth.log'), 'utf8');
    for (const s of sentinels) {
      assert.ok(!auditText.includes(s), `${s} is in the audit log`);
      assert.ok(!log.includes(s), `${s} is in the log file`);
    }
    assert.match(auditText, /\[redacted\]/);
  });
});
