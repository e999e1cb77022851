import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import net from 'node:net';
import { after, mock, test } from 'node:test';
import tls from 'node:tls';
import { failsWith } from './outbound.testing.ts';
import { selfSignedCertificate } from './self-signed.ts';
import { type SmtpSend, sendMail } from './smtp.ts';

/**
 * The SMTP client against scripted servers on loopback: the LOGIN mechanism over
 * implicit TLS, and what a hostile or broken server does. The honest path against a real
 * server (aiosmtpd) is in core/test/notify-outbound.integration.test.ts.
 */

const { cert, key } = selfSignedCertificate();
const PASSWORD = 'open sesame 42';

/** The server's end of one connection: lines from the client, replies to it, STARTTLS. */
class ServerSide {
  #socket: net.Socket;
  #buffer = '';
  #wake: (() => void) | undefined;
  #closed = false;
  readonly received: string[];

  constructor(socket: net.Socket, received: string[]) {
    this.#socket = socket;
    this.received = received;
    this.#attach(socket);
  }

  say(text: string): void {
    if (!this.#socket.destroyed) this.#socket.write(text);
  }

  async line(): Promise<string> {
    for (;;) {
      const i = this.#buffer.indexOf('\r\n');
      if (i >= 0) {
        const line = this.#buffer.slice(0, i);
        this.#buffer = this.#buffer.slice(i + 2);
        this.received.push(line);
        return line;
      }
      if (this.#closed) throw new Error('closed');
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
  }

  async startTls(): Promise<void> {
    this.#socket.removeAllListeners('data');
    const secure = new tls.TLSSocket(this.#socket, {
      isServer: true,
      secureContext: tls.createSecureContext({ cert, key }),
    });
    this.#attach(secure);
    await new Promise((r) => secure.once('secure', r));
  }

  get closed(): boolean {
    return this.#closed;
  }

  #attach(socket: net.Socket): void {
    this.#socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buffer += d.toString('utf8');
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A server on loopback whose every connection plays `script`; `tls` for implicit TLS. */
async function scripted(script: (s: ServerSide) => Promise<void>, o: { tls?: boolean } = {}) {
  const received: string[] = [];
  const sides: ServerSide[] = [];
  const onConnection = (socket: net.Socket) => {
    socket.on('error', () => {});
    const side = new ServerSide(socket, received);
    sides.push(side);
    script(side)
      .catch(() => {})
      .finally(() => socket.end());
  };
  const server = o.tls ? tls.createServer({ cert, key }, onConnection) : net.createServer(onConnection);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, received, sides };
}

const mail = (port: number, o: Partial<SmtpSend> = {}): SmtpSend => ({
  host: '127.0.0.1',
  port,
  security: 'plain',
  from: 'box@example.com',
  to: ['me@example.com'],
  message: 'Subject: hi\r\n\r\nhello\r\n',
  timeoutMs: 2000,
  checkAddress: () => undefined,
  ca: cert,
  ...o,
});

/** A well-behaved transaction after the greeting and EHLO; answers DATA with `accepted`. */
async function transaction(s: ServerSide, accepted = '250 2.0.0 queued as 42\r\n') {
  for (;;) {
    const line = await s.line();
    if (line.startsWith('MAIL') || line.startsWith('RCPT') || line.startsWith('EHLO')) s.say('250 OK\r\n');
    else if (line === 'DATA') {
      s.say('354 go ahead\r\n');
      while ((await s.line()) !== '.') {}
      s.say(accepted);
    } else if (line === 'QUIT') {
      s.say('221 bye\r\n');
      return;
    } else s.say('502 what\r\n');
  }
}

test('implicit TLS with AUTH LOGIN: the transaction goes through and the reply comes back', async () => {
  const { port, received } = await scripted(
    async (s) => {
      s.say('220 mx ready\r\n');
      assert.match(await s.line(), /^EHLO \[127\.0\.0\.1\]$/);
      s.say('250-mx\r\n250-AUTH LOGIN\r\n250 SIZE 100000\r\n');
      assert.equal(await s.line(), 'AUTH LOGIN');
      s.say('334 VXNlcm5hbWU6\r\n');
      assert.equal(Buffer.from(await s.line(), 'base64').toString(), 'owner');
      s.say('334 UGFzc3dvcmQ6\r\n');
      assert.equal(Buffer.from(await s.line(), 'base64').toString(), PASSWORD);
      s.say('235 ok\r\n');
      await transaction(s);
    },
    { tls: true },
  );
  const result = await sendMail(
    mail(port, {
      security: 'tls',
      username: 'owner',
      password: PASSWORD,
      message: 'Subject: x\r\n\r\n.dot\r\n',
    }),
  );
  assert.equal(result.reply, '250 2.0.0 queued as 42');
  assert.deepEqual(received.slice(4), [
    'MAIL FROM:<box@example.com>',
    'RCPT TO:<me@example.com>',
    'DATA',
    'Subject: x',
    '',
    '..dot',
    '.',
  ]);
});

test('a certificate that does not verify, or names another host, stops the send before anything is said', async () => {
  const { port, received } = await scripted(
    async (s) => {
      s.say('220 mx\r\n');
      await s.line();
    },
    { tls: true },
  );
  await assert.rejects(
    sendMail(mail(port, { security: 'tls', ca: undefined })),
    failsWith('tls_failed', { permanent: true }),
  );
  const other = selfSignedCertificate({ names: ['DNS:mail.example.com'] });
  await assert.rejects(
    sendMail(mail(port, { security: 'tls', ca: other.cert })),
    failsWith('tls_failed', { permanent: true }),
  );
  assert.deepEqual(received, []);
});

test('STARTTLS: a server that does not offer it gets neither the password nor the mail', async () => {
  const { port, received } = await scripted(async (s) => {
    s.say('220 mx\r\n');
    await s.line();
    // A man in the middle strips STARTTLS from the list.
    s.say('250-mx\r\n250 AUTH PLAIN LOGIN\r\n');
    await transaction(s);
  });
  await assert.rejects(
    sendMail(mail(port, { security: 'starttls', username: 'owner', password: PASSWORD })),
    failsWith('starttls_unavailable', { permanent: true }),
  );
  assert.ok(
    received.every((l) => !l.startsWith('AUTH') && !l.startsWith('MAIL')),
    received.join(' | '),
  );
});

test('STARTTLS: replies pushed in before the handshake are refused (command injection)', async () => {
  const { port, received } = await scripted(async (s) => {
    s.say('220 mx\r\n');
    await s.line();
    s.say('250-mx\r\n250 STARTTLS\r\n');
    await s.line();
    s.say('220 go ahead\r\n250 injected\r\n');
    await s.line().catch(() => {});
  });
  await assert.rejects(sendMail(mail(port, { security: 'starttls' })), failsWith('smtp_protocol'));
  assert.deepEqual(received, ['EHLO [127.0.0.1]', 'STARTTLS']);
});

test('STARTTLS, then AUTH PLAIN: a server that echoes the credentials does not get them into the error', async () => {
  const { port } = await scripted(async (s) => {
    s.say('220 mx\r\n');
    await s.line();
    s.say('250-mx\r\n250 STARTTLS\r\n');
    await s.line();
    s.say('220 go ahead\r\n');
    await s.startTls();
    await s.line();
    s.say('250-mx\r\n250 AUTH PLAIN\r\n');
    const auth = await s.line();
    const sent = auth.split(' ')[2]!;
    s.say(
      `535 5.7.8 bad credentials ${sent} ${Buffer.from(sent, 'base64').toString().replace(/\0/g, ' ')}\r\n`,
    );
  });
  await assert.rejects(
    sendMail(mail(port, { security: 'starttls', username: 'owner', password: PASSWORD })),
    (e: unknown) => {
      failsWith('smtp_rejected', { permanent: true, message: /refused the user name or password/ })(e);
      const text = `${(e as Error).message} ${(e as Error).stack}`;
      assert.ok(!text.includes(PASSWORD), text);
      assert.ok(!text.includes(Buffer.from(`\0owner\0${PASSWORD}`).toString('base64')), text);
      return true;
    },
  );
});

test('the password never goes over a plain connection, even if asked', async () => {
  const { port, received } = await scripted(async (s) => {
    s.say('220 mx\r\n');
    await transaction(s);
  });
  await assert.rejects(
    sendMail(mail(port, { security: 'plain', username: 'owner', password: PASSWORD })),
    failsWith('auth_unavailable', { permanent: true }),
  );
  assert.deepEqual(received, [], 'not even connected');
});

test('a hostile server is cut off: an endless line, an endless reply, a flood, silence, a trickle', async () => {
  const endlessLine = await scripted(async (s) => {
    s.say('220 ');
    for (let i = 0; i < 1000 && !s.closed; i++) {
      s.say('x'.repeat(1000));
      await new Promise((r) => setImmediate(r));
    }
  });
  await assert.rejects(
    sendMail(mail(endlessLine.port)),
    failsWith('smtp_protocol', { message: /longer than/ }),
  );

  const endlessReply = await scripted(async (s) => {
    for (let i = 0; i < 10_000 && !s.closed; i++) {
      s.say('220-still greeting you\r\n');
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  });
  await assert.rejects(sendMail(mail(endlessReply.port)), failsWith('smtp_protocol', { message: /lines/ }));

  const flood = await scripted(async (s) => {
    s.say('220 hi\r\n'.repeat(100));
  });
  await assert.rejects(
    sendMail(mail(flood.port)),
    failsWith('smtp_protocol', { message: /nobody asked for/ }),
  );

  const silent = await scripted(async (s) => {
    await s.line().catch(() => {});
  });
  await assert.rejects(
    sendMail(mail(silent.port, { timeoutMs: 300 })),
    failsWith('send_timeout', { permanent: false }),
  );

  const trickle = await scripted(async (s) => {
    for (const c of '220 slowly but surely\r\n') {
      if (s.closed) return;
      s.say(c);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  await assert.rejects(sendMail(mail(trickle.port, { timeoutMs: 500 })), failsWith('send_timeout'));
});

test('refusals say what was refused; 4xx may heal, 5xx will not', async () => {
  const script = (code: string) => async (s: ServerSide) => {
    s.say('220 mx\r\n');
    await s.line();
    s.say('250 mx\r\n');
    await s.line();
    s.say('250 OK\r\n');
    await s.line();
    s.say(`${code} mailbox unavailable\r\n`);
  };
  const busy = await scripted(script('450'));
  await assert.rejects(
    sendMail(mail(busy.port)),
    failsWith('smtp_rejected', { permanent: false, message: /refused the recipient me@example\.com: 450/ }),
  );
  const gone = await scripted(script('550'));
  await assert.rejects(sendMail(mail(gone.port)), failsWith('smtp_rejected', { permanent: true }));
});

test('no address we refuse is connected to; no injected line is sent', async () => {
  const { port, received } = await scripted(async (s) => {
    s.say('220 mx\r\n');
    await transaction(s);
  });
  await assert.rejects(
    sendMail(mail(port, { checkAddress: () => 'the box itself' })),
    failsWith('destination_refused', { permanent: true, message: /127\.0\.0\.1: the box itself/ }),
  );
  await assert.rejects(
    sendMail(
      mail(port, {
        host: 'localhost',
        checkAddress: (a) => (a === '127.0.0.1' || a === '::1' ? 'loopback' : undefined),
      }),
    ),
    failsWith('destination_refused', { message: /localhost resolves to/ }),
  );
  assert.deepEqual(received, []);
  // The domain checks addresses when a channel is added; the client refuses again.
  await assert.rejects(
    sendMail(mail(port, { to: ['me@example.com>\r\nRCPT TO:<x@evil.com'] })),
    failsWith('smtp_protocol'),
  );
  assert.ok(!(received as string[]).some((l) => l.includes('evil')), received.join(' | '));
});

test('a name whose first address refuses: the next one takes the mail', async (t) => {
  const { port, received } = await scripted(async (s) => {
    s.say('220 mx\r\n');
    await transaction(s);
  });
  const lookup = mock.method(dns, 'lookup', async () => [
    { address: '127.0.0.2', family: 4 },
    { address: '127.0.0.1', family: 4 },
  ]);
  t.after(() => lookup.mock.restore());
  assert.deepEqual(await sendMail(mail(port, { host: 'mx.example.com' })), {
    reply: '250 2.0.0 queued as 42',
  });
  assert.equal(received[0], 'EHLO [127.0.0.1]');
});
