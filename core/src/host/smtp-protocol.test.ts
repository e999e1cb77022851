import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  addressLiteral,
  authPlain,
  base64,
  chooseAuth,
  command,
  dataBody,
  describeReply,
  MAX_REPLY_LINE,
  MAX_REPLY_LINES,
  parseEhlo,
  pathArg,
  ReplyReader,
  SmtpProtocolError,
  type SmtpReply,
} from './smtp-protocol.ts';

/** A transcript's turns: each run of `S:` lines is one reply, each `C:` line one line we send. */
function transcript(name: string) {
  const lines = fs
    .readFileSync(path.join(import.meta.dirname, '__fixtures__', name), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('S: ') || l.startsWith('C: '));
  const server = lines.filter((l) => l.startsWith('S: ')).map((l) => `${l.slice(3)}\r\n`);
  const client = lines.filter((l) => l.startsWith('C: ')).map((l) => l.slice(3));
  return { server: Buffer.from(server.join(''), 'latin1'), client };
}

/** Feeds `bytes` in pieces of 1 to 7 bytes: replies must not depend on how TCP cuts them. */
function readAll(bytes: Buffer): SmtpReply[] {
  const reader = new ReplyReader();
  const out: SmtpReply[] = [];
  for (let i = 0, step = 1; i < bytes.length; i += step, step = (step % 7) + 1) {
    out.push(...reader.feed(bytes.subarray(i, i + step)));
  }
  assert.equal(reader.partial, false);
  return out;
}

test('aiosmtpd, plain: greeting, EHLO, the transaction, errors and QUIT read as one reply each', () => {
  const { server } = transcript('smtp-aiosmtpd-plain.txt');
  const replies = readAll(server);
  assert.deepEqual(
    replies.map((r) => r.code),
    [220, 250, 250, 250, 250, 354, 250, 250, 501, 221],
  );
  assert.deepEqual(replies[1], { code: 250, lines: ['sink.test', 'SIZE 33554432', '8BITMIME', 'HELP'] });
  assert.deepEqual(parseEhlo(replies[1]!), { starttls: false, auth: new Set(), size: 33554432 });
  assert.equal(describeReply(replies[8]!), '501 Syntax: VRFY <address>');
});

test('aiosmtpd, STARTTLS required: EHLO offers it, mail before it is refused with 530', () => {
  const replies = readAll(transcript('smtp-aiosmtpd-starttls.txt').server);
  assert.deepEqual(
    replies.map((r) => r.code),
    [220, 250, 530, 220],
  );
  assert.equal(parseEhlo(replies[1]!).starttls, true);
  assert.equal(describeReply(replies[2]!), '530 Must issue a STARTTLS command first');
});

test('aiosmtpd, AUTH: mechanisms from EHLO, LOGIN challenges, 535 for a wrong password, 235 for PLAIN', () => {
  const { server, client } = transcript('smtp-aiosmtpd-auth.txt');
  const replies = readAll(server);
  assert.deepEqual(
    replies.map((r) => r.code),
    [220, 250, 334, 334, 535, 235, 250, 221],
  );
  const ext = parseEhlo(replies[1]!);
  assert.deepEqual([...ext.auth].sort(), ['LOGIN', 'PLAIN']);
  assert.equal(chooseAuth(ext.auth), 'PLAIN');
  assert.equal(chooseAuth(new Set(['LOGIN', 'CRAM-MD5'])), 'LOGIN');
  assert.equal(chooseAuth(new Set(['XOAUTH2'])), undefined);
  // What we send is what the real client sent, byte for byte.
  assert.equal(command('AUTH', `PLAIN ${authPlain('owner', 'right password')}`), `${client[4]}\r\n`);
  assert.equal(base64('owner'), client[2]);
  assert.equal(command('EHLO', addressLiteral('127.0.0.1')), `${client[0]}\r\n`);
  assert.equal(command('MAIL', pathArg('FROM', 'box@example.com')), `${client[5]}\r\n`);
  assert.throws(() => authPlain('owner', 'pass\0word'), SmtpProtocolError);
});

