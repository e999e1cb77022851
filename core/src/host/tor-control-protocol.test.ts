import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  ControlCommandFailed,
  ControlProtocolError,
  command,
  parseAddOnion,
  parseAuthChallenge,
  parseBootstrapPhase,
  parseGetInfo,
  parseKeyValues,
  parseOnionList,
  parseProtocolInfo,
  quote,
  type Reply,
  ReplyReader,
} from './tor-control-protocol.ts';

// The fixtures are what tor 0.4.9 (Debian 13) answered on its control socket, byte for byte.
const fixture = (name: string) => fs.readFileSync(path.join(import.meta.dirname, '__fixtures__', name));

/** Feeds bytes in pieces of 1 to 7: replies must not depend on how the socket cuts them. */
function readAll(bytes: Buffer, reader = new ReplyReader()): Reply[] {
  const out: Reply[] = [];
  for (let i = 0, step = 1; i < bytes.length; i += step, step = (step % 7) + 1) {
    out.push(...reader.push(bytes.subarray(i, i + step)));
  }
  return out;
}

test('PROTOCOLINFO: methods, the cookie file, the version', () => {
  const [reply] = readAll(fixture('tor-protocolinfo.txt'));
  assert.ok(reply);
  assert.equal(reply.lines.length, 4);
  assert.deepEqual(parseProtocolInfo(reply), {
    methods: ['COOKIE', 'SAFECOOKIE'],
    cookieFile: '/tmp/torcap/d/control_auth_cookie',
    torVersion: '0.4.9.11',
  });
});

test('GETINFO: one-line values and a multi-line data block', () => {
  const replies = readAll(fixture('tor-getinfo.txt'));
  assert.equal(replies.length, 4);
  const [phase, , config, unknown] = replies as [Reply, Reply, Reply, Reply];
  assert.deepEqual(parseBootstrapPhase(parseGetInfo(phase).get('status/bootstrap-phase') ?? ''), {
    progress: 0,
    tag: 'starting',
    summary: 'Starting',
  });
  const text = parseGetInfo(config).get('config-text') ?? '';
  assert.equal(text.split('\n').length, 6);
  assert.match(text, /^DisableNetwork 1$/m);
  assert.equal(unknown.status, 552);
  assert.throws(
    () => parseGetInfo(unknown),
    (e: unknown) => e instanceof ControlCommandFailed && e.status === 552 && /nonsense/.test(e.torSays),
  );
});

test('onions/detached: a data block of ids, or one on the line', () => {
  const [reply] = readAll(fixture('tor-onions-detached.txt'));
  assert.ok(reply);
  const ids = parseOnionList(parseGetInfo(reply).get('onions/detached') ?? '');
  assert.deepEqual(ids, [
    'ovlvdt6i3x5lavecqr3badh5witsxya6oo7hyoowxbmzug34kvhdvlyd',
    'ivl5hgz3744vbdbocesi6yotcf4yd7eiyz7hyj3qczpz3plyeekq52id',
  ]);
  const [one] = readAll(fixture('tor-getinfo.txt'));
  assert.ok(one);
  assert.deepEqual(parseOnionList(''), []);
  assert.throws(() => parseOnionList('not-an-id'), ControlProtocolError);
});

test('ADD_ONION: the ServiceID; a refusal keeps tor’s words', () => {
  const [ok, refused] = readAll(fixture('tor-add-onion.txt')) as [Reply, Reply];
  assert.deepEqual(parseAddOnion(ok), {
    serviceId: 'ovlvdt6i3x5lavecqr3badh5witsxya6oo7hyoowxbmzug34kvhdvlyd',
  });
  assert.throws(
    () => parseAddOnion(refused),
    (e: unknown) =>
      e instanceof ControlCommandFailed &&
      e.status === 512 &&
      e.torSays === 'Failed to decode ED25519-V3 key',
  );
  const [del, unknown] = readAll(fixture('tor-del-onion.txt')) as [Reply, Reply];
  assert.equal(del.status, 250);
  assert.equal(unknown.status, 552);
});

