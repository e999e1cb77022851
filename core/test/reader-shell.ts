import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './services.ts';

/**
 * A fresh shell of a reader following a doc: Node 24 and npm (the build's pinned ones,
 * standing for those the doc asks for) and the system's PATH; nothing of the test's own
 * environment. npm works offline from this machine's cache (`make deps` filled it), so
 * the doc's npm and npx commands run as written without leaving the machine.
 */
export function readerEnv(home: string, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  const npmCli = path.join(
    path.dirname(path.dirname(path.dirname(process.execPath))),
    `npm-${/^npm\s+(\S+)/m.exec(fs.readFileSync(path.join(REPO, 'build/toolchain.lock'), 'utf8'))![1]}`,
    'bin',
  );
  const tools = path.join(home, '.tools');
  fs.mkdirSync(tools, { recursive: true });
  for (const name of ['npm', 'npx'])
    fs.writeFileSync(
      path.join(tools, name),
      `#!/bin/sh\nexec ${process.execPath} ${path.join(npmCli, `${name}-cli.js`)} "$@"\n`,
      { mode: 0o755 },
    );
  return {
    PATH: `${path.dirname(process.execPath)}:${tools}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    npm_config_offline: 'true',
    npm_config_cache: path.join(os.homedir(), '.npm'),
    npm_config_update_notifier: 'false',
    ...more,
  };
}

/** Runs `script` in bash in `cwd` with `env`: stdout and stderr together, and stdout alone. */
export function runShell(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const sh = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    sh.stdout.on('data', (b: Buffer) => {
      output += b.toString();
      stdout += b.toString();
    });
    sh.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    sh.on('close', (code) => resolve({ code, output, stdout }));
  });
}

/**
 * The commands of a doc's ```sh blocks: lines starting with `$ ` (or, with `bare`, every
 * line), a trailing backslash joining the next.
 */
export function shellCommands(markdown: string, o: { bare?: boolean } = {}): string[] {
  const commands: string[] = [];
  let inShell = false;
  let pending = '';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      inShell = line.trim() === '```sh' && !inShell;
      continue;
    }
    if (!inShell) continue;
    const text = pending ? line.trim() : o.bare ? line : line.startsWith('$ ') ? line.slice(2) : undefined;
    if (text === undefined) continue;
    if (text.endsWith('\\')) pending += `${text.slice(0, -1).trimEnd()} `;
    else {
      commands.push(pending + text);
      pending = '';
    }
  }
  return commands;
}
