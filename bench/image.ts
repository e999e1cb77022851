// The OS image rows of `make bench` (bench/run.ts prints them):
// - image build from scratch: image-recipe/build.sh x86_64 with an empty cache directory,
//   so the Debian stage is made anew from the mirror (mmdebstrap), then the assembly.
// - image build after a change in core/ only: what `make image` does then — the bundle,
//   the x86_64 binary, the .deb and the image assembly — with the Debian stage cached
//   (the one the row above made). Both into temp directories: out/ is left alone.
// - the .deb of that change alone (debian/build.sh: dpkg-deb, zstd).
// - compressed image size of each platform: out/hearth-<version>-<platform>.img.zst as
//   `make images` left it (the x86_64 one is also the one just built).
// - boot to wizard: the x86_64 image booted by image-recipe/vm.sh (software emulation)
//   until setup.status answers through the forwarded port 80, against the same VM booting
//   image-recipe/bare.sh's bare Debian root of the same kernel to multi-user.target.
// HEARTH_BENCH_IMAGES=0 leaves these rows out (they take ten minutes or so).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, Vm } from '../image-recipe/test/vm.ts';
import { fmt } from './measure.ts';
import type { Row } from './run.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const OUT = path.join(REPO, 'out');
const BUILD_GOAL_S = 600;
const CHANGE_GOAL_S = 120;
const SIZE_GOAL_MB = 300;
const DEB_GOAL_S = 5;
const BOOT_RATIO_GOAL = 1.3;
const BOOT_TIMEOUT_MS = 15 * 60_000;

export interface ImageBenchHost {
  undo(step: () => unknown): void;
  tempDir(prefix: string): string;
  say(msg: string): void;
  /** The build cache of `make` ($(CACHE)): the toolchain for sea.sh. */
  cache: string;
  node: string;
}

const version = () =>
  (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function timed(say: (m: string) => void, what: string, argv: string[], env: NodeJS.ProcessEnv = {}): number {
  say(`${what} …`);
  const t0 = performance.now();
  execFileSync(argv[0]!, argv.slice(1), {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env },
  });
  const s = (performance.now() - t0) / 1000;
  say(`${what}: ${fmt(s, 1)} s`);
  return s;
}

