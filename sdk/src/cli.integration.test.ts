// The template end to end through the CLI: init, keygen, pack (a root-directory image
// with busybox-static), verify, inspect, then read and unpack as a box would. Needs
// squashfs-tools and busybox-static.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runSdkCli } from './cli.ts';
import type { Effects } from './effects.ts';
import { readHpk, unpackHpk } from './hpk/read.ts';
import type { PackageDefinition } from './package.ts';
import { tempDir } from './testing/fixtures.ts';

const sdkDir = path.resolve(import.meta.dirname, '..');

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) =>
    ({
      write: (s: string) => {
        add(s);
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  const code = await runSdkCli(argv, {
    sdkDir,
    stdout: sink((s) => {
      stdout += s;
    }),
    stderr: sink((s) => {
      stderr += s;
    }),
  });
  return { code, stdout, stderr };
}

let dir: string;
before(async () => {
  dir = await tempDir('sdk-cli-test-');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('hearth-sdk', () => {
  test('init, keygen, pack, verify, inspect, unpack the template', async (t) => {
    const pkg = path.join(dir, 'greeter');
    const init = await cli('init', pkg);
    assert.equal(init.code, 0, init.stderr);
    assert.match(await fs.readFile(path.join(pkg, 'hearth.package.ts'), 'utf8'), /id: 'greeter'/);
    assert.equal((await cli('init', pkg)).code, 1, 'init refuses a non-empty directory');

    const key = path.join(dir, 'keys', 'signing.key');
    const keygen = await cli('keygen', '--out', key, '--json');
    assert.equal(keygen.code, 0, keygen.stderr);
    const { publicKey } = JSON.parse(keygen.stdout) as { publicKey: string };
    assert.equal((await fs.stat(key)).mode & 0o777, 0o600);

    // The template builds its image with mmdebstrap; here a root directory with
    // busybox-static stands in, so the test needs no mirror.
    await fs.mkdir(path.join(pkg, 'rootfs', 'bin'), { recursive: true });
    await fs.copyFile('/bin/busybox', path.join(pkg, 'rootfs', 'bin', 'busybox'));
    await fs.writeFile(
      path.join(pkg, 'hearth.images.json'),
      JSON.stringify({ images: { main: { type: 'dir', path: 'rootfs', allRoot: true } } }),
    );

    const out = path.join(dir, 'greeter.hpk');
    const started = performance.now();
    const packed = await cli('pack', pkg, '--key', key, '--out', out, '--cache', path.join(dir, 'cache'));
    const ms = Math.round(performance.now() - started);
    assert.equal(packed.code, 0, packed.stderr);
    const { size } = await fs.stat(out);
    t.diagnostic(`template pack: ${ms} ms, ${(size / 1024).toFixed(0)} KiB (x86_64 + arm64 images)`);
    assert.match(packed.stdout, /packed greeter 1\.0\.0/);

    const verified = await cli('verify', out, '--trust', publicKey, '--arch', 'x86_64');
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^ok: greeter 1\.0\.0, signed by .* \(trusted\)/);
    const inspected = await cli('inspect', out, '--json');
    assert.equal(inspected.code, 0, inspected.stderr);
    const info = JSON.parse(inspected.stdout) as {
      manifest: { actions: { id: string }[] };
      signer: { trusted: boolean };
    };
    assert.deepEqual(
      info.manifest.actions.map((a) => a.id),
      ['set-greeting'],
    );
    assert.equal(info.signer.trusted, false);

    const box = await readHpk(out, { trustedSigners: [publicKey], arch: 'x86_64' });
    const { dir: installed, images } = await unpackHpk(box, path.join(dir, 'installed', 'greeter'));
    const listing = execFileSync('unsquashfs', ['-l', images[0]!.path], { encoding: 'utf8' });
    assert.match(listing, /squashfs-root\/bin\/busybox/);

    // The runtime loads code/index.js as CommonJS and drives the definition.
    const code = path.join(installed, 'code', 'index.js');
    const definition = (createRequire(code)(code) as { default: PackageDefinition }).default;
    assert.equal(definition.kind, 'hearth-package');
    assert.equal(definition.manifest.id, 'greeter');
    await assert.rejects(definition.runAction('set-greeting', { greeting: '' }, {} as Effects), {
      code: 'action_input_invalid',
    });

    const again = path.join(dir, 'greeter-again.hpk');
    assert.equal((await cli('pack', pkg, '--key', key, '--out', again)).code, 0);
    assert.deepEqual(await fs.readFile(again), await fs.readFile(out), 'packing twice gives the same bytes');

    const bytes = await fs.readFile(out);
    const at = bytes.indexOf('set-greeting', bytes.indexOf('module.exports'));
    bytes[at] = 'S'.charCodeAt(0);
    const tampered = path.join(dir, 'tampered.hpk');
    await fs.writeFile(tampered, bytes);
    const refused = await cli('verify', tampered, '--trust', publicKey);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^hearth-sdk: member 'code\/index\.js' does not match its signed SHA-256 — hint: /,
    );
  });

  test('pack explains what is missing', async () => {
    const pkg = path.join(dir, 'broken');
    assert.equal((await cli('init', pkg)).code, 0);
    await fs.rm(path.join(pkg, 'LICENSE'));
    await fs.mkdir(path.join(pkg, 'rootfs'));
    await fs.writeFile(
      path.join(pkg, 'hearth.images.json'),
      JSON.stringify({ images: { main: { type: 'dir', path: 'rootfs' } } }),
    );
    const r = await cli('pack', pkg, '--unsigned', '--out', path.join(dir, 'broken.hpk'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no LICENSE — hint: add LICENSE to the package/);

    await fs.writeFile(path.join(pkg, 'LICENSE'), 'MIT');
    const source = path.join(pkg, 'hearth.package.ts');
    await fs.writeFile(
      source,
      (await fs.readFile(source, 'utf8')).replace("short: '", `short: '${'x'.repeat(80)}`),
    );
    const bad = await cli('pack', pkg, '--unsigned', '--out', path.join(dir, 'broken.hpk'));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /description\.short: must be at most 80 characters/);
    assert.equal((await cli('pack', pkg)).code, 2, 'no --key is a usage error');
  });
});
