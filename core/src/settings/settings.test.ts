import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  flagsToSettings,
  InvalidSetting,
  renderSettingsDocs,
  resolveSettings,
  SETTINGS,
  settingFlagOptions,
} from './settings.ts';

test('defaults apply when nothing is given', () => {
  const s = resolveSettings({});
  assert.equal(s.root, '/');
  assert.equal(s.port, 80);
  assert.equal(s.dev, false);
});

test('flags beat the environment, which beats the config file', () => {
  const s = resolveSettings({
    file: { port: 81, logLevel: 'warn', dev: true },
    env: { HEARTH_PORT: '82', HEARTH_LOG_LEVEL: 'debug' },
    flags: { port: '83' },
  });
  assert.equal(s.port, 83);
  assert.equal(s.logLevel, 'debug');
  assert.equal(s.dev, true);
});

test('a bad value names the setting and where it came from', () => {
  assert.throws(
    () => resolveSettings({ env: { HEARTH_PORT: 'eighty' } }),
    (e: unknown) => e instanceof InvalidSetting && /port from \$HEARTH_PORT/.test(e.message),
  );
  assert.throws(() => resolveSettings({ file: { port: 70000 } }), /port from the config file/);
  assert.throws(
    () => resolveSettings({ file: { nope: 1 } }),
    /nope from the config file is invalid: no such setting/,
  );
});

test('boolean settings accept the usual spellings', () => {
  assert.equal(resolveSettings({ env: { HEARTH_DEV: 'yes' } }).dev, true);
  assert.equal(resolveSettings({ env: { HEARTH_DEV: '0' } }).dev, false);
});

test('flag names map back to settings', () => {
  assert.deepEqual(flagsToSettings({ 'data-dir': '/d', port: '1' }), { dataDir: '/d', port: '1' });
});

test('every setting has a HEARTH_ variable, a flag and a description, and is in the docs', () => {
  const docs = renderSettingsDocs();
  for (const [name, spec] of Object.entries(SETTINGS)) {
    assert.match(spec.env, /^HEARTH_[A-Z_]+$/);
    assert.match(spec.flag, /^--[a-z-]+$/);
    assert.ok(spec.description.length > 10);
    assert.ok(docs.includes(`\`${name}\``));
  }
});

test('docs/settings.md is the generated reference (run `make docs` after changing a setting)', async () => {
  const { readFileSync } = await import('node:fs');
  const file = new URL('../../../docs/settings.md', import.meta.url);
  assert.equal(readFileSync(file, 'utf8'), renderSettingsDocs());
});

test('the health alert command is a JSON argv array, never a shell string', () => {
  assert.deepEqual(resolveSettings({}).healthAlertCommand, []);
  assert.deepEqual(
    resolveSettings({ env: { HEARTH_HEALTH_ALERT_COMMAND: '["/usr/local/bin/page-me", "--urgent"]' } })
      .healthAlertCommand,
    ['/usr/local/bin/page-me', '--urgent'],
  );
  assert.throws(
    () => resolveSettings({ env: { HEARTH_HEALTH_ALERT_COMMAND: 'page-me --urgent' } }),
    /JSON array of strings/,
  );
  assert.throws(
    () => resolveSettings({ env: { HEARTH_HEALTH_ALERT_COMMAND: '[]' } }),
    /JSON array of strings/,
  );
});

test('an older name of a setting still works everywhere, and the new name wins', () => {
  assert.equal(resolveSettings({ file: { mcpCallsPerMinute: 50 } }).callsPerMinute, 50);
  assert.equal(resolveSettings({ env: { HEARTH_MCP_CALLS_PER_MINUTE: '40' } }).callsPerMinute, 40);
  assert.equal(
    resolveSettings({ flags: flagsToSettings({ 'mcp-calls-per-minute': '30' }) }).callsPerMinute,
    30,
  );
  assert.equal(resolveSettings({ file: { mcpCallsPerMinute: 50, callsPerMinute: 70 } }).callsPerMinute, 70);
  assert.ok('mcp-calls-per-minute' in settingFlagOptions());
});
