import type { Notification, NotificationLevel } from './notifications.ts';

/**
 * A notification as it leaves the box: an RFC 5322 mail message, or an ntfy-style HTTP
 * request. Pure: the host adapters send what these return.
 */

export const LEVELS: readonly NotificationLevel[] = ['info', 'success', 'warning', 'error'];

/** Whether `level` is at least `min` (info < success < warning < error). */
export const atLeast = (level: NotificationLevel, min: NotificationLevel): boolean =>
  LEVELS.indexOf(level) >= LEVELS.indexOf(min);

/**
 * One line of text: control characters (CR and LF first of all) and Unicode line
 * separators become spaces, so a title cannot start a header of its own anywhere; cut
 * to `max` characters.
 */
export function oneLine(text: string, max: number): string {
  const flat = text
    .replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  const chars = [...flat];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}

/** Printable ASCII that cannot be taken for an encoded word. */
const plainHeaderText = (text: string) => /^[\x20-\x7e]*$/.test(text) && !text.includes('=?');

/**
 * RFC 2047 encoded words (UTF-8, base64) for text that is not plain ASCII, each at most
 * 64 characters and never splitting a character; plain text is returned as it is.
 * Returns the words: a mail header folds between them, an HTTP header joins them with
 * spaces (decoders drop the whitespace between adjacent encoded words).
 */
export function encodeWords(text: string): string[] {
  if (plainHeaderText(text)) return [text];
  const words: string[] = [];
  let chunk = '';
  // 39 bytes of UTF-8 → 52 of base64, + `=?UTF-8?B?` and `?=` = 64: a word fits after
  // `Subject: ` within RFC 2047's 76 characters per line.
  for (const char of text) {
    if (Buffer.byteLength(chunk + char, 'utf8') > 39) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`);
}

/** A header value for HTTP: one line, encoded words where it is not ASCII. */
export const httpHeaderText = (text: string, max = 250): string => encodeWords(oneLine(text, max)).join(' ');

/**
 * `Name: value` folded to lines of at most 78 characters where it has spaces to fold at
 * (RFC 5322 2.2.3); plain text is folded at its spaces, encoded words between words.
 */
export const mailHeader = (name: string, value: string): string =>
  fold(name, plainHeaderText(value) ? value.split(' ') : encodeWords(value));

function fold(name: string, tokens: string[]): string {
  const lines: string[] = [];
  let line = `${name}:`;
  for (const token of tokens) {
    if (line.length + 1 + token.length > 78 && line.length > name.length + 1) {
      lines.push(line);
      line = '';
    }
    line += ` ${token}`;
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** A display name as RFC 5322 phrase tokens: atoms as they are, else quoted, else encoded words. */
export function displayName(name: string): string[] {
  if (/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/.test(name) && !name.includes('=?')) return name.split(' ');
  if (plainHeaderText(name)) return [`"${name.replace(/(["\\])/g, '\\$1')}"`];
  return encodeWords(name);
}

/**
 * Quoted-printable (RFC 2045 6.7) of UTF-8 text: lines of at most 76 characters, CRLF
 * line ends, `=` and bytes outside printable ASCII as `=XX`, spaces before a line end
 * encoded so no transport strips them.
 */
export function quotedPrintable(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      const tokens: string[] = [];
      bytes.forEach((b, i) => {
        const last = i === bytes.length - 1;
        const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        tokens.push(literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
      });
      // Soft line breaks (`=` at the end) keep each line at 76 characters without cutting an `=XX`.
      const out: string[] = [];
      let current = '';
      for (const t of tokens) {
        if (current.length + t.length > 75) {
          out.push(`${current}=`);
          current = '';
        }
        current += t;
      }
      out.push(current);
      return out.join('\r\n');
    })
    .join('\r\n');
}

const pad = (n: number) => String(n).padStart(2, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date-time in UTC: `Tue, 05 Mar 2024 14:03:09 +0000`. */
export function mailDate(at: number): string {
  const d = new Date(at);
  return (
    `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

/** `2024-03-05 14:03:09 UTC`: for people. */
export const readableTime = (at: number): string =>
  `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

export interface EmailParts {
  notification: Notification;
  /** The box's name. */
  box: string;
  from: string;
  to: string[];
  /** Without the angle brackets: `<id>@<box>`. */
  messageId: string;
}

/** The plain-text body: the message, then where and when it happened. */
export function emailBody(n: Notification, box: string): string {
  return [
    n.message.trim() || oneLine(n.title, 200),
    '',
    `Box:    ${box}`,
    `Level:  ${n.level}`,
    `From:   ${oneLine(n.source, 200)}`,
    `Time:   ${readableTime(n.at)}`,
    '',
    '-- ',
    `Hearth on ${box} sends notifications of this level here; its owner chooses which in the box's settings.`,
  ].join('\n');
}

/** The whole message, CRLF line ends, ready for DATA (the transport adds the dot-stuffing). */
export function emailMessage(p: EmailParts): string {
  const n = p.notification;
  const headers = [
    mailHeader('Date', mailDate(n.at)),
    fold('From', [...displayName(`Hearth on ${oneLine(p.box, 63)}`), `<${p.from}>`]),
    mailHeader('To', p.to.join(', ')),
    mailHeader('Subject', oneLine(n.title, 200)),
    `Message-ID: <${p.messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    // RFC 3834: vacation responders and the like must not answer a machine.
    'Auto-Submitted: auto-generated',
    `X-Hearth-Level: ${n.level}`,
  ];
  return `${headers.join('\r\n')}\r\n\r\n${quotedPrintable(emailBody(n, p.box))}\r\n`;
}

/** ntfy's priorities: 3 is its default, 5 its most insistent. */
const PRIORITY: Record<NotificationLevel, number> = { info: 3, success: 3, warning: 4, error: 5 };
/** ntfy shows tags named like emoji short codes as the emoji. */
const EMOJI: Record<NotificationLevel, string> = {
  info: 'information_source',
  success: 'white_check_mark',
  warning: 'warning',
  error: 'rotating_light',
};

export interface WebhookRequest {
  headers: Record<string, string>;
  body: string;
}

/**
 * What ntfy's publish API takes (`POST /<topic>`, the message as the body, `Title`,
 * `Priority`, `Tags` headers; it decodes RFC 2047 words since 2.4), plus `X-Hearth-*`
 * headers for any other receiver.
 */
export function webhookRequest(n: Notification, box: string): WebhookRequest {
  return {
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      Title: httpHeaderText(n.title),
      Priority: String(PRIORITY[n.level]),
      Tags: `${EMOJI[n.level]},${httpHeaderText(box, 63).replace(/,/g, ' ')}`,
      'X-Hearth-Box': httpHeaderText(box, 63),
      'X-Hearth-Level': n.level,
      'X-Hearth-Source': httpHeaderText(n.source, 200),
      'X-Hearth-Time': new Date(n.at).toISOString(),
    },
    body: n.message.trim() || oneLine(n.title, 200),
  };
}
