import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { BulwarkError } from '../errors.js';
import { frameText } from './frame-text.js';
import { SYSTEM_CLOCK, type Clock, type TimerHandle } from '../util/clock.js';
import { classifyBrokerError } from '../egress/broker-errors.js';
import type { BrokerClient, BrokerMethod } from '../egress/order-egress.js';
import { MAX_FRAME_BYTES, parseInbound, type ExecutionReport, type InboundRejection } from '../egress/protocol.js';
import { BrokerRequestError } from '../egress/venue-guard.js';
import { withDefaults, type WithDefaults } from '../util/defaults.js';

/** Options of {@link WsBrokerClient}. */
export interface WsBrokerClientOptions {
  readonly url: string;
  /** Default: the BULWARK_API_KEY environment variable. Never logged. */
  readonly apiKey?: string;
  /** Default: the BULWARK_API_SECRET environment variable. Never logged. */
  readonly apiSecret?: string;
  /** An answer not received within this is lost (the outcome is unknown). Default 5 000 ms. */
  readonly requestTimeoutMs?: number;
  /** No frame or ping from the broker for this long: the connection is dead. Default 30 000 ms. */
  readonly deadAfterMs?: number;
  /** First reconnect delay, doubling with jitter up to `maxReconnectDelayMs`. Default 250 ms. */
  readonly reconnectDelayMs?: number;
  /** Default 10 000 ms. */
  readonly maxReconnectDelayMs?: number;
  /** Bytes buffered for sending beyond which requests wait (backpressure). Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** Each execution report, once (duplicates by clientOrderId + cumQty are dropped). */
  readonly onReport?: (report: ExecutionReport['data']) => void;
  /**
   * After every (re)logon, and on a `seq` gap (a report whose seq skips past the next expected
   * one, the first report of a connection included): the caller reconciles its orders. A late
   * report that fills a gap, or a repeated one, does not ask again.
   */
  readonly onReconcile?: (reason: 'LOGON' | 'SEQ_GAP') => void;
  /** The rate limit announced at logon. */
  readonly onRateLimit?: (ordersPerSecond: number) => void;
  /** The clock of logon timestamps and request timeouts (a replay's virtual clock). Default the system clock. */
  readonly clock?: Clock;
}

interface Pending {
  readonly resolve: (result: Readonly<Record<string, unknown>>) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

/** Default number of recent fills remembered to drop duplicate reports. */
const SEEN_FILLS = 10_000;

/** What every connection attempt and call ends with once {@link WsBrokerClient.close} has been called. */
const clientClosed = () => new BulwarkError('CLIENT_CLOSED', 'broker client closed');

/** The defaults of {@link WsBrokerClientOptions}, in one place. */
const CLIENT_DEFAULTS = {
  requestTimeoutMs: 5_000,
  deadAfterMs: 30_000,
  reconnectDelayMs: 250,
  maxReconnectDelayMs: 10_000,
  maxBufferedBytes: 1024 * 1024,
} as const;

/**
 * The broker adapter: speaks `shared/docs/broker-protocol.md` over one WebSocket (ws),
 * `perMessageDeflate` off, `maxPayload` 64 KiB. Logs on with an HMAC-SHA256 signature from
 * the key and secret (taken from `BULWARK_API_KEY` / `BULWARK_API_SECRET` by default and
 * never logged or put in errors); answers the broker's pings, treats a silent connection as
 * dead, reconnects with exponential backoff and jitter, and asks the caller to reconcile
 * after every logon and on any `seq` gap. Every inbound frame is schema-validated; a bad one
 * is counted by code and dropped. Requests wait while more than `maxBufferedBytes` are
 * buffered for sending. An answer that does not come in time rejects with `REQUEST_TIMEOUT`
 * (one lost with its connection, `CONNECTION_LOST`): its outcome is unknown, which the egress
 * resolves with `order.status`.
 *
 * @example
 * ```ts
 * const client = new WsBrokerClient({ url: 'ws://127.0.0.1:9000', onReport: (r) => log(r) });
 * await client.connect();
 * const egress = new OrderEgress({ client, limiter, venue });
 * ```
 */
export class WsBrokerClient implements BrokerClient {
  readonly #o: WithDefaults<WsBrokerClientOptions, keyof typeof CLIENT_DEFAULTS>;
  readonly #key: string;
  readonly #secret: string;
  readonly #pending = new Map<string, Pending>();
  readonly #dropped = new Map<InboundRejection | 'UNMATCHED_RESPONSE', number>();
  readonly #seenFills = new Set<string>();
  #ws: WebSocket | undefined;
  #ready: Promise<void> | undefined;
  #id = 0;
  /** Highest report seq seen on the current connection (seqs start at 1 on each). */
  #seq = 0;
  /** The current connection is logged on (else {@link WsBrokerClient.#open} is still at work and retries by itself). */
  #live = false;
  #attempt = 0;
  #closed = false;
  #deadTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #clock: Clock;
  /** The connection {@link WsBrokerClient.#open} is opening (not yet open); close() aborts it. */
  #connecting: WebSocket | undefined;
  /** The reconnect backoff in progress; close() clears its timer and ends it at once. */
  #backoff: { readonly timer: ReturnType<typeof setTimeout>; readonly end: () => void } | undefined;

