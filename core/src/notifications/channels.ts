import crypto from 'node:crypto';
import { NotFound } from '../errors.ts';
import type { SmtpSend } from '../host/smtp.ts';
import type { WebhookSend } from '../host/webhook.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import {
  type AddressPolicy,
  addressRefusal,
  type ChannelConfig,
  type ChannelInput,
  checkChannel,
} from './destinations.ts';
import type { Notification, NotificationLevel } from './notifications.ts';
import { atLeast, emailMessage, webhookRequest } from './outbound-format.ts';
import { Outbox, type Outcome } from './outbox.ts';

/** The host adapters that carry a notification off the box. */
export interface ChannelSenders {
  email(o: SmtpSend): Promise<{ reply: string }>;
  webhook(o: WebhookSend): Promise<{ status: number }>;
}

/** A channel as the owner sees it: its settings, whether a secret is set (never the secret), how it went. */
export type ChannelView = {
  id: number;
  name: string;
  minLevel: NotificationLevel;
  createdAt: number;
  /** When a notification (or a test) last reached the other side. */
  lastDeliveredAt: number | null;
  /** The last failure, once retries were spent (a later delivery does not erase it: compare the times). */
  lastError: { at: number; message: string } | null;
} & (
  | {
      kind: 'email';
      server: string;
      port: number;
      security: 'starttls' | 'tls' | 'plain';
      username: string | null;
      from: string;
      to: string[];
      passwordSet: boolean;
    }
  | { kind: 'webhook'; url: string; accessTokenSet: boolean }
);

export interface TestOutcome {
  delivered: boolean;
  /** What the other side answered, or why nothing was delivered. */
  detail: string;
  /** The failure's code (`smtp_rejected`, `webhook_rejected`, `send_timeout`, …). */
  code?: string;
  ms: number;
}

interface Row {
  id: number;
  kind: 'email' | 'webhook';
  name: string;
  min_level: NotificationLevel;
  config: string;
  secret: string | null;
  created_at: number;
  delivered_at: number | null;
  failed_at: number | null;
  last_error: string | null;
}

interface Job {
  channelId: number;
  notification: Notification;
}

export interface ChannelsOptions {
  db: Db;
  senders: ChannelSenders;
  log: Logger;
  /** The box's name, for the message and the sender's display name. */
  boxName: () => string;
  /** Whether channels may send to the box itself (tests; a relay on the box). */
  allowSelf?: boolean;
  ownAddresses?: () => ReadonlySet<string>;
  /** Pauses before each retry; default 30 s, 2 min, 8 min. */
  retryDelaysMs?: readonly number[];
  /** Deliveries held at once, over every channel. */
  maxQueued?: number;
  now?: () => number;
}

const SMTP_TIMEOUT_MS = 30_000;
const WEBHOOK_TIMEOUT_MS = 15_000;
/** A stop waits this long for sends under way. */
const CLOSE_GRACE_MS = 2_000;
const MAX_ERROR = 500;

/**
 * Where notifications go besides the box: mail and webhook channels the owner adds.
 * `deliver` is what Notifications calls for each new notification; it only queues, and
 * a failure to deliver is logged and shown on the channel — never a notification of its
 * own, which would be delivered, fail, and notify again.
 */
export class NotificationChannels {
  readonly #o: ChannelsOptions;
  readonly #now: () => number;
  readonly #outbox: Outbox<Job>;
  #closed = false;
  #dropped = 0;
  #droppedLoggedAt = 0;

