import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { after, mock, test } from 'node:test';
import { failsWith } from './outbound.testing.ts';
import { selfSignedCertificate } from './self-signed.ts';
import { postWebhook, type WebhookSend } from './webhook.ts';

/** The webhook client against receivers on loopback: honest, failing, redirecting, hostile. */

const { cert, key } = selfSignedCertificate();
const TOKEN = 'tk_webhook_secret_token';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function receiver(
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  o: { tls?: boolean } = {},
) {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString('utf8');
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, res);
    });
  };
  const server = o.tls ? https.createServer({ cert, key }, handler) : http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`, seen };
}

const post = (url: string, o: Partial<WebhookSend> = {}): WebhookSend => ({
  url,
  headers: {
    'Content-Type': 'text/plain; charset=utf-8',
    Title: 'Disk full',
    Priority: '5',
    Tags: 'warning',
  },
  body: 'only 2 % left',
  timeoutMs: 2000,
  checkAddress: () => undefined,
  ca: cert,
  ...o,
});

test('a POST with the headers and the body, to the URL’s path and query, over http and https', async () => {
  for (const tls of [false, true]) {
    const r = await receiver((_, res) => res.end('{"id":"x"}'), { tls });
    const answer = await postWebhook(
      post(`${r.url}/box-alerts?x=1`, { headers: { ...post('').headers, Authorization: `Bearer ${TOKEN}` } }),
    );
    assert.deepEqual(answer, { status: 200 });
    const [seen] = r.seen;
    assert.equal(seen!.method, 'POST');
    assert.equal(seen!.url, '/box-alerts?x=1');
    assert.equal(seen!.headers['title'], 'Disk full');
    assert.equal(seen!.headers['priority'], '5');
    assert.equal(seen!.headers['tags'], 'warning');
    assert.equal(seen!.headers['authorization'], `Bearer ${TOKEN}`);
    assert.equal(seen!.headers['host'], new URL(r.url).host);
    assert.equal(seen!.body, 'only 2 % left');
  }
});

test('a redirect is not followed, to another host or not', async () => {
  const elsewhere = await receiver((_, res) => res.end());
  const r = await receiver((_, res) => {
    res.writeHead(307, { Location: `${elsewhere.url}/steal` });
    res.end();
  });
  await assert.rejects(
    postWebhook(post(`${r.url}/x`)),
    failsWith('webhook_redirect', {
      permanent: true,
      message: /307, pointing to http:\/\/127\.0\.0\.1:\d+\/steal/,
    }),
  );
  assert.equal(elsewhere.seen.length, 0);
});

test('4xx is final (except 408 and 429), 5xx may heal; what the receiver said is cut and cleaned', async () => {
  for (const [status, permanent] of [
    [401, true],
    [404, true],
    [408, false],
    [429, false],
    [500, false],
    [503, false],
  ] as const) {
    const r = await receiver((_, res) => {
      res.writeHead(status);
      res.end(`{"error":"nope \x1b[2J${TOKEN}"}${'z'.repeat(1000)}`);
    });
    await assert.rejects(
      postWebhook(post(r.url, { headers: { Authorization: `Bearer ${TOKEN}` } })),
      (e: unknown) => {
        failsWith('webhook_rejected', {
          permanent,
          message: new RegExp(`answered ${status}: \\{"error":"nope`),
        })(e);
        const message = (e as Error).message;
        assert.ok(!message.includes(TOKEN), message);
        assert.ok(!message.includes('\x1b'), message);
        assert.ok(message.length < 300, message);
        return true;
      },
    );
  }
});

test('a hostile receiver is cut off: silence, an endless answer', async () => {
  const silent = await receiver(() => {});
  await assert.rejects(
    postWebhook(post(silent.url, { timeoutMs: 300 })),
    failsWith('send_timeout', { permanent: false }),
  );
  const endless = await receiver((_, res) => {
    res.writeHead(500);
    const more = () => {
      if (res.destroyed) return;
      res.write('x'.repeat(65536), () => setImmediate(more));
    };
    more();
  });
  await assert.rejects(
    postWebhook(post(endless.url)),
    failsWith('webhook_rejected', { message: /answered 500/ }),
  );
});

test('refused addresses get no request; line breaks never make headers; TLS must verify', async () => {
  const r = await receiver((_, res) => res.end());
  await assert.rejects(
    postWebhook(post(r.url, { checkAddress: () => 'the box itself' })),
    failsWith('destination_refused', { permanent: true }),
  );
  await assert.rejects(postWebhook(post(r.url, { headers: { Title: 'a\r\nX-Injected: 1' } })), /line break/);
  assert.equal(r.seen.length, 0);
  const secure = await receiver((_, res) => res.end(), { tls: true });
  await assert.rejects(
    postWebhook(post(secure.url, { ca: undefined })),
    failsWith('tls_failed', { permanent: true }),
  );
  await assert.rejects(postWebhook(post('ftp://127.0.0.1/x')), failsWith('destination_refused'));
});

test('a name: its addresses checked together, tried in turn, the TLS name verified against the URL', async (t) => {
  const secure = await receiver((_, res) => res.end(), { tls: true });
  const port = new URL(secure.url).port;
  // The certificate names localhost: verified against the URL's name though the connection goes to an address.
  const lookup = mock.method(dns, 'lookup', async () => [
    { address: '127.0.0.2', family: 4 },
    { address: '127.0.0.1', family: 4 },
  ]);
  t.after(() => lookup.mock.restore());
  // 127.0.0.2 refuses (nothing listens there); 127.0.0.1 answers.
  assert.deepEqual(await postWebhook(post(`https://localhost:${port}/x`)), { status: 200 });
  assert.equal(secure.seen[0]!.headers['host'], `localhost:${port}`);
  const other = selfSignedCertificate({ names: ['DNS:ntfy.example.com'] });
  await assert.rejects(
    postWebhook(post(`https://localhost:${port}/x`, { ca: other.cert })),
    failsWith('tls_failed', { permanent: true }),
  );
  // One bad address among good ones refuses the name.
  lookup.mock.mockImplementation(async () => [
    { address: '127.0.0.1', family: 4 },
    { address: '169.254.169.254', family: 4 },
  ]);
  await assert.rejects(
    postWebhook(
      post(`https://localhost:${port}/x`, {
        checkAddress: (a) => (a.startsWith('169.254.') ? 'link-local' : undefined),
      }),
    ),
    failsWith('destination_refused', { message: /localhost resolves to 169\.254\.169\.254: link-local/ }),
  );
  assert.equal(secure.seen.length, 1);
});
