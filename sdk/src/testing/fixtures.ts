// Shared test data: a valid manifest and the member files of a small package whose
// "images" are squashfs magic plus filler (readHpk never mounts them).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ManifestInput } from '../manifest.ts';
import { SDK_VERSION } from '../version.ts';

export function sampleManifest(overrides: Partial<ManifestInput> = {}): ManifestInput {
  return {
    manifestVersion: 1,
    sdkVersion: SDK_VERSION,
    id: 'hello-world',
    version: '1.2.0',
    title: 'Hello World',
    description: { short: 'Says hello on your network', long: 'A page that says hello.' },
    license: 'MIT',
    upstreamRepo: 'https://example.org/hello',
    packageRepo: 'https://example.org/hello-package',
    icon: 'icon.svg',
    architectures: ['x86_64', 'arm64'],
    images: [{ name: 'main', architectures: ['x86_64', 'arm64'] }],
    volumes: [{ id: 'data', name: 'Data', description: 'The greeting' }],
    interfaces: [
      {
        id: 'web',
        name: 'Web page',
        description: 'The greeting page',
        protocol: 'http',
        port: 8080,
        kind: 'ui',
      },
    ],
    dependencies: [{ id: 'postgres', versionRange: '^15.2', requireRunning: true }],
    resources: { memoryMiB: 64, cpus: 1 },
    daemons: [
      {
        id: 'web',
        command: ['/bin/busybox', 'httpd', '-f', '-p', '8080'],
        ready: { kind: 'tcp', port: 8080 },
      },
    ],
    healthChecks: [{ id: 'web', name: 'Web page', kind: 'http', url: 'http://127.0.0.1:8080/' }],
    actions: [
      {
        id: 'greet',
        name: 'Greet',
        description: 'Says hello',
        input: { type: 'object', properties: {} },
        allowedStatuses: ['running'],
      },
    ],
    backup: { volumes: ['data'], hasPre: false, hasPost: false },
    migrations: [{ version: '1.1.0', down: true }],
    hasInit: false,
    hasUninit: false,
    ...overrides,
  };
}

export async function tempDir(prefix = 'hearth-sdk-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Writes the member files of a package into `dir` and returns their paths. */
export async function sampleFiles(dir: string) {
  const file = async (name: string, data: string | Buffer) => {
    const p = path.join(dir, name);
    await fs.writeFile(p, data);
    return p;
  };
  const fakeImage = (tag: string) => Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(5000, tag)]);
  return {
    code: await file('index.js', 'module.exports = { default: {} };\n'),
    icon: await file('icon.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>\n'),
    license: await file('LICENSE', 'MIT License\n'),
    instructions: await file('instructions.md', '# Hello\n'),
    images: [
      { name: 'main', arch: 'x86_64' as const, file: await file('main-x86_64.squashfs', fakeImage('x')) },
      { name: 'main', arch: 'arm64' as const, file: await file('main-arm64.squashfs', fakeImage('a')) },
    ],
  };
}
