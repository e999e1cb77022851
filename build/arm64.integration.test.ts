// The arm64 binary, run directly on this x86_64 machine: binfmt_misc hands it to
// qemu-user, which loads the arm64 libc and libstdc++ from the root that
// build/arm64-root.sh builds. `make test-arm64` sets up both.
import fs from 'node:fs';
import path from 'node:path';
import { checkBinary, repo } from './binary-checks.ts';

checkBinary({
  bin: process.env['HEARTH_ARM64_BIN'] ?? path.join(repo, 'out', 'hearth-arm64'),
  arch: 'arm64',
  env: () => {
    const root = process.env['HEARTH_ARM64_ROOT'];
    if (!root)
      throw new Error('HEARTH_ARM64_ROOT is not set: run `make test-arm64`, which builds the arm64 root');
    if (!fs.existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64')) {
      throw new Error(
        'qemu-aarch64 is not registered with binfmt_misc: run `make test-arm64`, which registers it',
      );
    }
    return { QEMU_LD_PREFIX: root };
  },
});
