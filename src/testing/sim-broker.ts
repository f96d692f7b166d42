import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { BulwarkError } from '../errors.js';
import { positiveIntegerProblem } from '../util/option-checks.js';
import { frameText } from '../broker/frame-text.js';
import { mulberry32 } from '../util/prng.js';
import { SimBook, type SimExecution, type SimOrder } from './sim-book.js';
import { at } from '../util/indexed.js';

/**
 * Seeded, deterministic faults, each a probability (default 0). The request faults (`busy`
 * … `disconnectExecuted`) share one draw per order request (place/amend/cancel), so at most
 * one of them hits a request and their sum should not exceed 1; the report faults
 * (`duplicateReports`, `lostReports`, `outOfOrderReports`) share one draw per execution
 * report and connection, likewise.
 */
export interface SimFaults {
  /** Reply delay range in ms. Default none. */
  readonly latencyMs?: readonly [number, number];
  /** The request is executed but its reply never sent. */
  readonly dropReply?: number;
  /** -1008: busy, not executed. */
  readonly busy?: number;
  /** -1007 after executing the request (outcome unknown to the client). */
  readonly unknownExecuted?: number;
  /** -1007 without executing it. */
  readonly unknownNotExecuted?: number;
  /** The request is executed, then the connection is terminated without a reply (disconnect mid-order). */
  readonly disconnectExecuted?: number;
  /** The connection is terminated without a reply and without executing the request. */
  readonly disconnectNotExecuted?: number;
  /** Each execution report is pushed twice. */
  readonly duplicateReports?: number;
  /** The execution report is not sent, but its `seq` is used up: the client sees a gap. */
  readonly lostReports?: number;
  /**
   * The execution report is held back and sent right after the next report on that
   * connection, or after {@link REORDER_HOLD_MS} if none comes: seqs arrive out of order. At
   * most one report per connection is held at a time.
   */
  readonly outOfOrderReports?: number;
}

/** How long an out-of-order report waits for a successor before it is sent anyway. */
export const REORDER_HOLD_MS = 20;

/** Options of {@link startSimBroker}. */
export interface SimBrokerOptions {
  /** The API key a client must log on with. */
  readonly apiKey: string;
  /** The secret a logon is signed with: HMAC-SHA256 of `apiKey=<key>&timestamp=<ms>`, in hex. */
  readonly apiSecret: string;
  /** 0 picks a free port. Default 0. */
  readonly port?: number;
  /** Loopback only by default. */
  readonly host?: string;
  /**
   * Order requests allowed in any 1 s window, announced at logon: counted as the protocol
   * says, on receipt, over a sliding window, across all of the account's connections (closed
   * ones included). A positive integer. Default 50.
   */
  readonly ordersPerSecond?: number;
  /**
   * How many receive times {@link SimBroker.receiveTimes} keeps (the oldest are dropped). A
   * positive integer. Default {@link DEFAULT_MAX_RECORDED_REQUESTS}.
   */
  readonly maxRecordedRequests?: number;
  /** Faults to inject, drawn from the seeded PRNG. Default none. */
  readonly faults?: SimFaults;
  /** The server heartbeat: a WebSocket ping frame to every connection this often. Default 10 000 ms. */
  readonly pingIntervalMs?: number;
  /** A connection that has not answered a ping with a pong within this is dropped. Default 30 000 ms. */
  readonly pongTimeoutMs?: number;
  /** PRNG seed for the faults. Default 1. */
  readonly seed?: number;
  /**
   * The broker's clock in epoch ms: logon receive window, update and report times, and the rate
   * limit. Default `Date.now`. Heartbeats, reply latency and held reports use Node's timers
   * regardless.
   */
  readonly now?: () => number;
}

