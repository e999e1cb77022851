import fs from 'node:fs';
import path from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** syslog priorities: journald reads a `<N>` prefix on each stdout line as the level. */
const PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export type LogFields = Record<string, unknown>;

export interface LogRecord {
  time: number;
  level: LogLevel;
  scope: string;
  msg: string;
  fields?: LogFields;
}

export type LogSink = (record: LogRecord) => void;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(scope: string): Logger;
}

export function createLogger(options: { level: LogLevel; sinks: LogSink[]; scope?: string }): Logger {
  const min = LOG_LEVELS.indexOf(options.level);
  const make = (scope: string): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const record: LogRecord = { time: Date.now(), level, scope, msg, ...(fields ? { fields } : {}) };
      for (const sink of options.sinks) sink(record);
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      // Scopes stay one word under the daemon's own ('hearthd' → 'auth', not 'hearthd.auth').
      child: (s) => make(scope && scope !== options.scope ? `${scope}.${s}` : s),
    };
  };
  return make(options.scope ?? '');
}

/** A logger that drops everything: unit tests stay silent. */
export const silentLogger: Logger = createLogger({ level: 'error', sinks: [] });

export function formatFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(
      ([k, v]) => ` ${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(serializable(v))}`,
    )
    .join('');
}

const serializable = (v: unknown): unknown =>
  v instanceof Error ? { message: v.message, ...('code' in v ? { code: v.code } : {}), stack: v.stack } : v;

const serializableFields = (fields: LogFields): LogFields =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, serializable(v)]));

/** `<6>rpc: listening port=80` — journald keeps the level; a terminal still reads well. */
export function stdoutSink(stream: NodeJS.WritableStream = process.stdout): LogSink {
  return (r) => {
    stream.write(`<${PRIORITY[r.level]}>${r.scope ? `${r.scope}: ` : ''}${r.msg}${formatFields(r.fields)}\n`);
  };
}

/**
 * JSON lines appended to a file: where there is no journal, `server.logs` reads this.
 * Appends are synchronous so the last lines before a crash are on disk. Past `maxBytes`
 * the file becomes `<file>.1` (replacing the one before) and a new one begins, so the
 * log takes at most twice that, whatever anyone makes the daemon log.
 */
export function fileSink(file: string, options: { maxBytes?: number } = {}): LogSink {
  const maxBytes = options.maxBytes ?? 16 << 20;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let fd = fs.openSync(file, 'a', 0o640);
  let size = fs.fstatSync(fd).size;
  return (r) => {
    const line = `${JSON.stringify({ ...r, fields: r.fields ? serializableFields(r.fields) : undefined })}\n`;
    if (size > 0 && size + Buffer.byteLength(line) > maxBytes) {
      fs.closeSync(fd);
      fs.renameSync(file, `${file}.1`);
      fd = fs.openSync(file, 'a', 0o640);
      size = 0;
    }
    size += fs.writeSync(fd, line);
  };
}

export const priorityOf = (level: LogLevel): number => PRIORITY[level];

export function levelOfPriority(priority: number): LogLevel {
  if (priority <= 3) return 'error';
  if (priority <= 5) return 'warn';
  if (priority === 6) return 'info';
  return 'debug';
}
