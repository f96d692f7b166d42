/**
 * An in-process `BrokerClient` over a {@link ModelConnection} of the independent broker model
 * (test/model/broker-model.ts): the protection property's stand-in for the WebSocket client.
 * Written from the client contract of `src/egress/order-egress.ts` and from
 * shared/docs/broker-protocol.md, not from `src/broker/ws-broker-client.ts`:
 *
 * - `request` writes the frame synchronously before it returns, or rejects with
 *   `BulwarkError('NOT_CONNECTED')` having written nothing (not logged on);
 * - an error response rejects with `BrokerRequestError(classifyBrokerError(...))`;
 * - a lost answer (no answer within `requestTimeoutMs` of the injected clock, or the server
 *   dropped the connection) rejects with a plain `Error`;
 * - `ready()` resolves once logged on; a server close schedules a reconnect on the clock
 *   (`reconnectDelayMs`), and every logon is followed by `onReconcile('LOGON')`;
 * - execution reports: exact duplicates (clientOrderId|cumQty|status) are dropped, the rest
 *   go to `onReport`; a `seq` that skips past the next expected one calls
 *   `onReconcile('SEQ_GAP')` (seq restarts at 1 on each connection);
 * - `kill()` is a kill -9 of the process the client lives in: the connection is closed,
 *   nothing is sent or delivered afterwards, and nothing that was waiting (answers, `ready`,
 *   later requests) ever settles — a dead process hears nothing and does nothing more.
 */
import { BulwarkError } from '../../src/errors.js';
import { classifyBrokerError } from '../../src/egress/broker-errors.js';
import type { BrokerClient, BrokerMethod } from '../../src/egress/order-egress.js';
import { BrokerRequestError } from '../../src/egress/venue-guard.js';
import type { Clock, TimerHandle } from '../../src/util/clock.js';
import type { BrokerModel, ModelConnection, ReportData, ServerFrame } from '../model/broker-model.js';

export type ClientMethod = BrokerMethod | 'openOrders.status';

export interface ModelClientOptions {
  readonly model: BrokerModel;
  /** Request timeouts and reconnect delays run on it (the test's virtual clock). */
  readonly clock: Clock;
  /** Tag of request ids, for logs. Default 'c'. */
  readonly name?: string;
  /** Default 1 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Delay before reconnecting after the server dropped the connection (or a logon failed). Default 200 ms. */
  readonly reconnectDelayMs?: number;
  readonly onReport?: (report: ReportData) => void;
  /** What the venue can do, declared to the egress (and so to the reconciler). Default native. */
  readonly amend?: 'native' | 'cancel-replace';
  readonly onReconcile?: (reason: 'LOGON' | 'SEQ_GAP') => void;
}

interface Pending {
  readonly method: string;
  readonly resolve: (result: Readonly<Record<string, unknown>>) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

/** A promise that never settles (what a killed process waits for). */
const never = <T>(): Promise<T> => new Promise<T>(() => {});

export class ModelClient implements BrokerClient {
  readonly #o: ModelClientOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #seen = new Set<string>();
  #readyWaiters: Array<() => void> = [];
  #conn: ModelConnection | undefined;
  #live = false;
  #opening = false;
  #killed = false;
  #reconnectTimer: TimerHandle | undefined;
  #id = 0;
  /** Highest report seq seen on the current connection. */
  #seq = 0;
  /** What happened, for failure messages and for the harness's idea of what is pending. */
  readonly stats = {
    logons: 0,
    serverCloses: 0,
    timeouts: 0,
    seqGaps: 0,
    duplicateReports: 0,
    unmatchedAnswers: 0,
    /** Answers the egress retries after a (real-time) backoff: 503 -1008, 429. */
    retryableAnswers: 0,
    /** 429 / 418 answers: the broker's limit was hit (Bulwark's limiter should keep this 0). */
    rateLimitedAnswers: 0,
  };
  /** Errors thrown by the onReport / onReconcile callbacks (the harness fails on any). */
  readonly callbackErrors: unknown[] = [];

  constructor(options: ModelClientOptions) {
    this.#o = options;
    this.amend = options.amend ?? 'native';
  }

  readonly amend: 'native' | 'cancel-replace';

  /** Connects and logs on (if not already). */
  connect(): Promise<void> {
    return this.ready();
  }