/** A running simulated broker. */
export interface SimBroker {
  /** `ws://host:port`. */
  readonly url: string;
  /** The order book: every order accepted, last prices and matching. */
  readonly book: SimBook;
  /** Every execution, in order: the broker's truth. */
  readonly executions: readonly SimExecution[];
  /** Order requests (place/amend/cancel) received per whole second of the broker's clock. */
  readonly requestsPerSecond: ReadonlyMap<number, number>;
  /**
   * The receive time, on the broker's clock, of every order request (place/amend/cancel,
   * answered or refused, on any connection) in the order received: the last
   * `maxRecordedRequests` of them. A copy, taken when read.
   */
  readonly receiveTimes: readonly number[];
  /**
   * The most order requests received in any half-open window `[t, t + windowMs)` of the
   * broker's clock (over {@link SimBroker.receiveTimes}): what the broker saw, to hold a
   * client's rate limiting to. `windowMs` must be positive (else INVALID_OPTION).
   *
   * @example
   * ```ts
   * expect(broker.maxInAnyWindow()).toBeLessThanOrEqual(limit); // no 1 s window over the limit
   * ```
   */
  maxInAnyWindow(windowMs?: number): number;
  /** Connections currently open (logged on or not). */
  readonly connections: number;
  /** Feeds a price to the book (fills stops and limits) and pushes their reports. */
  feedPrice(symbol: string, price: number): void;
  /** Replaces the fault probabilities from now on; the seeded draws continue where they are. */
  setFaults(faults: SimFaults): void;
  /**
   * Goes silent on every connection open now, without closing it (a half-open connection):
   * no answers, no reports, no pings, and no pong check. Requests arriving on them are not
   * executed. Connections opened later are served normally.
   */
  stall(): void;
  /**
   * The next connection to log on serves `count` order requests normally, then goes silent
   * as in {@link SimBroker.stall} on the one after: it and everything later on that connection
   * are never received. A deterministic "the connection went half-open right after request N"
   * for crash and fault tests; later connections are served normally.
   */
  stallAfter(count: number): void;
  /** Terminates every connection and stops every timer (heartbeat, pong checks, held reports, delayed replies). */
  close(): Promise<void>;
}

const MAX_PAYLOAD = 64 * 1024;
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,36}$/;

/** Default of {@link SimBrokerOptions.maxRecordedRequests}. */
export const DEFAULT_MAX_RECORDED_REQUESTS = 1_000_000;

/** The rate limit's window, and how long a client may keep sending while limited before the ban. */
const RATE_WINDOW_MS = 1_000;
const LIMITED_BEFORE_BAN_MS = 2_000;
const BAN_MS = 10_000;

/** The last `capacity` numbers pushed, oldest first (a ring; storage grows only as needed). */
class RecentTimes {
  readonly #capacity: number;
  readonly #items: number[] = [];
  /** Index of the oldest item once the ring is full (0 until then). */
  #start = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  push(t: number): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(t);
      return;
    }
    this.#items[this.#start] = t;
    this.#start = (this.#start + 1) % this.#capacity;
  }

  /** The `i`-th oldest (0: the oldest kept). */
  at(i: number): number {
    return at(this.#items, (this.#start + i) % this.#items.length);
  }

  toArray(): number[] {
    return this.#start === 0
      ? this.#items.slice()
      : [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)];
  }
}

/**
 * The most of `times` (in any order) that fall in one half-open window `[t, t + windowMs)`:
 * a two-pointer sweep over the sorted times (a window can always be slid right until it
 * starts at one of them). O(n) when `times` is sorted, O(n log n) otherwise.
 */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let sorted = times;
  for (let i = 1; i < times.length; i++) {
    if (at(times, i) < at(times, i - 1)) {
      sorted = [...times].sort((a, b) => a - b); // the clock went back
      break;
    }
  }
  let best = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    const t = at(sorted, to);
    while (from < to && !(t < at(sorted, from) + windowMs)) from++;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

interface Session {
  loggedOn: boolean;
  seq: number;
  /** Silent for good (see {@link SimBroker.stall}). */
  stalled: boolean;
  /** Order requests this connection serves before it stalls (see {@link SimBroker.stallAfter}). */
  stallAfter: number | undefined;
  /** Armed by the first unanswered ping; fires to drop the connection. */
  pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** An out-of-order report waiting for its successor. */
  held: { readonly frame: unknown; readonly timer: ReturnType<typeof setTimeout> } | undefined;
}

