import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { packHpk, writeSignedArchive } from '#sdk/hpk/pack.ts';
import { keygen, loadSigningKey, type SigningKey } from '#sdk/keys.ts';
import { sampleFiles, sampleManifest } from '#sdk/testing/fixtures.ts';
import { RpcError } from '../src/client/client.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

/**
 * The box refuses bad packages through package.install, each with its own code, and
 * leaves nothing behind: no row, no files, no container. (The SDK's own tests hold the
 * full corpus of the format's refusals; this checks the box's side of the same reader.)
 */
let d: TestDaemon;
let key: SigningKey;
let work: string;

before(async () => {
  d = await startTestDaemon();
  await setUp(d);
  work = fs.mkdtempSync(path.join(d.root, 'bad-'));
  key = await loadSigningKey((await keygen(path.join(work, 'k.key'))).file);
  await d
    .client({ bearer: d.localToken })
    .call('package.signer.add', { publicKey: key.publicKey, name: 'test' });
});
after(() => d.cleanup());

async function good(): Promise<{ file: string; files: Awaited<ReturnType<typeof sampleFiles>> }> {
  const dir = fs.mkdtempSync(path.join(work, 'p-'));
  const files = await sampleFiles(dir);
  const file = path.join(dir, 'good.hpk');
  await packHpk({ out: file, manifest: sampleManifest({ dependencies: [] }), ...files, key });
  return { file, files };
}

test('bad packages are refused with their own codes, and nothing is left behind', async () => {
  const admin = d.client({ bearer: d.localToken });
  const cases: [string, string, (file: string) => Promise<string>][] = [
    [
      'a member changed after signing',
      'hpk_tampered_member',
      async (file) => {
        const bytes = fs.readFileSync(file);
        const at = bytes.indexOf(Buffer.from('hsqs')) + 100;
        bytes[at] = bytes[at]! ^ 0xff;
        fs.writeFileSync(file, bytes);
        return file;
      },
    ],
    [
      'a truncated file',
      'hpk_truncated',
      async (file) => {
        const bytes = fs.readFileSync(file);
        fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
        return file;
      },
    ],
    [
      'an unknown signer',
      'hpk_unknown_signer',
      async (file) => {
        const stranger = await loadSigningKey((await keygen(path.join(work, `s${Math.random()}.key`))).file);
        const { files } = await good();
        const out = `${file}.stranger.hpk`;
        await packHpk({ out, manifest: sampleManifest({ dependencies: [] }), ...files, key: stranger });
        return out;
      },
    ],
    [
      'a path that climbs out',
      'hpk_path_traversal',
      async (file) => {
        const out = `${file}.traversal.hpk`;
        await writeSignedArchive(
          out,
          [{ path: '../../etc/cron.d/evil', data: '* * * * * root true\n' }],
          key,
        );
        return out;
      },
    ],
    [
      'a file that is not a package',
      'hpk_corrupt',
      async (file) => {
        fs.writeFileSync(file, 'not a tar at all'.repeat(100));
        return file;
      },
    ],
  ];
  for (const [what, code, make] of cases) {
    const { file } = await good();
    const bad = await make(file);
    await assert.rejects(admin.call('package.install', { path: bad }), (e: unknown) => {
      assert.ok(e instanceof RpcError, `${what}: ${String(e)}`);
      assert.equal(e.code, code, `${what}: ${e.message}`);
      return true;
    });
  }
  await assert.rejects(admin.call('package.install', { path: 'relative.hpk' }), (e: unknown) => {
    assert.ok(
      e instanceof RpcError && e.code === 'invalid_params' && /absolute path on the box/.test(e.message),
    );
    return true;
  });
  assert.deepEqual(await admin.call('package.list'), []);
  const packages = path.join(d.root, 'var/lib/hearth/packages');
  assert.deepEqual(fs.existsSync(packages) ? fs.readdirSync(packages) : [], []);
  assert.equal(fs.existsSync(path.join(d.root, 'etc/cron.d')), false);
  const audit = await admin.call('audit.list', { method: 'package.install', limit: 10 });
  assert.equal(audit.length, cases.length + 1);
  assert.ok(audit.every((e) => e.outcome === 'error'));
});