  ready(): Promise<void> {
    if (this.#killed) return never();
    if (this.#live) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.#readyWaiters.push(resolve));
    if (!this.#opening && this.#reconnectTimer === undefined) this.#open();
    return p;
  }

  /** True while logged on. */
  get live(): boolean {
    return this.#live && !this.#killed;
  }

  get killed(): boolean {
    return this.#killed;
  }

  /** Requests written and still waiting for their answer. */
  get awaiting(): number {
    return this.#pending.size;
  }

  /** The model's index of the current connection (undefined while down). */
  get connection(): number | undefined {
    return this.#conn?.index;
  }

  request(method: ClientMethod, params: Readonly<Record<string, unknown>>): Promise<Readonly<Record<string, unknown>>> {
    if (this.#killed) return never();
    const conn = this.#conn;
    if (!this.#live || conn === undefined || !conn.open) {
      return Promise.reject(new BulwarkError('NOT_CONNECTED', `not logged on: ${method} not sent`));
    }
    return this.#send(conn, method, params);
  }

  /** kill -9: see the file's documentation. */
  kill(): void {
    this.#killed = true;
    this.#live = false;
    this.#o.clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    for (const p of this.#pending.values()) this.#o.clock.clearTimeout(p.timer);
    this.#pending.clear(); // left unsettled for ever
    this.#readyWaiters = [];
    this.#conn?.close();
    this.#conn = undefined;
  }

  #send(
    conn: ModelConnection,
    method: string,
    params: Readonly<Record<string, unknown>>,
  ): Promise<Readonly<Record<string, unknown>>> {
    const id = `${this.#o.name ?? 'c'}-${(++this.#id).toString(36)}`;
    const ms = this.#o.requestTimeoutMs ?? 1_000;
    const answer = new Promise<Readonly<Record<string, unknown>>>((resolve, reject) => {
      const timer = this.#o.clock.setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        this.stats.timeouts++;
        reject(new Error(`no answer to ${method} (${id}) within ${ms} ms`));
      }, ms);
      this.#pending.set(id, { method, resolve, reject, timer });
    });
    // Registered first: the model answers (or drops the connection) inside `receive`.
    conn.receive({ id, method, params });
    return answer;
  }

  #open(): void {
    this.#opening = true;
    this.#seq = 0;
    const conn: ModelConnection = this.#o.model.connect(
      (frame) => this.#onFrame(conn, frame),
      () => this.#onServerClose(conn),
    );
    this.#conn = conn;
    // The model is built without an API secret: any logon succeeds (no signature needed).
    this.#send(conn, 'session.logon', {
      apiKey: 'bulwark-test',
      timestamp: this.#o.clock.now(),
      signature: 'unsigned',
    }).then(
      () => {
        if (this.#killed || this.#conn !== conn) return;
        if (!conn.open) return this.#logonFailed(conn);
        this.#opening = false;
        this.#live = true;
        this.stats.logons++;
        for (const resolve of this.#readyWaiters.splice(0)) resolve();
        this.#callback(() => this.#o.onReconcile?.('LOGON'));
      },
      () => this.#logonFailed(conn),
    );
  }

  #logonFailed(conn: ModelConnection): void {
    if (this.#killed || (this.#conn !== undefined && this.#conn !== conn)) return;
    if (conn.open) conn.close();
    this.#conn = undefined;
    this.#opening = false;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#killed || this.#reconnectTimer !== undefined) return;
    this.#reconnectTimer = this.#o.clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#killed && !this.#live && !this.#opening) this.#open();
    }, this.#o.reconnectDelayMs ?? 200);
  }

  #onServerClose(conn: ModelConnection): void {
    if (this.#killed || conn !== this.#conn) return;
    this.stats.serverCloses++;
    const wasLive = this.#live;
    this.#live = false;
    this.#conn = undefined;
    for (const [id, p] of [...this.#pending]) {
      this.#pending.delete(id);
      this.#o.clock.clearTimeout(p.timer);
      p.reject(new Error(`connection lost before the answer to ${p.method} (${id})`));
    }
    if (!wasLive) this.#opening = false; // the logon was under way: its rejection lands in #logonFailed too
    this.#scheduleReconnect();
  }

  #onFrame(conn: ModelConnection, frame: ServerFrame): void {
    if (this.#killed || conn !== this.#conn) return;
    if ('event' in frame) {
      const r = frame.data;
      const gap = r.seq > this.#seq + 1;
      if (r.seq > this.#seq) this.#seq = r.seq;
      const key = `${r.clientOrderId}|${r.cumQty}|${r.status}`;
      if (this.#seen.has(key)) {
        this.stats.duplicateReports++;
      } else {
        this.#seen.add(key);
        this.#callback(() => this.#o.onReport?.(r));
      }
      if (gap) {
        this.stats.seqGaps++;
        this.#callback(() => this.#o.onReconcile?.('SEQ_GAP'));
      }
      return;
    }
    const pending = this.#pending.get(frame.id);
    if (pending === undefined) {
      this.stats.unmatchedAnswers++; // timed out, or the connection it was sent on is gone
      return;
    }
    this.#pending.delete(frame.id);
    this.#o.clock.clearTimeout(pending.timer);
    if ('result' in frame) {
      pending.resolve(frame.result);
      return;
    }
    const { status } = frame;
    const { code, msg, retryAfter } = frame.error;
    if (code === -1008 || status === 429) this.stats.retryableAnswers++;
    if (status === 429 || status === 418) this.stats.rateLimitedAnswers++;
    pending.reject(new BrokerRequestError(classifyBrokerError(status, code, msg), status, code, msg, retryAfter));
  }

  #callback(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.callbackErrors.push(e);
    }
  }
}
