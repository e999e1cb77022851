import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHearthError } from '../errors.ts';
import { addressRefusal, type ChannelInput, checkChannel } from './destinations.ts';

const policy = { allowSelf: false, own: new Set(['192.168.1.20', 'fd00::20']) };
const permissive = { allowSelf: true, own: policy.own };

test('link-local, metadata, unspecified and multicast addresses are refused whatever the setting', () => {
  for (const a of [
    '169.254.169.254',
    '169.254.0.1',
    'fe80::1',
    'fe80::1%eth0',
    '100.100.100.200',
    'fd00:ec2::254',
    '0.0.0.0',
    '::',
    '224.0.0.1',
    '255.255.255.255',
    'ff02::1',
    // IPv4 carried in IPv6 is judged as the IPv4 address.
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '64:ff9b::169.254.169.254',
    '::169.254.169.254',
  ]) {
    assert.ok(addressRefusal(a, permissive), a);
  }
  assert.match(addressRefusal('169.254.169.254', permissive)!, /metadata/);
});

test('the box itself is refused unless allowed: loopback and its own addresses', () => {
  for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '192.168.1.20', 'FD00::20']) {
    assert.match(addressRefusal(a, policy) ?? '', /the box itself/, a);
    assert.equal(addressRefusal(a, permissive), undefined, a);
  }
});

test('the LAN, the containers and the internet are fine', () => {
  for (const a of [
    '192.168.1.1',
    '10.73.0.5',
    '100.64.0.1',
    '93.184.216.34',
    '2001:db8::1',
    'fd12::1',
    '::ffff:8.8.8.8',
  ]) {
    assert.equal(addressRefusal(a, policy), undefined, a);
  }
  assert.equal(addressRefusal('not-an-ip', policy), 'not an IP address');
});

const refused = (input: Partial<ChannelInput>, message: RegExp, p = policy) =>
  assert.throws(
    () => checkChannel({ kind: 'email', minLevel: 'warning', ...input } as ChannelInput, p),
    (e: unknown) => isHearthError(e) && e.code === 'invalid_params' && message.test(e.message),
  );

const email = {
  kind: 'email' as const,
  server: 'smtp.example.com',
  from: 'box@example.com',
  to: ['me@example.com'],
};

test('an email channel: defaults, and the password kept apart from the settings', () => {
  const c = checkChannel({ ...email, minLevel: 'warning', username: 'box', password: 'hunter22' }, policy);
  assert.deepEqual(c, {
    name: 'email to me@example.com',
    config: {
      kind: 'email',
      server: 'smtp.example.com',
      port: 587,
      security: 'starttls',
      username: 'box',
      from: 'box@example.com',
      to: ['me@example.com'],
    },
    secret: 'hunter22',
  });
  assert.equal(checkChannel({ ...email, minLevel: 'error', security: 'tls' }, policy).config.kind, 'email');
  const tls = checkChannel({ ...email, minLevel: 'error', security: 'tls' }, policy).config;
  assert.equal(tls.kind === 'email' && tls.port, 465);
  const v6 = checkChannel({ ...email, minLevel: 'error', server: '[FD00::25]' }, policy).config;
  assert.equal(
    v6.kind === 'email' && v6.server,
    'fd00::25',
    'an IPv6 server without brackets, as the client connects to it',
  );
  const relay = checkChannel(
    { ...email, minLevel: 'error', security: 'plain', port: 2525, server: '192.168.1.5' },
    policy,
  );
  assert.equal(relay.config.kind === 'email' && relay.config.port, 2525);
});

test('an email channel refuses what could inject, leak or mislead', () => {
  refused({ ...email, to: ['me@example.com\r\nBcc: x@evil.com'] }, /not a mail address/);
  refused({ ...email, from: 'box@example.com>\r\nRCPT TO:<x@evil.com' }, /not a mail address/);
  refused({ ...email, to: ['"quoted name"@example.com'] }, /not a mail address/);
  refused({ ...email, server: 'smtp.example.com\r\nX: y' }, /not a host name/);
  refused({ ...email, server: '169.254.169.254' }, /link-local/);
  refused({ ...email, server: '127.0.0.1' }, /box itself/);
  refused({ ...email, server: 'localhost' }, /box itself/);
  refused({ ...email, security: 'plain', username: 'u', password: 'p' }, /only sent over TLS/);
  refused({ ...email, username: 'u' }, /needs a password/);
  refused({ ...email, password: 'p' }, /needs a username/);
  refused({ ...email, username: 'u\0x', password: 'p' }, /control character/);
  refused({ ...email, url: 'https://ntfy.sh/x' }, /does not take url/);
  refused({ kind: 'email', to: ['a@b.c'] }, /needs server, from and to/);
  assert.doesNotThrow(() => checkChannel({ ...email, minLevel: 'error', server: 'localhost' }, permissive));
});

test('a webhook channel: http or https, no credentials in the URL, not to forbidden addresses', () => {
  const ok = checkChannel(
    { kind: 'webhook', minLevel: 'warning', url: 'https://ntfy.sh/box-alerts#x', accessToken: 'tk_1' },
    policy,
  );
  assert.deepEqual(ok, {
    name: 'webhook to ntfy.sh',
    config: { kind: 'webhook', url: 'https://ntfy.sh/box-alerts' },
    secret: 'tk_1',
  });
  // A line break in the URL is percent-encoded by the URL parser: it never reaches the request line.
  const encoded = checkChannel(
    { kind: 'webhook', minLevel: 'warning', url: 'http://ntfy.lan/a\r\nX: y' },
    policy,
  );
  assert.equal(encoded.config.kind === 'webhook' && encoded.config.url, 'http://ntfy.lan/aX:%20y');
  const bad = (url: string, message: RegExp) =>
    assert.throws(
      () => checkChannel({ kind: 'webhook', minLevel: 'warning', url }, policy),
      (e: unknown) => isHearthError(e) && message.test(e.message),
    );
  bad('ftp://x/y', /http or https/);
  bad('file:///etc/passwd', /http or https/);
  bad('https://user:pass@ntfy.sh/x', /user name or password/);
  bad('http://169.254.169.254/latest/meta-data', /link-local/);
  bad('http://[fe80::1]/', /link-local/);
  bad('http://[::ffff:169.254.169.254]/', /link-local/);
  bad('http://127.0.0.1:8080/', /box itself/);
  bad('http://foo.localhost/', /box itself/);
  bad('not a url', /not a URL/);
  assert.throws(() =>
    checkChannel({ kind: 'webhook', minLevel: 'warning', url: 'https://ntfy.sh/x', server: 'smtp' }, policy),
  );
});