/**
 * Starts a broker that speaks `shared/docs/broker-protocol.md` over WebSocket on loopback:
 * HMAC logon, order.place / amend / cancel / status, openOrders.status, ping, execution
 * reports with `seq`, the announced rate limit (429, then 418 for ignoring it; sliding, per
 * account, as the protocol says), the server heartbeat (pings, dropping a client that does
 * not pong), and seeded faults. It keeps its own record of executions and of order requests'
 * receive times, so tests judge a client by the broker's truth.
 *
 * @example
 * ```ts
 * const broker = await startSimBroker({ apiKey: 'k', apiSecret: 's', faults: { busy: 0.1 }, seed: 7 });
 * broker.feedPrice('AAA', 100);
 * // connect a client to broker.url …
 * await broker.close();
 * ```
 */
export async function startSimBroker(options: SimBrokerOptions): Promise<SimBroker> {
  const now = options.now ?? Date.now;
  const limit = options.ordersPerSecond ?? 50;
  const maxRecorded = options.maxRecordedRequests ?? DEFAULT_MAX_RECORDED_REQUESTS;
  const pingEvery = options.pingIntervalMs ?? 10_000;
  const pongTimeout = options.pongTimeoutMs ?? 30_000;
  if (!(pingEvery > 0) || !(pongTimeout > 0))
    throw new BulwarkError('INVALID_OPTION', 'pingIntervalMs and pongTimeoutMs must be positive', {
      pingIntervalMs: pingEvery,
      pongTimeoutMs: pongTimeout,
    });
  for (const [name, value] of [
    ['ordersPerSecond', limit],
    ['maxRecordedRequests', maxRecorded],
  ] as const) {
    const problem = positiveIntegerProblem(name, value);
    if (problem !== undefined) throw new BulwarkError('INVALID_OPTION', problem, { [name]: value });
  }
  let faults = options.faults ?? {};
  const random = mulberry32(options.seed ?? 1);
  const book = new SimBook(now);
  const perSecond = new Map<number, number>();
  // The account's rate limit, shared by all its connections and outliving them: the receive
  // times of the last `limit` order requests (whether answered or refused: the broker counts
  // a request when it receives it) are all the sliding window needs.
  const recent = new RecentTimes(limit);
  let limitedSince: number | undefined;
  let bannedUntil = 0;
  let armedStall: number | undefined;
  const received = new RecentTimes(maxRecorded);
  const sockets = new Set<WebSocket>();
  const sessions = new Map<WebSocket, Session>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = new WebSocketServer({
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    maxPayload: MAX_PAYLOAD,
    perMessageDeflate: false,
  });
  // A port in use (or not permitted) rejects with Node's error (code EADDRINUSE, EACCES).
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    server.once('error', reject);
  });

  /** A one-shot timer that close() clears. */
  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  };
  const cancel = (timer: ReturnType<typeof setTimeout> | undefined) => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(timer);
  };
  const send = (ws: WebSocket, message: unknown) => {
    if (ws.readyState === ws.OPEN && sessions.get(ws)?.stalled !== true) ws.send(JSON.stringify(message));
  };
  /** Sends the held out-of-order report, if any. */
  const release = (ws: WebSocket, session: Session) => {
    const held = session.held;
    if (held === undefined) return;
    session.held = undefined;
    cancel(held.timer);
    send(ws, held.frame);
  };
  const heartbeat = setInterval(() => {
    for (const ws of sockets) {
      const session = sessions.get(ws);
      if (session === undefined || session.stalled || ws.readyState !== ws.OPEN) continue;
      session.pongTimer ??= later(() => ws.terminate(), pongTimeout);
      ws.ping();
    }
  }, pingEvery);
  const report = (order: SimOrder, lastQty: number, lastPrice: number) => {
    for (const ws of sockets) {
      const session = sessions.get(ws);
      if (session?.loggedOn !== true || session.stalled) continue;
      const frame = {
        event: 'executionReport',
        data: {
          symbol: order.symbol,
          orderId: order.orderId,
          clientOrderId: order.clientOrderId,
          side: order.side,
          status: order.status,
          lastQty: String(lastQty),
          lastPrice: String(lastPrice),
          cumQty: String(order.executedQty),
          eventTime: now(),
          seq: ++session.seq,
        },
      };
      const r = random();
      let p = faults.duplicateReports ?? 0;
      if (r < p) {
        send(ws, frame);
        send(ws, frame);
        release(ws, session);
        continue;
      }
      p += faults.lostReports ?? 0;
      if (r < p) continue; // its seq is used up
      p += faults.outOfOrderReports ?? 0;
      if (r < p && session.held === undefined) {
        session.held = {
          frame,
          timer: later(() => {
            session.held = undefined;
            send(ws, frame);
          }, REORDER_HOLD_MS),
        };
        continue;
      }
      send(ws, frame);
      release(ws, session);
    }
  };
  const reportFills = (fills: readonly SimOrder[]) => {
    for (const o of fills) report(o, o.quantity, o.lastPrice ?? 0);
  };
  const orderObject = (o: SimOrder) => ({
    symbol: o.symbol,
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    side: o.side,
    type: o.type,
    status: o.status,
    quantity: String(o.quantity),
    executedQty: String(o.executedQty),
    ...(o.price === undefined ? {} : { price: String(o.price) }),
    ...(o.stopPrice === undefined ? {} : { stopPrice: String(o.stopPrice) }),
    reduceOnly: o.reduceOnly,
    updateTime: o.updateTime,
  });
  /** Stops a session's own timers; it sends nothing more. */
  const quiesce = (session: Session) => {
    cancel(session.pongTimer);
    session.pongTimer = undefined;
    if (session.held !== undefined) cancel(session.held.timer);
    session.held = undefined;
  };

  server.on('connection', (ws) => {
    sockets.add(ws);
    sessions.set(ws, {
      loggedOn: false,
      seq: 0,
      stalled: false,
      stallAfter: undefined,
      pongTimer: undefined,
      held: undefined,
    });
    ws.on('close', () => {
      const session = sessions.get(ws);
      if (session !== undefined) quiesce(session);
      sockets.delete(ws);
      sessions.delete(ws);
    });
    ws.on('pong', () => {
      const session = sessions.get(ws);
      if (session === undefined || session.stalled) return;
      cancel(session.pongTimer);
      session.pongTimer = undefined;
    });
    ws.on('message', (data, isBinary) => {
      const session = sessions.get(ws);
      if (session === undefined || session.stalled) return;
      let msg: { id?: unknown; method?: unknown; params?: unknown };
      try {
        msg = JSON.parse(isBinary ? '' : frameText(data)) as typeof msg;
      } catch {
        send(ws, { id: null, status: 400, error: { code: -1100, msg: 'malformed frame' } });
        return;
      }
      const id = typeof msg.id === 'string' ? msg.id : null;
      const params = (typeof msg.params === 'object' && msg.params !== null ? msg.params : {}) as Record<
        string,
        unknown
      >;
      const fail = (status: number, code: number, text: string, retryAfter?: number) =>
        send(ws, { id, status, error: { code, msg: text, ...(retryAfter === undefined ? {} : { retryAfter }) } });
      const ok = (result: unknown) => send(ws, { id, status: 200, result });
      const reply = (fn: () => void) => {
        const [lo, hi] = faults.latencyMs ?? [0, 0];
        const delay = lo + (hi - lo) * random();
        if (delay > 0)
          later(() => {
            if (!session.stalled) fn();
          }, delay);
        else fn();
      };
      if (id === null || typeof msg.method !== 'string') return fail(400, -1100, 'id and method are required');
      if (msg.method === 'ping') return ok({});
      if (msg.method === 'session.logon') {
        const { apiKey, timestamp, signature } = params;
        if (typeof apiKey !== 'string' || typeof timestamp !== 'number' || typeof signature !== 'string')
          return fail(400, -1100, 'apiKey, timestamp, signature');
        if (Math.abs(now() - timestamp) > 5_000) return fail(400, -1021, 'timestamp outside the recv window');
        const want = createHmac('sha256', options.apiSecret)
          .update(`apiKey=${apiKey}&timestamp=${timestamp}`)
          .digest('hex');
        const good =
          apiKey === options.apiKey &&
          signature.length === want.length &&
          timingSafeEqual(Buffer.from(signature), Buffer.from(want));
        if (!good) return fail(401, -1022, 'invalid signature');
        session.loggedOn = true;
        session.stallAfter = armedStall;
        armedStall = undefined;
        return ok({
          serverTime: now(),
          rateLimits: [{ rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 1, limit }],
        });
      }
      if (!session.loggedOn) return fail(401, -1002, 'not logged on');
      const isOrderRequest =
        msg.method === 'order.place' || msg.method === 'order.amend' || msg.method === 'order.cancel';
      if (isOrderRequest) {
        if (session.stallAfter !== undefined) {
          if (session.stallAfter === 0) {
            session.stalled = true;
            quiesce(session);
            return;
          }
          session.stallAfter--;
        }
        const t = now();
        const second = Math.floor(t / 1_000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
        received.push(t);
        // Over the limit: the last `limit` requests before this one all came within the window.
        const over = recent.size === limit && recent.at(0) > t - RATE_WINDOW_MS;
        recent.push(t);
        if (t < bannedUntil) return fail(418, -1003, 'banned', bannedUntil);
        if (over) {
          limitedSince ??= t;
          if (t - limitedSince >= LIMITED_BEFORE_BAN_MS) {
            bannedUntil = t + BAN_MS;
            return fail(418, -1003, 'banned for ignoring 429', bannedUntil);
          }
          // When the oldest of the last `limit` requests (this one included) leaves the window.
          return fail(429, -1015, 'too many orders', recent.at(0) + RATE_WINDOW_MS);
        }
        limitedSince = undefined;
        // One draw per order request; a fault of probability 0 takes no room, so adding faults
        // leaves the outcomes of the others (for a seed) unchanged.
        const r = random();
        let p = faults.busy ?? 0;
        if (r < p) return reply(() => fail(503, -1008, 'server busy'));
        p += faults.unknownNotExecuted ?? 0;
        if (r < p) return reply(() => fail(503, -1007, 'timeout waiting for matching engine'));
        p += faults.disconnectNotExecuted ?? 0;
        if (r < p) return reply(() => ws.terminate());
        let after: 'UNKNOWN' | 'DROP' | 'DISCONNECT' | 'REPLY' = 'REPLY';
        if (r < (p += faults.unknownExecuted ?? 0)) after = 'UNKNOWN';
        else if (r < (p += faults.dropReply ?? 0)) after = 'DROP';
        else if (r < p + (faults.disconnectExecuted ?? 0)) after = 'DISCONNECT';
        const respond = (result: unknown) =>
          reply(() => {
            if (after === 'UNKNOWN') fail(503, -1007, 'timeout waiting for matching engine');
            else if (after === 'DISCONNECT') ws.terminate();
            else if (after === 'REPLY') ok(result);
          });
        return handleOrder(msg.method, params, respond, fail);
      }
      if (msg.method === 'order.status') {
        const o = typeof params['origClientOrderId'] === 'string' ? book.get(params['origClientOrderId']) : undefined;
        return o === undefined ? fail(400, -2013, 'order does not exist') : ok(orderObject(o));
      }
      if (msg.method === 'openOrders.status') {
        const symbol = typeof params['symbol'] === 'string' ? params['symbol'] : undefined;
        return ok({ orders: book.open(symbol).map(orderObject) });
      }
      return fail(400, -1100, `unknown method ${msg.method}`);
    });
  });

  function handleOrder(
    method: string,
    p: Record<string, unknown>,
    respond: (result: unknown) => void,
    fail: (status: number, code: number, text: string) => void,
  ): void {
    const symbol = p['symbol'];
    if (typeof symbol !== 'string' || symbol.length === 0) return fail(400, -1100, 'symbol');
    const num = (v: unknown) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN);
    if (method === 'order.place') {
      const { side, type, newClientOrderId } = p;
      if (typeof newClientOrderId !== 'string' || !CLIENT_ID.test(newClientOrderId))
        return fail(400, -1100, 'newClientOrderId');
      if (book.get(newClientOrderId) !== undefined) return fail(400, -2010, 'Duplicate order sent.');
      if (side !== 'BUY' && side !== 'SELL') return fail(400, -1100, 'side');
      if (type !== 'MARKET' && type !== 'LIMIT' && type !== 'STOP_MARKET') return fail(400, -1100, 'type');
      const quantity = num(p['quantity']);
      const price = num(p['price']);
      const stopPrice = num(p['stopPrice']);
      if (!(quantity > 0)) return fail(400, -1013, 'quantity');
      if (type === 'LIMIT' && !(price > 0)) return fail(400, -1013, 'price');
      if (type === 'STOP_MARKET' && !(stopPrice > 0)) return fail(400, -1013, 'stopPrice');
      if (type === 'MARKET' && book.price(symbol) === undefined) return fail(400, -1013, 'no market price yet');
      const { order, fills } = book.place({
        symbol,
        clientOrderId: newClientOrderId,
        side,
        type,
        quantity,
        ...(type === 'LIMIT' ? { price } : {}),
        ...(type === 'STOP_MARKET' ? { stopPrice } : {}),
        reduceOnly: p['reduceOnly'] === true,
      });
      respond(orderObject(order));
      reportFills(fills);
      return;
    }
    const orig = p['origClientOrderId'];
    const order = typeof orig === 'string' ? book.get(orig) : undefined;
    if (order === undefined || order.status !== 'NEW') return fail(400, -2011, 'unknown or final order');
    if (method === 'order.cancel') {
      book.cancel(order.clientOrderId);
      respond(orderObject(order));
      return;
    }
    for (const field of ['quantity', 'price', 'stopPrice'] as const) {
      if (p[field] === undefined) continue;
      const v = num(p[field]);
      if (!(v > 0)) return fail(400, -1013, field);
      order[field] = v;
    }
    order.updateTime = now();
    respond(orderObject(order));
  }

  const address = server.address() as AddressInfo;
  return {
    url: `ws://${address.address}:${address.port}`,
    book,
    executions: book.executions,
    requestsPerSecond: perSecond,
    get receiveTimes() {
      return received.toArray();
    },
    maxInAnyWindow(windowMs = RATE_WINDOW_MS) {
      if (!(windowMs > 0))
        throw new BulwarkError('INVALID_OPTION', `windowMs must be positive, got ${String(windowMs)}`, { windowMs });
      return maxInWindow(received.toArray(), windowMs);
    },
    get connections() {
      let open = 0;
      for (const ws of sockets) if (ws.readyState === ws.OPEN) open++;
      return open;
    },
    feedPrice(symbol, price) {
      reportFills(book.setPrice(symbol, price));
    },
    setFaults(next) {
      faults = next;
    },
    stall() {
      for (const session of sessions.values()) {
        session.stalled = true;
        quiesce(session);
      }
    },
    stallAfter(count) {
      if (!Number.isSafeInteger(count) || count < 0)
        throw new BulwarkError('INVALID_OPTION', `stallAfter: count must be a non-negative integer, got ${count}`, {
          count,
        });
      armedStall = count;
    },
    close() {
      clearInterval(heartbeat);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const session of sessions.values()) {
        session.pongTimer = undefined;
        session.held = undefined;
      }
      for (const ws of sockets) ws.terminate();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
