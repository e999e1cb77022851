// CI cannot be made green by a machine that skips: .ci/run refuses a non-root run and sets
// HEARTH_REQUIRE_ALL=1, under which `make test` fails on any skipped test that no other
// target runs (build/require-all-reporter.ts), and required() (core/test/required.ts)
// turns a marked skip into a failing test of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { required } from '../core/test/required.ts';
import { repo } from './binary-checks.ts';

const exec = promisify(execFile);

/** The environment of a node --test of its own (not a subprocess of this run's runner). */
function ownRun(env: Record<string, string>): NodeJS.ProcessEnv {
  const all: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete all['NODE_TEST_CONTEXT'];
  return all;
}
const REPORTER = path.join(repo, 'build/require-all-reporter.ts');
const REQUIRED = path.join(repo, 'core/test/required.ts');

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-ci-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** node --test on `files` as `make test` runs it under HEARTH_REQUIRE_ALL=1. */
async function nodeTest(
  files: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${REPORTER}`,
    '--test-reporter-destination=stderr',
    ...files,
  ];
  try {
    const { stdout, stderr } = await exec(process.execPath, argv, {
      env: ownRun(env),
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout: string; stderr: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout, stderr: x.stderr };
  }
}

test('HEARTH_REQUIRE_ALL: a skipped test fails the run and is named; one another target runs does not', async (t) => {
  const dir = tempDir(t);
  const skipping = path.join(dir, 'skipping.test.mjs');
  fs.writeFileSync(
    skipping,
    `import { test } from 'node:test';
test('runs', () => {});
test('needs what is missing', { skip: 'needs root' }, () => {});
test('skips itself', (t) => t.skip('no loop devices'));
`,
  );
  const other = path.join(dir, 'other.test.mjs');
  fs.writeFileSync(
    other,
    `import { test } from 'node:test';
test('runs', () => {});
test('downloads', { skip: 'reaches the Debian mirror: \`make test-mirror\` runs it' }, () => {});
`,
  );
  const bad = await nodeTest([skipping, other]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /2 test\(s\) skipped that this run must run/);
  assert.match(bad.stderr, /needs what is missing: needs root/);
  assert.match(bad.stderr, /skips itself: no loop devices/);
  assert.doesNotMatch(bad.stderr, /downloads/);

  const good = await nodeTest([other]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
});

test('required(): under HEARTH_REQUIRE_ALL=1 a marked skip is a failing test with its reason', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'marked.test.ts');
  fs.writeFileSync(
    file,
    `import { test } from 'node:test';
import { required } from ${JSON.stringify(REQUIRED)};
const skip = required('needs the built binary', 'the example test');
test('example', { skip }, () => {});
`,
  );
  const ci = await nodeTest([file], { HEARTH_REQUIRE_ALL: '1' });
  assert.equal(ci.code, 1);
  assert.match(ci.stdout, /the example test must run here/);
  assert.match(ci.stdout, /would be skipped: needs the built binary/);
  // Outside CI the same file only skips (without the reporter: a developer's plain run).
  const { stdout } = await exec(process.execPath, ['--test', file], {
    env: ownRun({ HEARTH_REQUIRE_ALL: '' }),
  });
  assert.match(stdout, /skipped 1/);
});

test('make test takes the reporter only under HEARTH_REQUIRE_ALL=1', async () => {
  const dry = async (env: Record<string, string>) =>
    (await exec('make', ['-n', '-s', 'test'], { cwd: repo, env: { ...process.env, ...env } })).stdout;
  assert.match(await dry({ HEARTH_REQUIRE_ALL: '1' }), /--test-reporter=\.\/build\/require-all-reporter\.ts/);
  assert.doesNotMatch(await dry({ HEARTH_REQUIRE_ALL: '' }), /require-all-reporter/);
});

test(
  '.ci/run refuses to run as anyone but root, and as root runs make test with HEARTH_REQUIRE_ALL=1',
  {
    skip: required(process.getuid?.() === 0 ? false : 'needs root (to run as another user)', '.ci/run test'),
  },
  async (t) => {
    // A copy beside a Makefile that only records what it was asked: the real make test is not run.
    const dir = tempDir(t);
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, '.ci'));
    fs.copyFileSync(path.join(repo, '.ci/run'), path.join(dir, '.ci/run'));
    fs.chmodSync(path.join(dir, '.ci/run'), 0o755);
    fs.writeFileSync(
      path.join(dir, 'Makefile'),
      '%:\n\t@echo "$@ HEARTH_REQUIRE_ALL=$$HEARTH_REQUIRE_ALL" >> called\n',
    );
    const asNobody = await exec(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', path.join(dir, '.ci/run')],
      { cwd: dir },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.notEqual(asNobody.code, 0);
    assert.match(asNobody.stderr, /must run as root/);
    assert.equal(fs.existsSync(path.join(dir, 'called')), false, 'nothing ran');

    await exec(path.join(dir, '.ci/run'), [], { cwd: dir, env: { ...process.env, HEARTH_REQUIRE_ALL: '' } });
    const called = fs.readFileSync(path.join(dir, 'called'), 'utf8').trim().split('\n');
    assert.equal(called[0], 'test HEARTH_REQUIRE_ALL=1');
  },
);
