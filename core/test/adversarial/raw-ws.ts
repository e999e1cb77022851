import { randomBytes } from 'node:crypto';
import net from 'node:net';

/**
 * A WebSocket client at the byte level, for sending what a well-behaved library never
 * would: frames with bad headers, unmasked payloads, reserved bits and opcodes.
 */
export interface RawWs {
  socket: net.Socket;
  /** Resolves when the server has closed the connection (or it broke). */
  closed: Promise<void>;
  /** Everything the server sent after the handshake. */
  received(): Buffer;
  write(bytes: Buffer): void;
  destroy(): void;
}

/** Opens `/ws` on `port` with a hand-written handshake; resolves after the 101. */
export function openRawWs(
  port: number,
  options: { headers?: Record<string, string>; host?: string } = {},
): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      if (upgraded) return;
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 4);
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
        return;
      }
      upgraded = true;
      resolve({
        socket,
        closed,
        received: () => buffer,
        write: (b) => {
          if (!socket.destroyed) socket.write(b);
        },
        destroy: () => socket.destroy(),
      });
    });
    socket.once('close', () => {
      if (!upgraded) reject(new Error('closed before the upgrade'));
    });
    const headers = {
      Host: options.host ?? `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Version': '13',
      ...options.headers,
    };
    socket.write(
      `GET /ws HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    );
  });
}

export interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  /** Mask the payload, as a client must (default true). */
  masked?: boolean;
  /** Declare this length in the header instead of the payload's own. */
  declaredLength?: bigint;
}

/** One frame, built exactly as told, including what RFC 6455 forbids. */
export function frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const masked = spec.masked ?? true;
  const length = spec.declaredLength ?? BigInt(payload.length);
  const first = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f);
  let header: Buffer;
  if (length < 126n) header = Buffer.from([first, (masked ? 0x80 : 0) | Number(length)]);
  else if (length < 65536n) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 126;
    header.writeUInt16BE(Number(length), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(length, 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([header, key, body]);
}

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
