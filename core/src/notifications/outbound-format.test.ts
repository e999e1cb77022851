import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Notification } from './notifications.ts';
import {
  atLeast,
  displayName,
  emailMessage,
  encodeWords,
  mailDate,
  mailHeader,
  oneLine,
  quotedPrintable,
  webhookRequest,
} from './outbound-format.ts';

/** RFC 2047 B words back to text, the way a mail reader does (whitespace between words dropped). */
const decodeWords = (text: string) =>
  text
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/g, (_, b64: string) =>
      Buffer.from(b64, 'base64').toString('utf8'),
    );

/** Quoted-printable back to text. */
const decodeQp = (text: string) =>
  Buffer.from(
    text
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  ).toString('utf8');

/** Header name → unfolded value, for the head of a message. */
function headersOf(message: string): [string, string][] {
  const head = message.slice(0, message.indexOf('\r\n\r\n'));
  return head
    .replace(/\r\n[ \t]/g, ' ')
    .split('\r\n')
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)] as [string, string]);
}

const at = Date.UTC(2024, 2, 5, 14, 3, 9);
const note = (o: Partial<Notification> = {}): Notification => ({
  id: 7,
  at,
  level: 'error',
  title: 'Nextcloud: Web page is failing',
  message: 'connection refused',
  source: 'package:nextcloud',
  seen: false,
  ...o,
});

test('levels order info < success < warning < error', () => {
  assert.ok(atLeast('error', 'warning'));
  assert.ok(atLeast('warning', 'warning'));
  assert.ok(!atLeast('success', 'warning'));
  assert.ok(!atLeast('info', 'success'));
  assert.ok(atLeast('info', 'info'));
});

test('one line: line breaks and other control characters become spaces, long text is cut', () => {
  assert.equal(oneLine('Disk full\r\nBcc: evil@example.com', 100), 'Disk full Bcc: evil@example.com');
  assert.equal(oneLine('a\u2028b\x00c\x1b[31md', 100), 'a b c [31md');
  assert.equal(oneLine('x'.repeat(50), 10), `${'x'.repeat(9)}…`);
  assert.equal([...oneLine('😀'.repeat(20), 5)].length, 5, 'cut by characters, not code units');
});

