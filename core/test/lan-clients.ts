import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

/*
 * Clients for the LAN ports test, run by node inside the test's "LAN" namespace:
 *   ws <ca> <address> <port> <name> <message>   a WebSocket over TLS: prints what comes back
 *   flood <address> <port> <n> <m>              opens n TCP connections, prints once the box closed m (or after 30 s)
 *   slow <ca> <address> <port> <name>           sends half a request's headers, prints how the box ended it
 */

const [, , kind, ...args] = process.argv;

function ws(ca: string, host: string, port: number, servername: string, message: string): void {
  const s = tls.connect(
    { host, port, servername, ca: fs.readFileSync(ca), ALPNProtocols: ['http/1.1'] },
    () => {
      s.write(
        `GET /echo HTTP/1.1\r\nHost: ${servername}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    },
  );
  let buf = Buffer.alloc(0);
  let open = false;
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!open) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      if (!head.startsWith('HTTP/1.1 101')) {
        console.log(`refused: ${head.split('\r\n')[0]}`);
        return void s.destroy();
      }
      buf = buf.subarray(end + 4);
      open = true;
      const payload = Buffer.from(message);
      const mask = Buffer.from([1, 2, 3, 4]);
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
      s.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
    }
    if (buf.length >= 2 && buf.length >= 2 + (buf[1]! & 0x7f)) {
      console.log(buf.subarray(2, 2 + (buf[1]! & 0x7f)).toString());
      s.end();
      s.destroy();
    }
  });
  s.on('error', (e) => console.log(`error: ${e.message}`));
}

function flood(host: string, port: number, n: number, expectClosed: number): void {
  let closed = 0;
  let connected = 0;
  const sockets: net.Socket[] = [];
  const report = () => {
    console.log(JSON.stringify({ connected, closed }));
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host, port });
    sockets.push(s);
    s.on('error', () => {});
    s.on('close', () => {
      if (++closed >= expectClosed) report();
    });
    s.on('connect', () => {
      connected++;
    });
  }
  // A box that keeps them all is reported as such, after a while.
  setTimeout(report, 30_000);
}

function slow(ca: string, host: string, port: number, servername: string): void {
  const started = Date.now();
  const s = tls.connect({ host, port, servername, ca: fs.readFileSync(ca) }, () => {
    s.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nX-Slow: `);
    const drip = setInterval(() => s.write('a'), 500);
    s.on('close', () => clearInterval(drip));
  });
  let answer = '';
  s.on('data', (d: Buffer) => {
    answer += d.toString();
  });
  s.on('error', () => {});
  s.on('close', () =>
    console.log(
      JSON.stringify({ status: answer.split('\r\n')[0] ?? '', seconds: (Date.now() - started) / 1000 }),
    ),
  );
}

if (kind === 'ws') ws(args[0]!, args[1]!, Number(args[2]), args[3]!, args[4]!);
else if (kind === 'flood') flood(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
else if (kind === 'slow') slow(args[0]!, args[1]!, Number(args[2]), args[3]!);
else throw new Error(`no client ${kind}`);
