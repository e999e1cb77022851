import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { selfSignedCertificate } from '../src/host/self-signed.ts';

/**
 * What notifications leave the box for, on loopback: a real SMTP server (Debian's
 * aiosmtpd, `smtp-sink.py`) and an HTTP receiver standing in for ntfy. Each is stopped by
 * the test whatever happens; the sink's process is tracked from the moment it is spawned.
 */

/** Debian's python, which has python3-aiosmtpd (a pyenv or venv python3 on PATH may not). */
const PYTHON = '/usr/bin/python3';
const SINK = path.join(import.meta.dirname, 'smtp-sink.py');

/** Why the SMTP sink cannot run here (false when it can). */
export function smtpSinkSkipReason(): string | false {
  if (!fs.existsSync(PYTHON) || !fs.existsSync('/usr/lib/python3/dist-packages/aiosmtpd')) {
    return 'needs python3-aiosmtpd (make test installs it)';
  }
  return false;
}

/** A message as the sink received it, read back by Python's mail parser. */
export interface SunkMail {
  headers: [string, string][];
  subject: string;
  body: string;
  from: string;
  to: string[];
  data: string;
  tls: boolean;
  user: string | null;
}

export interface SmtpSink {
  port: number;
  pid: number;
  mails(): SunkMail[];
  /** Waits for a mail `match` accepts; fails after `timeoutMs` saying what did arrive. */
  waitFor(match: (m: SunkMail) => boolean, timeoutMs: number): Promise<SunkMail>;
  stop(): Promise<void>;
}

/** Test TLS: a certificate for 127.0.0.1, its files, and a place for sink output. */
export function testTls(dir: string): { certFile: string; keyFile: string; cert: string } {
  const { cert, key } = selfSignedCertificate();
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(certFile, cert);
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  return { certFile, keyFile, cert };
}

export async function startSmtpSink(o: {
  dir: string;
  mode: 'plain' | 'starttls' | 'tls';
  tls?: { certFile: string; keyFile: string };
  auth?: { user: string; password: string };
}): Promise<SmtpSink> {
  const out = fs.mkdtempSync(path.join(o.dir, 'sink-'));
  const file = path.join(out, 'mails.jsonl');
  const child: ChildProcess = spawn(
    PYTHON,
    [
      SINK,
      ...['--out', file, '--mode', o.mode],
      ...(o.tls ? ['--cert', o.tls.certFile, '--key', o.tls.keyFile] : []),
      ...(o.auth ? ['--auth', `${o.auth.user}:${o.auth.password}`] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let output = '';
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let first = '';
      child.stdout!.on('data', (d: Buffer) => {
        first += d.toString();
        if (first.includes('\n')) resolve(Number(first.trim()));
      });
      child.once('close', () => reject(new Error(`the SMTP sink exited:\n${output}`)));
      setTimeout(() => reject(new Error(`the SMTP sink did not start in 10 s:\n${output}`)), 10_000).unref();
    });
    const mails = (): SunkMail[] =>
      fs.existsSync(file)
        ? fs
            .readFileSync(file, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as SunkMail)
        : [];
    return {
      port,
      pid: child.pid!,
      mails,
      waitFor: async (match, timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = mails().find(match);
          if (found) return found;
          if (Date.now() > deadline) {
            throw new Error(
              `no such mail in ${timeoutMs} ms; got: ${JSON.stringify(mails().map((m) => m.subject))}\n${output}`,
            );
          }
          await sleep(50);
        }
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A request as the receiver saw it. */
export interface Hook {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

export interface Receiver {
  url: string;
  hooks: Hook[];
  /** The status the next requests get (200 unless told otherwise). */
  answer(status: number): void;
  waitFor(match: (h: Hook) => boolean, timeoutMs: number): Promise<Hook>;
  close(): Promise<void>;
}

/** An HTTP receiver on loopback standing in for ntfy: records every request. */
export async function startReceiver(): Promise<Receiver> {
  const hooks: Hook[] = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString('utf8');
    });
    req.on('end', () => {
      hooks.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(
        status === 200
          ? '{"id":"x","event":"message"}'
          : `{"code":${status}00,"http":${status},"error":"test receiver says no"}`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hooks,
    answer: (s) => {
      status = s;
    },
    waitFor: async (match, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = hooks.find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no such request in ${timeoutMs} ms; got: ${JSON.stringify(hooks.map((h) => h.headers['title']))}`,
          );
        }
        await sleep(50);
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** RFC 2047 B words back to text, as ntfy does with a Title header. */
export const decodeWords = (text: string): string =>
  text
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi, (_, b64: string) =>
      Buffer.from(b64, 'base64').toString('utf8'),
    );

/** A scratch directory for one test file, removed by `cleanup`. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-notify-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