test('RFC 2047: plain ASCII stays, anything else becomes UTF-8 B words of at most 75 characters', () => {
  assert.deepEqual(encodeWords('Backup done'), ['Backup done']);
  // "=?" in plain text would read as the start of a word: encode it too.
  assert.notDeepEqual(encodeWords('a =?x?= b'), ['a =?x?= b']);
  for (const text of [
    'Sauvegarde terminée',
    'Überwachung: Dienst ausgefallen',
    '😀'.repeat(40),
    `a${'é'.repeat(100)}`,
  ]) {
    const words = encodeWords(text);
    for (const w of words) {
      assert.match(w, /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
      assert.ok(w.length <= 75, w);
    }
    assert.equal(decodeWords(words.join(' ')), text, 'no character split between words');
  }
});

test('mail headers fold at 78 characters and unfold to what they were', () => {
  const long =
    'Hello World: Web page is failing and has been for a while, which the owner should look at soon';
  const folded = mailHeader('Subject', long);
  for (const line of folded.split('\r\n')) assert.ok(line.length <= 78, line);
  assert.equal(folded.replace(/\r\n /g, ' '), `Subject: ${long}`);
  const utf8 = mailHeader('Subject', `Überwachung ${'ö'.repeat(80)}`);
  for (const line of utf8.split('\r\n')) assert.ok(line.length <= 78, line);
  assert.equal(
    decodeWords(utf8.replace(/\r\n /g, ' ').slice('Subject: '.length)),
    `Überwachung ${'ö'.repeat(80)}`,
  );
  assert.deepEqual(displayName('Hearth on box'), ['Hearth', 'on', 'box']);
  assert.deepEqual(displayName('Hearth (box) "x"'), ['"Hearth (box) \\"x\\""']);
});

test('quoted-printable: =, bytes over 127 and trailing spaces encoded; lines of at most 76', () => {
  assert.equal(quotedPrintable('a=b'), 'a=3Db');
  assert.equal(quotedPrintable('grüße'), 'gr=C3=BC=C3=9Fe');
  assert.equal(quotedPrintable('end \nnext'), 'end=20\r\nnext');
  assert.equal(
    quotedPrintable('.starts with a dot'),
    '.starts with a dot',
    'dots are the transport’s to stuff',
  );
  const long = `${'ab=é '.repeat(60)}x`;
  const encoded = quotedPrintable(long);
  for (const line of encoded.split('\r\n')) assert.ok(line.length <= 76, line);
  assert.equal(decodeQp(encoded), long);
  assert.equal(decodeQp(quotedPrintable('one\r\ntwo\rthree\nfour')), 'one\r\ntwo\r\nthree\r\nfour');
});

test('RFC 5322 dates in UTC', () => {
  assert.equal(mailDate(at), 'Tue, 05 Mar 2024 14:03:09 +0000');
  assert.equal(mailDate(Date.UTC(2030, 11, 31, 23, 59, 59)), 'Tue, 31 Dec 2030 23:59:59 +0000');
});

test('the mail: the title as Subject, the message, the box and the time in the body, and nothing injected', () => {
  const message = emailMessage({
    notification: note({
      title: 'Disk full\r\nBcc: thief@example.com\r\n\r\nfake body',
      message: 'Only 2 % left.\n.\nA line with a dot alone, and ünïcödé.',
    }),
    box: 'testbox',
    from: 'box@example.com',
    to: ['owner@example.com', 'other@example.com'],
    messageId: 'abc@testbox',
  });
  assert.doesNotMatch(message.replace(/\r\n/g, ''), /[\r\n]/, 'CRLF line ends only');
  const headers = headersOf(message);
  assert.deepEqual(
    headers.map(([name]) => name),
    [
      'Date',
      'From',
      'To',
      'Subject',
      'Message-ID',
      'MIME-Version',
      'Content-Type',
      'Content-Transfer-Encoding',
      'Auto-Submitted',
      'X-Hearth-Level',
    ],
  );
  const get = (name: string) => headers.find(([n]) => n === name)?.[1];
  assert.equal(get('Subject'), 'Disk full Bcc: thief@example.com fake body');
  assert.equal(get('From'), 'Hearth on testbox <box@example.com>');
  assert.equal(get('To'), 'owner@example.com, other@example.com');
  assert.equal(get('Date'), 'Tue, 05 Mar 2024 14:03:09 +0000');
  assert.equal(get('Message-ID'), '<abc@testbox>');
  const body = decodeQp(message.slice(message.indexOf('\r\n\r\n') + 4));
  assert.match(body, /^Only 2 % left\.\r\n\.\r\nA line with a dot alone, and ünïcödé\.\r\n/);
  assert.match(body, /Box: +testbox\r\n/);
  assert.match(body, /Level: +error\r\n/);
  assert.match(body, /Time: +2024-03-05 14:03:09 UTC\r\n/);

  const utf8 = headersOf(
    emailMessage({
      notification: note({ title: 'Sauvegarde terminée ✅' }),
      box: 'b',
      from: 'a@b.c',
      to: ['d@e.f'],
      messageId: 'x@b',
    }),
  );
  assert.equal(decodeWords(utf8.find(([n]) => n === 'Subject')![1]), 'Sauvegarde terminée ✅');
});

test('the webhook: ntfy headers from the level, every value one line, the message as the body', () => {
  const r = webhookRequest(note({ title: 'Down\r\nX-Injected: 1', message: 'it broke\nbadly' }), 'testbox');
  assert.equal(r.headers['Title'], 'Down X-Injected: 1');
  assert.equal(r.headers['Priority'], '5');
  assert.equal(r.headers['Tags'], 'rotating_light,testbox');
  assert.equal(r.headers['X-Hearth-Box'], 'testbox');
  assert.equal(r.headers['X-Hearth-Level'], 'error');
  assert.equal(r.headers['X-Hearth-Source'], 'package:nextcloud');
  assert.equal(r.headers['X-Hearth-Time'], '2024-03-05T14:03:09.000Z');
  assert.equal(r.body, 'it broke\nbadly');
  for (const v of Object.values(r.headers))
    assert.match(v, /^[\x20-\x7e]*$/, 'HTTP header values stay ASCII');
  assert.deepEqual(
    (['info', 'success', 'warning', 'error'] as const).map(
      (level) => webhookRequest(note({ level }), 'b').headers['Priority'],
    ),
    ['3', '3', '4', '5'],
  );
  const utf8 = webhookRequest(note({ title: 'Überwachung 🚨', message: '' }), 'b');
  assert.equal(decodeWords(utf8.headers['Title']!), 'Überwachung 🚨');
  assert.equal(utf8.body, 'Überwachung 🚨', 'an empty message sends the title');
});