export async function imageBench(host: ImageBenchHost): Promise<{ rows: Row[]; notes: string[] }> {
  if (process.env['HEARTH_BENCH_IMAGES'] === '0') {
    return { rows: [{ metric: 'OS image rows', value: 'skipped (HEARTH_BENCH_IMAGES=0)' }], notes: [] };
  }
  const rows: Row[] = [];
  const notes: string[] = [];
  const v = version();
  const deb = path.join(OUT, 'debs', `hearth_${v}_amd64.deb`);
  if (!fs.existsSync(deb)) {
    return { rows: [{ metric: 'OS image rows', value: `skipped: no ${deb} (make deb)` }], notes: [] };
  }

  // From scratch: a cache with nothing in it.
  const cold = host.tempDir('hearth-bench-image-cache-');
  const out1 = host.tempDir('hearth-bench-image-out-');
  const scratch = timed(host.say, 'image build from scratch', [
    'image-recipe/build.sh',
    'x86_64',
    deb,
    out1,
    cold,
  ]);
  rows.push({
    metric: 'image build x86_64 from scratch',
    value: `${fmt(scratch, 0)} s`,
    target: { text: `≤ ${BUILD_GOAL_S / 60} min`, met: scratch <= BUILD_GOAL_S },
  });

  // A change in core/: bundle → binary → .deb → assembly on the now-warm stage.
  const out2 = host.tempDir('hearth-bench-image-change-');
  const t0 = performance.now();
  timed(host.say, 'bundle', [host.node, 'build/bundle.ts', path.join(out2, 'hearth.cjs')]);
  timed(host.say, 'binary', [
    'build/sea.sh',
    'x86_64',
    host.cache,
    path.join(out2, 'hearth.cjs'),
    path.join(OUT, 'addons/x86_64/better_sqlite3.node'),
    path.join(out2, 'hearth-x86_64'),
  ]);
  const debBuild = timed(host.say, '.deb', [
    'debian/build.sh',
    'x86_64',
    path.join(out2, 'hearth-x86_64'),
    path.join(out2, 'debs'),
  ]);
  const newDeb = path.join(out2, 'debs', `hearth_${v}_amd64.deb`);
  timed(host.say, 'image assembly', ['image-recipe/build.sh', 'x86_64', newDeb, out2, cold]);
  const change = (performance.now() - t0) / 1000;
  rows.push({
    metric: 'image build x86_64 after a change in core/',
    value: `${fmt(change, 0)} s`,
    baseline: `${fmt(scratch, 0)} s`,
    ratio: `${fmt(change / scratch, 2)}×`,
    target: { text: `≤ ${CHANGE_GOAL_S / 60} min`, met: change <= CHANGE_GOAL_S },
  });

  rows.push({
    metric: '.deb build x86_64 (dpkg-deb -Zzstd)',
    value: `${fmt(debBuild, 1)} s`,
    target: { text: `≤ ${DEB_GOAL_S} s`, met: debBuild <= DEB_GOAL_S },
  });

  for (const platform of ['x86_64', 'raspberrypi']) {
    const file = path.join(platform === 'x86_64' ? out1 : OUT, `hearth-${v}-${platform}.img.zst`);
    if (!fs.existsSync(file)) {
      rows.push({
        metric: `image size ${platform} (.img.zst)`,
        value: `not built (make image PLATFORM=${platform})`,
      });
      continue;
    }
    const mb = fs.statSync(file).size / 1e6;
    rows.push({
      metric: `image size ${platform} (.img.zst)`,
      value: `${fmt(mb, 0)} MB`,
      target: { text: `≤ ${SIZE_GOAL_MB} MB`, met: mb <= SIZE_GOAL_MB },
    });
  }

  // Boot: the bare Debian root first, then the image, in the same VM.
  const image = path.join(out1, `hearth-${v}-x86_64.img`);
  const bareImage = path.join(out1, 'bare.img');
  timed(host.say, 'bare Debian image', ['image-recipe/bare.sh', image, bareImage, cold]);
  const boot = async (file: string, wait: (vm: Vm) => Promise<number>) => {
    const vm = new Vm({ image: file, dir: host.tempDir('hearth-bench-vm-'), httpPort: await freePort() });
    host.undo(() => vm.kill());
    await vm.start();
    try {
      return await wait(vm);
    } finally {
      await vm.kill();
    }
  };
  host.say('booting the bare Debian root …');
  const bare = await boot(bareImage, (vm) => vm.waitForConsole('hearth-bare: multi-user', BOOT_TIMEOUT_MS));
  host.say('booting the Hearth image …');
  const wizard = await boot(image, (vm) => vm.waitForApi(BOOT_TIMEOUT_MS));
  rows.push({
    metric: 'boot to wizard x86_64 (QEMU, software emulation)',
    value: `${fmt(wizard / 1000, 1)} s`,
    baseline: `${fmt(bare / 1000, 1)} s`,
    ratio: `${fmt(wizard / bare, 2)}×`,
    target: { text: `≤ ${BOOT_RATIO_GOAL}×`, met: wizard / bare <= BOOT_RATIO_GOAL },
  });
  notes.push(
    'image rows: from scratch = image-recipe/build.sh with an empty cache (mmdebstrap from the mirror); ' +
      'after a change in core/ = bundle + x86_64 binary + .deb + assembly on the cached Debian stage; ' +
      'boot baseline = a bare Debian 13 root (minbase + systemd) of the same kernel, initramfs, loader and ' +
      'firmware to multi-user.target (image-recipe/bare.sh), in the same VM (TCG, 2 vCPUs on one thread, 2 GiB)',
  );
  return { rows, notes };
}