  constructor(options: ChannelsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#outbox = new Outbox<Job>({
      attempt: (job, signal) => this.#attempt(job, signal),
      permanent: (e) =>
        typeof (e as { permanent?: unknown }).permanent === 'boolean'
          ? (e as { permanent: boolean }).permanent
          : true,
      settled: (job, outcome) => this.#settled(job, outcome),
      dropped: (job) => this.#droppedJob(job),
      retryDelaysMs: options.retryDelaysMs ?? [30_000, 120_000, 480_000],
      maxJobs: options.maxQueued ?? 100,
      concurrency: 2,
    });
  }

  add(input: ChannelInput): ChannelView {
    const { name, config, secret } = checkChannel(input, this.#policy());
    const { kind, ...settings } = config;
    const { lastInsertRowid } = this.#o.db
      .prepare(
        'INSERT INTO notification_channels (kind, name, min_level, config, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(kind, name, input.minLevel, JSON.stringify(settings), secret ?? null, this.#now());
    return this.#view(this.#row(Number(lastInsertRowid)));
  }

  list(): ChannelView[] {
    return (this.#o.db.prepare('SELECT * FROM notification_channels ORDER BY id').all() as Row[]).map((r) =>
      this.#view(r),
    );
  }

  remove(id: number): void {
    if (this.#o.db.prepare('DELETE FROM notification_channels WHERE id = ?').run(id).changes === 0) {
      throw new NotFound('notification channel', String(id), {
        hint: 'notification.channel.list shows them',
      });
    }
  }

  /** Sends a test message now (no queue, no retries) and answers what happened; the channel shows it too. */
  async test(id: number): Promise<TestOutcome> {
    const row = this.#row(id);
    const box = this.#o.boxName();
    const n: Notification = {
      id: 0,
      at: this.#now(),
      level: 'info',
      title: `Test notification from Hearth on ${box}`,
      message: `If you can read this, notifications from ${box} reach you here.`,
      source: 'notification.channel.test',
      seen: false,
    };
    const started = performance.now();
    const outcome: Outcome = await this.#send(row, n, AbortSignal.timeout(60_000)).then(
      (detail) => ({ ok: true as const, detail }),
      (error: unknown) => ({ ok: false as const, error, attempts: 1 }),
    );
    const ms = Math.round(performance.now() - started);
    this.#record(row.id, outcome);
    if (outcome.ok) return { delivered: true, detail: outcome.detail, ms };
    const code = (outcome.error as { code?: unknown }).code;
    return {
      delivered: false,
      detail: this.#describe(outcome.error, row.secret),
      ...(typeof code === 'string' ? { code } : {}),
      ms,
    };
  }

  /** Queues `n` for every channel whose level it reaches. Returns at once. */
  deliver(n: Notification): void {
    if (this.#closed) return;
    try {
      const channels = this.#o.db.prepare('SELECT id, min_level FROM notification_channels').all() as Pick<
        Row,
        'id' | 'min_level'
      >[];
      for (const c of channels) {
        if (atLeast(n.level, c.min_level)) this.#outbox.push({ channelId: c.id, notification: n });
      }
    } catch (error) {
      // The notification itself is stored: a delivery problem must not undo it for its caller.
      this.#o.log.warn('could not queue a notification for delivery', { problem: (error as Error).message });
    }
  }

  /** Resolves when nothing waits to be delivered (tests). */
  idle(): Promise<void> {
    return this.#outbox.idle();
  }

  /** Stops delivering; what still waits is dropped, and the log says how much. */
  async close(): Promise<void> {
    this.#closed = true;
    const left = await this.#outbox.close(CLOSE_GRACE_MS);
    if (left > 0) this.#o.log.warn('stopping with notifications not yet delivered', { count: left });
  }

  async #attempt(job: Job, signal: AbortSignal): Promise<string> {
    const row = this.#o.db.prepare('SELECT * FROM notification_channels WHERE id = ?').get(job.channelId) as
      | Row
      | undefined;
    // Removed while the notification waited: there is nowhere to send it.
    if (!row) return 'the channel was removed';
    return this.#send(row, job.notification, signal);
  }

  async #send(row: Row, n: Notification, signal: AbortSignal): Promise<string> {
    const config = { kind: row.kind, ...JSON.parse(row.config) } as ChannelConfig;
    const box = this.#o.boxName();
    const checkAddress = (address: string) => addressRefusal(address, this.#policy());
    if (config.kind === 'email') {
      const { reply } = await this.#o.senders.email({
        host: config.server,
        port: config.port,
        security: config.security,
        username: config.username,
        password: row.secret ?? undefined,
        from: config.from,
        to: config.to,
        message: emailMessage({
          notification: n,
          box,
          from: config.from,
          to: config.to,
          messageId: `${crypto.randomUUID()}@${box}`,
        }),
        timeoutMs: SMTP_TIMEOUT_MS,
        checkAddress,
        signal,
      });
      return reply;
    }
    const request = webhookRequest(n, box);
    const { status } = await this.#o.senders.webhook({
      url: config.url,
      headers: { ...request.headers, ...(row.secret ? { Authorization: `Bearer ${row.secret}` } : {}) },
      body: request.body,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      checkAddress,
      signal,
    });
    return `HTTP ${status}`;
  }

  #settled(job: Job, outcome: Outcome): void {
    const log = this.#o.log;
    try {
      this.#record(job.channelId, outcome);
      if (outcome.ok) {
        log.debug('notification delivered', {
          channel: job.channelId,
          notification: job.notification.id,
          detail: outcome.detail,
        });
      } else {
        const secret = this.#secretOf(job.channelId);
        // The message only, scrubbed: an error object's stack would carry it unscrubbed.
        log.warn('could not deliver a notification', {
          channel: job.channelId,
          notification: job.notification.id,
          attempts: outcome.attempts,
          code: (outcome.error as { code?: unknown }).code,
          problem: this.#describe(outcome.error, secret),
        });
      }
    } catch (error) {
      log.warn('could not record a delivery', {
        channel: job.channelId,
        problem: String((error as Error).message),
      });
    }
  }

  #droppedJob(job: Job): void {
    if (this.#closed) return;
    this.#dropped += 1;
    const now = this.#now();
    // A burst that fills the outbox is logged once a minute, not once per notification.
    if (now - this.#droppedLoggedAt >= 60_000) {
      this.#o.log.warn('notifications were not sent: too many are waiting to be delivered', {
        count: this.#dropped,
        channel: job.channelId,
      });
      this.#droppedLoggedAt = now;
      this.#dropped = 0;
    }
    this.#record(job.channelId, {
      ok: false,
      error: new Error('not sent: too many notifications were already waiting to be delivered'),
      attempts: 0,
    });
  }

  #record(id: number, outcome: Outcome): void {
    if (this.#closed) return;
    const now = this.#now();
    if (outcome.ok) {
      this.#o.db.prepare('UPDATE notification_channels SET delivered_at = ? WHERE id = ?').run(now, id);
    } else {
      this.#o.db
        .prepare('UPDATE notification_channels SET failed_at = ?, last_error = ? WHERE id = ?')
        .run(now, this.#describe(outcome.error, this.#secretOf(id)), id);
    }
  }

  /** A failure in words fit for the owner and the log: the secret taken out, cut. */
  #describe(error: unknown, secret: string | null | undefined): string {
    let text = error instanceof Error ? error.message : String(error);
    if (secret && secret.length >= 3) {
      for (const form of [secret, Buffer.from(secret).toString('base64')])
        text = text.split(form).join('[redacted]');
    }
    return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}…` : text;
  }

  #secretOf(id: number): string | null {
    const row = this.#o.db.prepare('SELECT secret FROM notification_channels WHERE id = ?').get(id) as
      | { secret: string | null }
      | undefined;
    return row?.secret ?? null;
  }

  #row(id: number): Row {
    const row = this.#o.db.prepare('SELECT * FROM notification_channels WHERE id = ?').get(id) as
      | Row
      | undefined;
    if (!row)
      throw new NotFound('notification channel', String(id), {
        hint: 'notification.channel.list shows them',
      });
    return row;
  }

  #policy(): AddressPolicy {
    return { allowSelf: this.#o.allowSelf ?? false, own: this.#o.ownAddresses?.() ?? new Set() };
  }

  #view(r: Row): ChannelView {
    const common = {
      id: r.id,
      name: r.name,
      minLevel: r.min_level,
      createdAt: r.created_at,
      lastDeliveredAt: r.delivered_at,
      lastError:
        r.failed_at !== null && r.last_error !== null ? { at: r.failed_at, message: r.last_error } : null,
    };
    const config = { kind: r.kind, ...JSON.parse(r.config) } as ChannelConfig;
    if (config.kind === 'email') {
      return {
        ...common,
        kind: 'email',
        server: config.server,
        port: config.port,
        security: config.security,
        username: config.username ?? null,
        from: config.from,
        to: config.to,
        passwordSet: r.secret !== null,
      };
    }
    return { ...common, kind: 'webhook', url: config.url, accessTokenSet: r.secret !== null };
  }
}