  constructor(options: WsBrokerClientOptions) {
    this.#o = withDefaults(options, CLIENT_DEFAULTS);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    const key = options.apiKey ?? process.env['BULWARK_API_KEY'];
    const secret = options.apiSecret ?? process.env['BULWARK_API_SECRET'];
    if (key === undefined || key === '' || secret === undefined || secret === '') {
      throw new BulwarkError(
        'INVALID_OPTION',
        'broker credentials missing: set BULWARK_API_KEY and BULWARK_API_SECRET',
      );
    }
    this.#key = key;
    this.#secret = secret;
  }

  /** Inbound frames dropped, by code. */
  get dropped(): Readonly<Partial<Record<InboundRejection | 'UNMATCHED_RESPONSE', number>>> {
    return Object.fromEntries(this.#dropped);
  }

  /**
   * Connects and logs on; resolves when requests can be sent. After {@link WsBrokerClient.close}
   * it rejects with a `CLIENT_CLOSED` BulwarkError (so does a connection attempt in progress).
   */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(clientClosed());
    this.#ready ??= this.#open();
    return this.#ready;
  }

  /**
   * Sends one request, written to the socket before this returns (so a rate limiter that
   * grants the slot just before the call counts the moment of writing); resolves with its
   * result, rejects with a BrokerRequestError or a lost answer (REQUEST_TIMEOUT, CONNECTION_LOST). Not logged on (a
   * reconnect under way) or with more than `maxBufferedBytes` waiting to be written, it
   * writes nothing and rejects with `NOT_CONNECTED`: nothing reached the broker, the caller
   * retries later.
   */
  request(
    method: BrokerMethod | 'openOrders.status',
    params: Readonly<Record<string, unknown>>,
  ): Promise<Readonly<Record<string, unknown>>> {
    const ws = this.#ws;
    if (this.#closed) return Promise.reject(clientClosed());
    if (!this.#live || ws === undefined || ws.readyState !== WebSocket.OPEN)
      return Promise.reject(new BulwarkError('NOT_CONNECTED', `not logged on to ${this.#o.url}: ${method} not sent`));
    if (ws.bufferedAmount > this.#o.maxBufferedBytes)
      return Promise.reject(
        new BulwarkError('NOT_CONNECTED', `send buffer over ${this.#o.maxBufferedBytes} bytes: ${method} not sent`),
      );
    return this.#send(ws, method, params);
  }

  /** Requests written and still waiting for their answer. */
  get awaiting(): number {
    return this.#pending.size;
  }

  /** Resolves once logged on (connecting if need be); rejects after {@link WsBrokerClient.close}. */
  ready(): Promise<void> {
    return this.#live && !this.#closed ? Promise.resolve() : this.connect();
  }

  /** True while logged on (requests can be written). */
  get live(): boolean {
    return this.#live && !this.#closed;
  }

  /**
   * Closes the client for good, at any point: the connection is terminated, one being opened
   * is aborted, a reconnect backoff in progress ends at once (no further attempt), and no
   * `onReconcile` or `onRateLimit` callback follows. Pending requests are rejected as lost;
   * later calls and `connect()` are refused with `CLIENT_CLOSED`.
   */
  close(): void {
    this.#closed = true;
    if (this.#deadTimer !== undefined) clearTimeout(this.#deadTimer);
    const backoff = this.#backoff;
    this.#backoff = undefined;
    if (backoff !== undefined) {
      clearTimeout(backoff.timer);
      backoff.end();
    }
    this.#connecting?.terminate();
    this.#ws?.terminate();
  }

  #send(
    ws: WebSocket,
    method: string,
    params: Readonly<Record<string, unknown>>,
  ): Promise<Readonly<Record<string, unknown>>> {
    const id = `b${(++this.#id).toString(36)}`;
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new BulwarkError('REQUEST_TIMEOUT', `no answer to ${method} within ${this.#o.requestTimeoutMs} ms`, {
            method,
          }),
        );
      }, this.#o.requestTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async #open(): Promise<void> {
    for (;;) {
      if (this.#closed) throw clientClosed(); // close() during the backoff
      try {
        const ws = new WebSocket(this.#o.url, { perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES });
        this.#connecting = ws;
        try {
          await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
        } finally {
          this.#connecting = undefined;
        }
        if (this.#isClosed()) {
          ws.terminate(); // opened after close(): dropped before anything is sent on it
          throw clientClosed();
        }
        this.#ws = ws;
        this.#seq = 0;
        // Frames already received when close() terminated the socket are still delivered by ws: ignored.
        ws.on('message', (data, isBinary) => {
          if (!this.#closed) this.#onFrame(isBinary ? '' : frameText(data));
        });
        ws.on('ping', () => {
          if (!this.#closed) this.#alive();
        });
        ws.on('close', () => this.#onClose(ws));
        ws.on('error', () => ws.terminate());
        this.#alive();
        const timestamp = this.#clock.now();
        const signature = createHmac('sha256', this.#secret)
          .update(`apiKey=${this.#key}&timestamp=${timestamp}`)
          .digest('hex');
        const result = await this.#send(ws, 'session.logon', { apiKey: this.#key, timestamp, signature });
        if (this.#isClosed()) throw clientClosed(); // no callbacks after close()
        const limits = result['rateLimits'];
        const limit = Array.isArray(limits) ? (limits[0] as { limit?: unknown } | undefined)?.limit : undefined;
        if (typeof limit === 'number') this.#o.onRateLimit?.(limit);
        this.#attempt = 0;
        this.#live = true;
        this.#o.onReconcile?.('LOGON');
        return;
      } catch (e) {
        this.#ws?.terminate();
        if (e instanceof BrokerRequestError && e.action === 'RELOGON' && e.brokerCode === -1022) throw e; // bad credentials: retrying will not help
        if (this.#isClosed()) throw clientClosed();
        const base = Math.min(this.#o.maxReconnectDelayMs, this.#o.reconnectDelayMs * 2 ** this.#attempt++);
        await this.#backoffWait(base / 2 + (Math.random() * base) / 2);
      }
    }
  }

  /** Waits `ms` before the next connection attempt; {@link WsBrokerClient.close} ends the wait at once. */
  #backoffWait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#backoff = undefined;
        resolve();
      }, ms);
      this.#backoff = { timer, end: resolve };
    });
  }

  /** Read through a call, so that a check after an `await` is not narrowed by one before it. */
  #isClosed(): boolean {
    return this.#closed;
  }

  #alive(): void {
    if (this.#deadTimer !== undefined) clearTimeout(this.#deadTimer);
    this.#deadTimer = setTimeout(() => this.#ws?.terminate(), this.#o.deadAfterMs);
    this.#deadTimer.unref();
  }

  #onClose(ws: WebSocket): void {
    if (ws !== this.#ws) return;
    if (this.#deadTimer !== undefined) clearTimeout(this.#deadTimer);
    for (const [id, p] of this.#pending) {
      this.#clock.clearTimeout(p.timer);
      p.reject(new BulwarkError('CONNECTION_LOST', 'connection lost before the answer'));
      this.#pending.delete(id);
    }
    // Lost while logging on: #open's loop retries; starting a second loop here would race it
    // to two connections.
    if (!this.#live) return;
    this.#live = false;
    this.#ready = undefined;
    if (!this.#closed) void this.connect().catch(() => {});
  }

  #onFrame(text: string): void {
    this.#alive();
    const parsed = parseInbound(text);
    if (!parsed.ok) {
      this.#dropped.set(parsed.code, (this.#dropped.get(parsed.code) ?? 0) + 1);
      return;
    }
    const m = parsed.value;
    if (m.kind === 'EXECUTION_REPORT') {
      const r = m.message.data;
      // Past the next expected seq: reports were lost (or are late) - reconcile once. At or
      // below the highest seen: late (out of order) or repeated - delivered below, subject to
      // the dedupe, without asking again. Only the highest seq is kept: bounded.
      if (r.seq > this.#seq + 1) this.#o.onReconcile?.('SEQ_GAP');
      if (r.seq > this.#seq) this.#seq = r.seq;
      const fill = `${r.clientOrderId}|${r.cumQty}|${r.status}`;
      if (this.#seenFills.has(fill)) return;
      this.#seenFills.add(fill);
      const oldest = this.#seenFills.values().next();
      if (this.#seenFills.size > SEEN_FILLS && !oldest.done) this.#seenFills.delete(oldest.value);
      this.#o.onReport?.(r);
      return;
    }
    const pending = this.#pending.get(m.message.id);
    if (pending === undefined) {
      this.#dropped.set('UNMATCHED_RESPONSE', (this.#dropped.get('UNMATCHED_RESPONSE') ?? 0) + 1);
      return;
    }
    this.#pending.delete(m.message.id);
    this.#clock.clearTimeout(pending.timer);
    if (m.kind === 'RESPONSE') pending.resolve(m.message.result);
    else {
      const { status } = m.message;
      const { code, msg, retryAfter } = m.message.error;
      pending.reject(new BrokerRequestError(classifyBrokerError(status, code, msg), status, code, msg, retryAfter));
    }
  }
}
