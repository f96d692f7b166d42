import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { mulberry32 } from '../util/prng.js';
import { SimBook, type SimExecution, type SimOrder } from './sim-book.js';

/** Seeded, deterministic faults, each a probability per order request (place/amend/cancel). */
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
  /** Each execution report is pushed twice. */
  readonly duplicateReports?: number;
}

/** Options of {@link startSimBroker}. */
export interface SimBrokerOptions {
  readonly apiKey: string;
  readonly apiSecret: string;
  /** 0 picks a free port. Default 0. */
  readonly port?: number;
  /** Loopback only by default. */
  readonly host?: string;
  /** Order requests allowed in any 1 s window, announced at logon. Default 50. */
  readonly ordersPerSecond?: number;
  readonly faults?: SimFaults;
  /** PRNG seed for the faults. Default 1. */
  readonly seed?: number;
  readonly now?: () => number;
}

/** A running simulated broker. */
export interface SimBroker {
  /** `ws://host:port`. */
  readonly url: string;
  readonly book: SimBook;
  /** Every execution, in order: the broker's truth. */
  readonly executions: readonly SimExecution[];
  /** Order requests (place/amend/cancel) received per whole second of the broker's clock. */
  readonly requestsPerSecond: ReadonlyMap<number, number>;
  /** Feeds a price to the book (fills stops and limits) and pushes their reports. */
  feedPrice(symbol: string, price: number): void;
  close(): Promise<void>;
}

const MAX_PAYLOAD = 64 * 1024;
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,36}$/;

interface Session {
  loggedOn: boolean;
  seq: number;
  stamps: number[];
  limitedSince: number | undefined;
  bannedUntil: number;
}

/**
 * Starts a broker that speaks `shared/docs/broker-protocol.md` over WebSocket on loopback:
 * HMAC logon, order.place / amend / cancel / status, openOrders.status, ping, execution
 * reports with `seq`, the announced rate limit (429, then 418 for ignoring it), and seeded
 * faults. It keeps its own record of executions and of requests per second, so tests judge
 * a client by the broker's truth.
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
  const faults = options.faults ?? {};
  const random = mulberry32(options.seed ?? 1);
  const book = new SimBook(now);
  const perSecond = new Map<number, number>();
  const sockets = new Set<WebSocket>();
  const sessions = new Map<WebSocket, Session>();
  const server = new WebSocketServer({ port: options.port ?? 0, host: options.host ?? '127.0.0.1', maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', resolve));

  const send = (ws: WebSocket, message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const report = (order: SimOrder, lastQty: number, lastPrice: number) => {
    for (const ws of sockets) {
      const session = sessions.get(ws);
      if (session?.loggedOn !== true) continue;
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
      send(ws, frame);
      if (random() < (faults.duplicateReports ?? 0)) send(ws, frame);
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

  server.on('connection', (ws) => {
    sockets.add(ws);
    sessions.set(ws, { loggedOn: false, seq: 0, stamps: [], limitedSince: undefined, bannedUntil: 0 });
    ws.on('close', () => {
      sockets.delete(ws);
      sessions.delete(ws);
    });
    ws.on('message', (data, isBinary) => {
      const session = sessions.get(ws);
      if (session === undefined) return;
      let msg: { id?: unknown; method?: unknown; params?: unknown };
      try {
        msg = JSON.parse(isBinary ? '' : String(data)) as typeof msg;
      } catch {
        send(ws, { id: null, status: 400, error: { code: -1100, msg: 'malformed frame' } });
        return;
      }
      const id = typeof msg.id === 'string' ? msg.id : null;
      const params = (typeof msg.params === 'object' && msg.params !== null ? msg.params : {}) as Record<string, unknown>;
      const fail = (status: number, code: number, text: string, retryAfter?: number) =>
        send(ws, { id, status, error: { code, msg: text, ...(retryAfter === undefined ? {} : { retryAfter }) } });
      const ok = (result: unknown) => send(ws, { id, status: 200, result });
      const reply = (fn: () => void) => {
        const [lo, hi] = faults.latencyMs ?? [0, 0];
        const delay = lo + (hi - lo) * random();
        if (delay > 0) setTimeout(fn, delay);
        else fn();
      };
      if (id === null || typeof msg.method !== 'string') return fail(400, -1100, 'id and method are required');
      if (msg.method === 'ping') return ok({});
      if (msg.method === 'session.logon') {
        const { apiKey, timestamp, signature } = params;
        if (typeof apiKey !== 'string' || typeof timestamp !== 'number' || typeof signature !== 'string') return fail(400, -1100, 'apiKey, timestamp, signature');
        if (Math.abs(now() - timestamp) > 5_000) return fail(400, -1021, 'timestamp outside the recv window');
        const want = createHmac('sha256', options.apiSecret).update(`apiKey=${apiKey}&timestamp=${timestamp}`).digest('hex');
        const good = apiKey === options.apiKey && signature.length === want.length && timingSafeEqual(Buffer.from(signature), Buffer.from(want));
        if (!good) return fail(401, -1022, 'invalid signature');
        session.loggedOn = true;
        return ok({ serverTime: now(), rateLimits: [{ rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 1, limit }] });
      }
      if (!session.loggedOn) return fail(401, -1002, 'not logged on');
      const isOrderRequest = msg.method === 'order.place' || msg.method === 'order.amend' || msg.method === 'order.cancel';
      if (isOrderRequest) {
        const t = now();
        const second = Math.floor(t / 1_000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
        if (t < session.bannedUntil) return fail(418, -1003, 'banned', session.bannedUntil);
        session.stamps = session.stamps.filter((s) => s > t - 1_000);
        if (session.stamps.length >= limit) {
          session.limitedSince ??= t;
          if (t - session.limitedSince >= 2_000) {
            session.bannedUntil = t + 10_000;
            return fail(418, -1003, 'banned for ignoring 429', session.bannedUntil);
          }
          return fail(429, -1015, 'too many orders', (session.stamps[0] as number) + 1_000);
        }
        session.limitedSince = undefined;
        session.stamps.push(t);
        const r = random();
        let p = faults.busy ?? 0;
        if (r < p) return reply(() => fail(503, -1008, 'server busy'));
        p += faults.unknownNotExecuted ?? 0;
        if (r < p) return reply(() => fail(503, -1007, 'timeout waiting for matching engine'));
        const unknownAfter = r < p + (faults.unknownExecuted ?? 0);
        const drop = !unknownAfter && r < p + (faults.unknownExecuted ?? 0) + (faults.dropReply ?? 0);
        const respond = (result: unknown) => reply(() => (unknownAfter ? fail(503, -1007, 'timeout waiting for matching engine') : drop ? undefined : ok(result)));
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
      if (typeof newClientOrderId !== 'string' || !CLIENT_ID.test(newClientOrderId)) return fail(400, -1100, 'newClientOrderId');
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
    feedPrice(symbol, price) {
      reportFills(book.setPrice(symbol, price));
    },
    close() {
      for (const ws of sockets) ws.terminate();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