test('RFC 5321 D.1: a SIZE without a number, a refused recipient among accepted ones', () => {
  const replies = readAll(transcript('smtp-rfc5321-d1.txt').server);
  assert.deepEqual(
    replies.map((r) => r.code),
    [220, 250, 250, 250, 550, 250, 354, 250, 221],
  );
  assert.deepEqual(parseEhlo(replies[1]!), { starttls: false, auth: new Set(), size: undefined });
  assert.deepEqual(
    parseEhlo({ code: 250, lines: ['x', 'AUTH=LOGIN PLAIN'] }).auth,
    new Set(['LOGIN', 'PLAIN']),
  );
});

test('a hostile server cannot make the reader hold much: long lines, endless replies, not SMTP', () => {
  const reader = () => new ReplyReader();
  // A line that never ends is refused once it passes the bound, not when it ends.
  assert.throws(() => reader().feed(Buffer.alloc(MAX_REPLY_LINE + 1, 0x41)), /longer than/);
  assert.throws(() => reader().feed(Buffer.from(`250 ${'x'.repeat(MAX_REPLY_LINE)}\r\n`)), /longer than/);
  const r = reader();
  assert.throws(() => {
    for (let i = 0; i < MAX_REPLY_LINES + 1; i++) r.feed(Buffer.from('250-more\r\n'));
  }, /lines/);
  assert.throws(() => reader().feed(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), /not an SMTP reply/);
  assert.throws(() => reader().feed(Buffer.from('250-a\r\n354 b\r\n')), /changed its code/);
  assert.throws(() => reader().feed(Buffer.from('199 too low\r\n')), /not an SMTP reply/);
  // What the error quotes is cut and has no control characters.
  assert.throws(
    () => reader().feed(Buffer.from(`\x1b[31m${'y'.repeat(300)}\r\n`)),
    (e: Error) => !e.message.includes('\x1b') && e.message.length < 200,
  );
  // Lenient where it costs nothing: a bare LF, a code with no text.
  assert.deepEqual(reader().feed(Buffer.from('220 hi\n250\r\n')), [
    { code: 220, lines: ['hi'] },
    { code: 250, lines: [''] },
  ]);
});

test('no value can end a command line early or close the address brackets', () => {
  for (const bad of ['a\r\nRCPT TO:<x@y>', 'a\nb', 'a\0b']) {
    assert.throws(() => command('EHLO', bad), SmtpProtocolError);
  }
  for (const bad of ['a@b> SIZE=1', 'a b@c', '<a@b', 'a@b\r\n']) {
    assert.throws(() => pathArg('TO', bad), SmtpProtocolError);
  }
});

test('DATA: CRLF everywhere, leading dots doubled, no early end (SMTP smuggling), one final dot line', () => {
  assert.equal(dataBody('a\r\n.b\r\n..c\r\n').toString(), 'a\r\n..b\r\n...c\r\n.\r\n');
  assert.equal(dataBody('no newline at the end').toString(), 'no newline at the end\r\n.\r\n');
  // Every way to write "end of data" inside the message becomes a stuffed dot line.
  const smuggled = 'x\r\n.\r\nMAIL FROM:<evil@x>\n.\nRCPT TO:<y@z>\r.\r\nDATA';
  const body = dataBody(smuggled).toString();
  assert.equal(body, 'x\r\n..\r\nMAIL FROM:<evil@x>\r\n..\r\nRCPT TO:<y@z>\r\n..\r\nDATA\r\n.\r\n');
  assert.equal(body.indexOf('\r\n.\r\n'), body.length - 5, 'the only end of data is the last');
  assert.doesNotMatch(body.replace(/\r\n/g, ''), /[\r\n]/, 'no bare CR or LF');
});

test('EHLO names us by address literal', () => {
  assert.equal(addressLiteral('192.168.1.20'), '[192.168.1.20]');
  assert.equal(addressLiteral('::ffff:10.0.0.2'), '[10.0.0.2]');
  assert.equal(addressLiteral('fd00::1'), '[IPv6:fd00::1]');
  assert.equal(addressLiteral(undefined), '[127.0.0.1]');
});
