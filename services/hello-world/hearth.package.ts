// Hearth's first package: one web page served by Debian's busybox httpd, one health check and
// one action with an input. `make services` packs it (signed with the development key);
// hearth.images.json builds its root from Debian's busybox-static package.
import { mkdir, writeFile } from 'node:fs/promises';
import { defineAction, definePackage } from '@hearth/sdk';
import { z } from 'zod';

const PORT = 8080;
// The `www` volume is mounted at /data/www: the page survives updates and is backed up.
const WWW = '/data/www';

const serve = [
  `mkdir -p ${WWW}`,
  `[ -f ${WWW}/index.html ] || echo '<h1>Hello from Hearth!</h1>' > ${WWW}/index.html`,
  `exec /bin/busybox httpd -f -p ${PORT} -h ${WWW}`,
].join(' && ');

export default definePackage({
  id: 'hello-world',
  version: '1.0.0',
  title: 'Hello World',
  description: {
    short: 'A web page that says hello, to try Hearth out',
    long: 'Hello World serves one web page on your network. Change its greeting with the "Set greeting" action.',
  },
  license: 'MIT',
  upstreamRepo: 'https://busybox.net',
  packageRepo: 'https://hearth.local/services/hello-world',
  icon: 'icon.svg',
  architectures: ['x86_64', 'arm64'],
  volumes: [{ id: 'www', name: 'Web page', description: 'The page the package serves' }],
  interfaces: [
    {
      id: 'web',
      name: 'Web page',
      description: 'The greeting page',
      protocol: 'http',
      port: PORT,
      kind: 'ui',
    },
  ],
  resources: { memoryMiB: 32, cpus: 0.25 },
  daemons: [
    {
      id: 'web',
      command: ['/bin/busybox', 'sh', '-c', serve],
      ready: { kind: 'tcp', port: PORT },
    },
  ],
  healthChecks: [
    {
      id: 'web',
      name: 'Web page',
      kind: 'http',
      url: `http://127.0.0.1:${PORT}/`,
      expectStatus: 200,
      intervals: { startingSeconds: 2, healthySeconds: 30 },
      timeoutSeconds: 5,
    },
  ],
  actions: [
    defineAction({
      id: 'set-greeting',
      name: 'Set greeting',
      description: 'Changes the text the page shows.',
      input: z.object({ greeting: z.string().trim().min(1).max(200).describe('What the page should say') }),
      allowedStatuses: ['running', 'stopped'],
      handler: async ({ greeting }, effects) => {
        const html = greeting.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
        await mkdir(WWW, { recursive: true });
        await writeFile(`${WWW}/index.html`, `<h1>${html}</h1>\n`);
        const web = await effects.getInterface('web');
        const url = web?.addresses.find((a) => a.scope === 'lan')?.url;
        return {
          message: url ? `The page at ${url} now says “${greeting}”.` : `The page now says “${greeting}”.`,
        };
      },
    }),
  ],
  backup: { volumes: ['www'] },
});
