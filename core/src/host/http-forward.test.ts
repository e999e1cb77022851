import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardRequestHeaders, forwardResponseHeaders, upgradeRequest } from './http-forward.ts';

test('hop-by-hop fields stay on their hop; credentials pass; X-Forwarded-* are ours', () => {
  const raw = [
    'Host',
    'cal.local:20001',
    'Authorization',
    'Basic dXNlcjpwYXNz',
    'Cookie',
    'a=b',
    'Connection',
    'keep-alive, X-Secret',
    'X-Secret',
    'drop me',
    'Keep-Alive',
    'timeout=5',
    'Transfer-Encoding',
    'chunked',
    'X-Forwarded-For',
    '6.6.6.6',
    'Forwarded',
    'for=6.6.6.6',
    'Upgrade',
    'websocket',
  ];
  const out = forwardRequestHeaders(raw, {
    clientAddress: '::ffff:10.0.0.2',
    host: 'cal.local:20001',
    upgrade: false,
  });
  assert.deepEqual(out, [
    ['Host', 'cal.local:20001'],
    ['Authorization', 'Basic dXNlcjpwYXNz'],
    ['Cookie', 'a=b'],
    ['X-Forwarded-For', '10.0.0.2'],
    ['X-Forwarded-Proto', 'https'],
    ['X-Forwarded-Host', 'cal.local:20001'],
  ]);
});

test('an upgrade keeps Connection and Upgrade', () => {
  const raw = ['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'];
  const out = forwardRequestHeaders(raw, { clientAddress: '10.0.0.2', host: 'h', upgrade: true });
  assert.deepEqual(out.slice(0, 4), [
    ['Host', 'h'],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'websocket'],
    ['Sec-WebSocket-Key', 'k'],
  ]);
});

test('a response loses its hop-by-hop fields only', () => {
  const raw = [
    'Content-Type',
    'text/html',
    'Transfer-Encoding',
    'chunked',
    'Connection',
    'close',
    'Set-Cookie',
    's=1',
  ];
  assert.deepEqual(forwardResponseHeaders(raw), [
    ['Content-Type', 'text/html'],
    ['Set-Cookie', 's=1'],
  ]);
});

test('an upgrade request never carries a field that could split a line', () => {
  const text = upgradeRequest('GET', '/ws', [
    ['Host', 'h'],
    ['Bad\r\nX-Injected', 'v'],
    ['X-Value', 'a\r\nX-Injected: 1'],
  ]);
  assert.equal(text, 'GET /ws HTTP/1.1\r\nHost: h\r\n\r\n');
});
