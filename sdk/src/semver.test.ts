import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compareVersions, isRange, parseVersion, satisfies } from './semver.ts';

describe('versions', () => {
  test('parses strict semver and refuses the rest', () => {
    assert.deepEqual(parseVersion('1.4.0-rc.1+build.7'), {
      major: 1,
      minor: 4,
      patch: 0,
      prerelease: ['rc', 1],
      build: ['build', '7'],
    });
    for (const bad of ['1.4', 'v1.2.3', '01.2.3', '1.2.3-', '1.2.3-01', '1.2.3+', ' 1.2.3', '1.2.3.4', '']) {
      assert.equal(parseVersion(bad), null, bad);
    }
  });

  test('orders by semver precedence', () => {
    const sorted = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.2.0',
      '1.10.0',
      '2.0.0',
    ];
    assert.deepEqual([...sorted].reverse().sort(compareVersions), sorted);
    assert.equal(compareVersions('1.0.0+a', '1.0.0+b'), 0);
  });

  const version = fc
    .tuple(
      fc.nat(20),
      fc.nat(20),
      fc.nat(20),
      fc.option(
        fc.array(fc.oneof(fc.nat(5), fc.constantFrom('alpha', 'beta', 'rc')), { minLength: 1, maxLength: 3 }),
      ),
    )
    .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre.join('.')}` : ''}`);

  test('comparison is a total order (property)', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        assert.equal(compareVersions(a, b), -compareVersions(b, a) || 0);
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) assert.ok(compareVersions(a, c) <= 0);
      }),
    );
  });

  test('>=a <b agrees with compare for release versions (property)', () => {
    const release = fc.tuple(fc.nat(9), fc.nat(9), fc.nat(9)).map((t) => t.join('.'));
    fc.assert(
      fc.property(release, release, release, (v, lo, hi) => {
        const expected = compareVersions(v, lo) >= 0 && compareVersions(v, hi) < 0;
        assert.equal(satisfies(v, `>=${lo} <${hi}`), expected);
      }),
    );
  });
});

describe('ranges', () => {
  const cases: [string, string[], string[]][] = [
    ['^1.2', ['1.2.0', '1.9.9'], ['1.1.9', '2.0.0', '2.0.0-0', '1.3.0-beta.1']],
    ['^1.2.3', ['1.2.3', '1.99.0'], ['1.2.2', '2.0.0']],
    ['^0.2.3', ['0.2.3', '0.2.9'], ['0.3.0', '0.2.2']],
    ['^0.0.3', ['0.0.3'], ['0.0.4', '0.0.2']],
    ['^1', ['1.0.0', '1.5.0'], ['2.0.0', '0.9.0']],
    ['~1.2.3', ['1.2.3', '1.2.9'], ['1.3.0', '1.2.2']],
    ['~1.2', ['1.2.0', '1.2.9'], ['1.3.0']],
    ['~1', ['1.9.0'], ['2.0.0']],
    ['>=1.0.0 <2.0.0', ['1.0.0', '1.9.9'], ['2.0.0', '0.9.9', '2.0.0-rc.1']],
    ['>= 1.0.0 < 2.0.0', ['1.5.0'], ['2.0.0']],
    ['1.2.3', ['1.2.3', '1.2.3+build'], ['1.2.4', '1.2.3-rc.1']],
    ['=1.2.3', ['1.2.3'], ['1.2.4']],
    ['1.2', ['1.2.0', '1.2.7'], ['1.3.0']],
    ['1.x', ['1.0.0', '1.9.0'], ['2.0.0']],
    ['*', ['0.0.1', '99.0.0'], ['1.0.0-beta']],
    ['>1.2', ['1.3.0'], ['1.2.9']],
    ['<=1.2', ['1.2.9', '0.1.0'], ['1.3.0']],
    ['<1.2', ['1.1.9'], ['1.2.0', '1.2.0-beta']],
    ['^1.2 || ^3', ['1.5.0', '3.1.0'], ['2.0.0']],
    ['^1.3.0-beta.2', ['1.3.0-beta.2', '1.3.0-beta.10', '1.3.0', '1.4.0'], ['1.3.0-beta.1', '1.4.0-beta.1']],
  ];
  for (const [range, yes, no] of cases) {
    test(range, () => {
      for (const v of yes) assert.ok(satisfies(v, range), `${v} should satisfy ${range}`);
      for (const v of no) assert.ok(!satisfies(v, range), `${v} should not satisfy ${range}`);
    });
  }

  test('refuses what it does not understand', () => {
    for (const bad of ['1.2.3 - 2.0.0', '^', '>=', 'latest', '1.x.3', '^01.2', '>=1.0.0 foo', '~>1.2']) {
      assert.equal(isRange(bad), false, bad);
    }
    assert.equal(satisfies('1.0.0', 'nonsense'), false);
    assert.equal(satisfies('nonsense', '*'), false);
  });
});
