import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManifestInvalid } from './errors.ts';
import { parseManifest, safeParseManifest } from './manifest.ts';
import { sampleManifest } from './testing/fixtures.ts';

function issuesOf(value: unknown): string[] {
  const r = safeParseManifest(value);
  assert.equal(r.ok, false, 'expected the manifest to be refused');
  return r.ok ? [] : r.issues;
}

describe('manifest', () => {
  test('a valid manifest parses, with defaults filled in', () => {
    const m = parseManifest(sampleManifest());
    assert.equal(m.id, 'hello-world');
    assert.deepEqual(m.daemons[0]!.requires, []);
    assert.deepEqual(m.daemons[0]!.env, {});
    assert.deepEqual(m.healthChecks[0], {
      id: 'web',
      name: 'Web page',
      kind: 'http',
      url: 'http://127.0.0.1:8080/',
      expectStatus: 200,
      intervals: { startingSeconds: 2, healthySeconds: 30 },
      timeoutSeconds: 5,
    });
  });

  test('each problem names its field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 'Hello' }, "id: must be 2-63 lowercase letters, digits and '-', starting with a letter"],
      [{ id: 'a' }, 'id: must be 2-63'],
      [{ version: '1.2' }, 'version: must be a semantic version'],
      [
        { description: { short: 'x'.repeat(81), long: 'y' } },
        'description.short: must be at most 80 characters',
      ],
      [{ description: { short: 'x' } }, 'description.long: is required'],
      [{ license: 'MIT and stuff' }, 'license: must be an SPDX license identifier'],
      [{ upstreamRepo: 'ftp://example.org' }, 'upstreamRepo: must be an http(s) URL'],
      [{ icon: 'logo.gif' }, "icon: must be 'icon.png' or 'icon.svg'"],
      [{ architectures: ['riscv64'] }, 'architectures[0]: must be one of x86_64, arm64'],
      [{ architectures: [] }, 'architectures: must list at least one architecture'],
      [{ resources: { memoryMiB: 8, cpus: 1 } }, 'resources.memoryMiB: must be at least 16'],
      [
        { dependencies: [{ id: 'pg', versionRange: 'latest' }] },
        'dependencies[0].versionRange: must be a version range',
      ],
      [
        { dependencies: [{ id: 'hello-world', versionRange: '*' }] },
        'dependencies[0].id: a package cannot depend on itself',
      ],
      [{ daemons: [] }, 'daemons: must declare at least one daemon'],
      [{ daemons: [{ id: 'web', command: [] }] }, 'daemons[0].command: must name a program'],
      [{ daemons: [{ id: 'a', command: ['x'], requires: ['b'] }] }, "daemons[0].requires[0]: no daemon 'b'"],
      [
        {
          daemons: [
            { id: 'a', command: ['x'], requires: ['b'] },
            { id: 'b', command: ['x'], requires: ['a'] },
          ],
        },
        'daemons: requires form a cycle: a → b → a',
      ],
      [{ daemons: [{ id: 'web', command: ['x'], image: 'db' }] }, "daemons[0].image: no image 'db'"],
      [
        {
          interfaces: [
            { id: 'a', name: 'A', description: 'a', protocol: 'http', port: 80, kind: 'ui' },
            { id: 'b', name: 'B', description: 'b', protocol: 'tcp', port: 80, kind: 'p2p' },
          ],
        },
        "interfaces[1].port: tcp/80 is also used by interface 'a'",
      ],
      [
        { interfaces: [{ id: 'a', name: 'A', description: 'a', protocol: 'tcp', port: 70000, kind: 'api' }] },
        'interfaces[0].port: must be between 1 and 65535',
      ],
      [
        { interfaces: [{ id: 'a', name: 'A', description: 'a', protocol: 'udp', port: 53, kind: 'ui' }] },
        'interfaces[0].protocol: a ui or mcp interface must speak http or https',
      ],
      [
        { healthChecks: [{ id: 'x', name: 'X', kind: 'ping' }] },
        'healthChecks[0].kind: kind must be one of tcp, http, command',
      ],
      [
        { backup: { volumes: ['nope'], hasPre: false, hasPost: false } },
        "backup.volumes[0]: no volume 'nope'",
      ],
      [
        { migrations: [{ version: '9.0.0', down: false }] },
        'migrations[0].version: is later than the package version',
      ],
      [
        {
          migrations: [
            { version: '1.1.0', down: false },
            { version: '1.0.0', down: false },
          ],
        },
        'migrations[1].version: migrations must be in ascending version order',
      ],
      [
        { images: [{ name: 'main', architectures: ['x86_64'] }] },
        'images[0].architectures: has no build for arm64',
      ],
      [
        {
          actions: [
            { id: 'a', name: 'A', description: 'a', input: { type: 'string' }, allowedStatuses: ['running'] },
          ],
        },
        'actions[0].input: must be a JSON Schema of type object',
      ],
      [
        {
          actions: [
            { id: 'a', name: 'A', description: 'a', input: { type: 'object' }, allowedStatuses: ['asleep'] },
          ],
        },
        'actions[0].allowedStatuses[0]: must be one of stopped',
      ],
      [{ manifestVersion: 2 } as never, "manifestVersion: must be 1 (this SDK's manifest format)"],
      [{ surprise: true } as never, 'Unrecognized key: "surprise"'],
      [
        {
          volumes: [
            { id: 'a', name: 'A', description: 'a' },
            { id: 'a', name: 'B', description: 'b' },
          ],
        },
        "volumes[1].id: 'a' is used twice",
      ],
    ];
    for (const [override, expected] of cases) {
      const issues = issuesOf(sampleManifest(override as never));
      assert.ok(
        issues.some((i) => i.includes(expected)),
        `expected an issue containing "${expected}", got ${JSON.stringify(issues)}`,
      );
    }
  });

  test('a missing field says it is required', () => {
    const { title: _t, ...rest } = sampleManifest();
    assert.deepEqual(issuesOf(rest), ['title: is required']);
  });

  test('parseManifest throws ManifestInvalid with every issue', () => {
    assert.throws(
      () => parseManifest(sampleManifest({ id: 'X', version: 'one' }), 'manifest.json'),
      (e: unknown) =>
        e instanceof ManifestInvalid &&
        e.code === 'manifest_invalid' &&
        e.issues.length === 2 &&
        e.message.startsWith('manifest.json: id:'),
    );
  });
});
