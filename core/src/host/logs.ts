import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/log.ts';
import { type LogEntry, parseJournalLine, parseLogFileLine } from '../system/parse.ts';
import { run, runLines } from './run.ts';

/** Where the daemon's own log can be read back. */
export interface LogSource {
  readonly kind: 'journal' | 'file';
  tail(lines: number): Promise<LogEntry[]>;
  follow(signal: AbortSignal): AsyncIterable<LogEntry>;
}

const parseLines = (text: string, parse: (line: string) => LogEntry | undefined): LogEntry[] =>
  text
    .split('\n')
    .map(parse)
    .filter((e): e is LogEntry => e !== undefined);

/** The journal of a systemd unit, through `journalctl -o json`. */
export function journalLogSource(unit: string, log: Logger): LogSource {
  const base = ['journalctl', '--no-pager', '-o', 'json', '-u', unit];
  const parse = (text: string) => parseLines(text, parseJournalLine);
  return {
    kind: 'journal',
    tail: async (lines) =>
      parse((await run([...base, '-n', String(lines)], { log, debianPackage: 'systemd' })).stdout),
    follow: async function* (signal) {
      for await (const line of runLines([...base, '-f', '-n', '0'], {
        log,
        signal,
        debianPackage: 'systemd',
      })) {
        const e = parseJournalLine(line);
        if (e) yield e;
      }
    },
  };
}

const POLL_MS = 250;

/** The daemon's JSON-lines log file, where there is no journal. */
export function fileLogSource(file: string): LogSource {
  const parse = (text: string) => parseLines(text, parseLogFileLine);
  return {
    kind: 'file',
    tail: async (lines) => {
      const handle = await fs.open(file, 'r').catch(() => undefined);
      if (!handle) return [];
      try {
        const { size } = await handle.stat();
        // Lines are short; read enough from the end for `lines` of them, not the whole file.
        const want = Math.min(size, lines * 1024 + 4096);
        const buf = Buffer.alloc(want);
        await handle.read(buf, 0, want, size - want);
        const text = buf.toString('utf8');
        const whole = want < size ? text.slice(text.indexOf('\n') + 1) : text;
        return parse(whole).slice(-lines);
      } finally {
        await handle.close();
      }
    },
    follow: async function* (signal) {
      for await (const line of followFile(file, signal)) {
        const e = parseLogFileLine(line);
        if (e) yield e;
      }
    },
  };
}

/**
 * The lines appended to a text file from now on, until `signal` aborts; a file that
 * shrinks (rotated, truncated) is read again from its start. Polls: cheap, and works on
 * every filesystem and for files written from inside containers.
 */
export async function* followFile(file: string, signal: AbortSignal): AsyncGenerator<string> {
  let offset = (await fs.stat(file).catch(() => ({ size: 0 }))).size;
  let rest = '';
  while (!signal.aborted) {
    const size = (await fs.stat(file).catch(() => ({ size: 0 }))).size;
    if (size < offset) offset = 0;
    if (size > offset) {
      const handle = await fs.open(file, 'r');
      const buf = Buffer.alloc(size - offset);
      await handle.read(buf, 0, buf.length, offset);
      await handle.close();
      offset = size;
      const lines = (rest + buf.toString('utf8')).split('\n');
      rest = lines.pop()!;
      yield* lines;
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => {});
  }
}
