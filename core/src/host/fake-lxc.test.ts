import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { idRangeForSlot } from './containers.ts';
import { FakeLxc } from './fake-lxc.ts';
import { checkLxcContract } from './lxc-contract.ts';

test('the in-memory LXC keeps the contract the real adapter keeps (see lxc.integration)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-fake-lxc-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const f of ['image.squashfs', 'hearth']) fs.writeFileSync(path.join(dir, f), '');
  await checkLxcContract(
    new FakeLxc(),
    (name) => ({
      name,
      image: path.join(dir, 'image.squashfs'),
      dataDir: path.join(dir, 'containers', name),
      idmap: idRangeForSlot(1),
      volumes: [{ source: path.join(dir, 'volumes', 'data'), target: '/data' }],
      hearthBinary: path.join(dir, 'hearth'),
      init: ['/bin/sh'],
      memoryMiB: 64,
      cpus: 1,
      network: { bridge: 'hfake0', subnet: '10.99.0.0/24', address: '10.99.0.2' },
    }),
    'hearth-contract',
  );
});