test('AUTHCHALLENGE: hash and nonce as bytes; short ones refused', () => {
  const [reply] = readAll(fixture('tor-authchallenge.txt'));
  assert.ok(reply);
  const c = parseAuthChallenge(reply);
  assert.equal(c.serverHash.length, 32);
  assert.equal(c.serverNonce.toString('hex').toUpperCase().slice(0, 8), '3F94A929');
  const short = readAll(Buffer.from('250 AUTHCHALLENGE SERVERHASH=00 SERVERNONCE=11\r\n'))[0] as Reply;
  assert.throws(() => parseAuthChallenge(short), ControlProtocolError);
});

test('bootstrap phases: done, and a warning when stuck', () => {
  assert.equal(parseBootstrapPhase('NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"').progress, 100);
  const stuck = parseBootstrapPhase(
    'WARN BOOTSTRAP PROGRESS=10 TAG=conn_done SUMMARY="Connected to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=ignore',
  );
  assert.deepEqual(stuck, {
    progress: 10,
    tag: 'conn_done',
    summary: 'Connected to a relay',
    warning: 'Connection refused',
  });
  assert.throws(() => parseBootstrapPhase('BOOTSTRAP PROGRESS=100'), ControlProtocolError);
  assert.throws(() => parseBootstrapPhase('NOTICE BOOTSTRAP PROGRESS=101'), ControlProtocolError);
  assert.throws(() => parseBootstrapPhase('NOTICE BOOTSTRAP TAG=done'), ControlProtocolError);
});

test('quoted values: escapes, octal, and an unclosed quote refused', () => {
  const kv = parseKeyValues('A=1 B="two words" C="q\\"uote\\\\ \\n\\101" FLAG');
  assert.deepEqual(
    [...kv],
    [
      ['A', '1'],
      ['B', 'two words'],
      ['C', 'q"uote\\ \nA'],
      ['FLAG', ''],
    ],
  );
  assert.throws(() => parseKeyValues('A="open'), ControlProtocolError);
  assert.throws(() => parseKeyValues('A="ends\\'), ControlProtocolError);
  assert.deepEqual(parseKeyValues(`X=${quote('a "b" \\ c\nd')}`).get('X'), 'a "b" \\ c\nd');
});

test('malformed input throws: not a reply line, a changed status, bounds', () => {
  assert.throws(() => new ReplyReader().push(Buffer.from('hello\r\n')), ControlProtocolError);
  assert.throws(() => new ReplyReader().push(Buffer.from('25 OK\r\n')), ControlProtocolError);
  assert.throws(() => new ReplyReader().push(Buffer.from('250-a\r\n251 b\r\n')), /status changed/);
  // A line with no end is refused once it passes the bound, not buffered for ever.
  const reader = new ReplyReader({ maxLineBytes: 64 });
  assert.throws(() => reader.push(Buffer.alloc(100, 'a')), /longer than 64/);
  assert.throws(
    () => new ReplyReader({ maxReplyBytes: 100 }).push(Buffer.from('250-xxxxxxxxxxxxxxxxxxxx\r\n'.repeat(5))),
    /larger than 100/,
  );
  assert.throws(
    () => new ReplyReader({ maxLines: 3 }).push(Buffer.from('250-a\r\n'.repeat(4))),
    /more than 3/,
  );
  // An endless data block is bounded too.
  assert.throws(
    () => new ReplyReader({ maxReplyBytes: 1000 }).push(Buffer.from(`250+x=\r\n${'line\r\n'.repeat(300)}`)),
    /larger than/,
  );
});

test('data blocks undo dot-stuffing; asynchronous 650 events are skipped', () => {
  const bytes = Buffer.from('650 CIRC 1 BUILT\r\n250+k=\r\n..dotted\r\nplain\r\n.\r\n250 OK\r\n');
  const replies = readAll(bytes);
  assert.equal(replies.length, 1);
  assert.equal(parseGetInfo(replies[0] as Reply).get('k'), '.dotted\nplain');
});

test('a command is one line', () => {
  assert.equal(command('GETINFO version'), 'GETINFO version\r\n');
  assert.throws(() => command('GETINFO version\r\nSIGNAL HALT'), ControlProtocolError);
});
