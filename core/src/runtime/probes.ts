import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { Probe } from '#sdk/manifest.ts';
import type { ProbeOutcome } from './plan.ts';

/**
 * The three probes a manifest can name, run from inside the container: a TCP port that
 * accepts a connection, an HTTP status, a command's exit code. Each resolves (never
 * rejects) with a short message for the owner; each gives up after `timeoutMs`.
 */
export function runProbe(probe: Probe, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<ProbeOutcome> {
  switch (probe.kind) {
    case 'tcp':
      return tcpProbe(probe.port, timeoutMs);
    case 'http':
      return httpProbe(probe.url, probe.expectStatus, timeoutMs);
    case 'command':
      return commandProbe(probe.command, probe.expectExitCode, timeoutMs, env);
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function connectOnce(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (error: string | null) => {
      socket.destroy();
      resolve(error);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer in ${seconds(timeoutMs)}`));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ECONNREFUSED' ? 'connection refused' : (e.code ?? e.message)),
    );
  });
}

/** 127.0.0.1 first, then ::1: a service may listen on either loopback only. */
async function tcpProbe(port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const v4 = await connectOnce('127.0.0.1', port, timeoutMs);
  if (v4 === null) return { ok: true, message: `port ${port} accepts connections` };
  const v6 = await connectOnce('::1', port, timeoutMs);
  if (v6 === null) return { ok: true, message: `port ${port} accepts connections` };
  return { ok: false, message: `port ${port}: ${v4}` };
}

async function httpProbe(url: string, expect: number, timeoutMs: number): Promise<ProbeOutcome> {
  // node:https only for a probe that needs it: it brings TLS and OpenSSL's set-up, about
  // 3 MiB of the runtime's memory (ARCHITECTURE.md, "Memory"), which plain HTTP never uses.
  const get = url.startsWith('https:') ? (await import('node:https')).get : http.get;
  return new Promise((resolve) => {
    // The service's own certificate is for its names outside, not for 127.0.0.1.
    const req = get(url, { timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(
        status === expect
          ? { ok: true, message: `GET ${url}: ${status}` }
          : { ok: false, message: `GET ${url}: ${status}, expected ${expect}` },
      );
    });
    req.once('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `GET ${url}: no answer in ${seconds(timeoutMs)}` });
    });
    req.once('error', (e: NodeJS.ErrnoException) => {
      resolve({
        ok: false,
        message: `GET ${url}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : (e.code ?? e.message)}`,
      });
    });
  });
}

/**
 * The command's last line of output says why it failed; kept short. Settles at the
 * timeout even if something the command left behind still holds its output open.
 */
function commandProbe(
  argv: string[],
  expect: number,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const settle = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const keep = (d: Buffer) => {
      output = (output + d.toString('utf8')).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      // The command's whole process group: a shell script's children go too.
      killGroup(child.pid, 'SIGKILL');
      settle({ ok: false, message: `${argv[0]}: no result in ${seconds(timeoutMs)}` });
    }, timeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => {
      settle({ ok: false, message: `${argv[0]}: ${e.code === 'ENOENT' ? 'not found' : e.message}` });
    });
    const result = (code: number | null, signal: NodeJS.Signals | null): ProbeOutcome => {
      const last = output.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
      if (code === expect) return { ok: true, message: `${argv[0]} exited with ${code}` };
      return {
        ok: false,
        message: `${argv[0]} ${signal ? `was killed by ${signal}` : `exited with ${code}`}${last ? `: ${last}` : ''}`,
      };
    };
    // 'close' has all the output; 'exit' (plus a moment) when a leftover holds the pipes.
    child.once('close', (code, signal) => settle(result(code, signal)));
    child.once('exit', (code, signal) => {
      setTimeout(() => settle(result(code, signal)), 200).unref();
    });
  });
}

/** Signals a process group (a detached child leads its own); gone already is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {}
  }
}
