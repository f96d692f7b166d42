import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimBook, type SimExecution, type SimOrder } from './sim-book.js';
import { mulberry32 } from '../util/prng.js';
import { BulwarkError } from '../errors.js';

/** One instrument the simulated Binance lists (spot). */
export interface SimBinanceSymbol {
  /** The market id, e.g. `BTCUSDT`. */
  readonly symbol: string;
  /** The asset bought and sold, e.g. `BTC`. */
  readonly baseAsset: string;
  /** The asset prices are in, e.g. `USDT`. */
  readonly quoteAsset: string;
  /** PRICE_FILTER tick size, as Binance writes it (e.g. `'0.01'`). */
  readonly tickSize: string;
  /** LOT_SIZE step. */
  readonly stepSize: string;
  /** LOT_SIZE minimum quantity. */
  readonly minQty: string;
  /** NOTIONAL minimum (quantity × price). */
  readonly minNotional: string;
}

/** Faults of {@link startSimBinance}: what a venue does to an order request now and then. */
export interface SimBinanceFaults {
  /** Executed, then answered 503 -1007 ("execution status unknown"). */
  readonly unknownExecuted?: number;
  /** Not executed, answered 503 -1007 all the same. */
  readonly unknownNotExecuted?: number;
  /** Executed, then the connection is dropped without an answer. */
  readonly dropReply?: number;
  /** Answer delay range in ms. Default none. */
  readonly latencyMs?: readonly [number, number];
}

/** Options of {@link startSimBinance}. */
export interface SimBinanceOptions {
  /** The API key requests must carry (`X-MBX-APIKEY`). */
  readonly apiKey: string;
  /** The secret signed requests must be signed with (HMAC-SHA256). */
  readonly apiSecret: string;
  /** Listed instruments. Default: BTCUSDT and ETHUSDT. */
  readonly symbols?: readonly SimBinanceSymbol[];
  /** New orders per ORDERS window (10 s, as Binance announces it). Default 50. A cancel-replace counts one. */
  readonly ordersPer10s?: number;
  /** The length of that window in seconds (a shorter one makes tests faster). Default 10. */
  readonly ordersWindowSeconds?: number;
  /**
   * Seeded faults on order requests (new order, cancel, cancel-replace), each a probability
   * (default 0), drawn once per request from `seed`: at most one hits a request.
   */
  readonly faults?: SimBinanceFaults;
  /** Seed of the fault draws. Default 1. */
  readonly seed?: number;
  /** New orders per day. Default 160 000. */
  readonly ordersPerDay?: number;
  /** Request weight per minute. Default 6 000. */
  readonly weightPerMinute?: number;
  /** The broker's clock (epoch ms). Default Date.now. */
  readonly now?: () => number;
  /** Port to listen on. Default 0 (any free port). */
  readonly port?: number;
  /** Host to listen on. Default 127.0.0.1. */
  readonly host?: string;
}

/** A running simulated Binance spot REST API. */
export interface SimBinance {
  /** `http://host:port`: point ccxt's `urls.api.public` / `private` at `${url}/api/v3`. */
  readonly url: string;
  /** Every execution, in order: the venue's truth. */
  readonly executions: readonly SimExecution[];
  /** Receive times (broker clock) of every new-order request it counted, in order. */
  readonly orderTimes: readonly number[];
  /** Requests refused for a bad key or signature. */
  readonly authFailures: number;
  /** Feeds a last price (stops trigger on it). */
  feedPrice(symbol: string, price: number): void;
  /** Orders still working. */
  open(symbol?: string): readonly SimOrder[];
  /**
   * From the next `count` new orders on, each further new-order request (new order,
   * cancel-replace) is executed but never answered (until `close`): a deterministic "the
   * answer was lost in flight" for crash tests.
   */
  holdAnswersAfter(count: number): void;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

const DEFAULT_SYMBOLS: readonly SimBinanceSymbol[] = [
  {
    symbol: 'BTCUSDT',
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    stepSize: '0.00001',
    minQty: '0.00001',
    minNotional: '5',
  },
  {
    symbol: 'ETHUSDT',
    baseAsset: 'ETH',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    stepSize: '0.0001',
    minQty: '0.0001',
    minNotional: '5',
  },
];

/** An answer: HTTP status, JSON body, extra headers. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const fail = (status: number, code: number, msg: string, headers?: Record<string, string>): Answer => ({
  status,
  body: { code, msg },
  ...(headers === undefined ? {} : { headers }),
});

/** True when `value` is a multiple of `step` (decimal strings, up to float error). */
function onGrid(value: number, step: number): boolean {
  const q = value / step;
  return Math.abs(q - Math.round(q)) <= 1e-9 * Math.max(1, Math.abs(q));
}

/** Binance's order object (numbers as decimal strings). */
function orderJson(o: SimOrder, binanceType: string): Record<string, unknown> {
  return {
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    price: String(o.price ?? 0),
    origQty: String(o.quantity),
    executedQty: String(o.executedQty),
    cummulativeQuoteQty: String(o.executedQty * (o.lastPrice ?? 0)),
    status: o.status,
    timeInForce: 'GTC',
    type: binanceType,
    side: o.side,
    stopPrice: String(o.stopPrice ?? 0),
    time: o.updateTime,
    updateTime: o.updateTime,
    transactTime: o.updateTime,
    isWorking: o.status === 'NEW',
    workingTime: o.updateTime,
    origQuoteOrderQty: '0',
    selfTradePreventionMode: 'NONE',
  };
}

/**
 * A simulated Binance spot REST API, the subset ccxt uses to protect positions: `time`,
 * `exchangeInfo` (with PRICE_FILTER, LOT_SIZE, NOTIONAL and the ORDERS / REQUEST_WEIGHT
 * windows), signed `order` POST/GET/DELETE, `openOrders` and `order/cancelReplace`. It checks
 * `X-MBX-APIKEY` and the HMAC-SHA256 signature of every signed request (-2015, -1022), rejects
 * off-grid prices and quantities (-1013), a duplicate client id and a stop already through
 * the market (-2010), `reduceOnly` (-1104), and counts new orders in sliding windows as it
 * receives them (-1015 with HTTP 429 and `Retry-After`). STOP_LOSS orders rest in the same
 * {@link SimBook} as the WebSocket simulator and trigger on fed prices.
 *
 * @example
 * ```ts
 * const venue = await startSimBinance({ apiKey: 'k', apiSecret: 's' });
 * const exchange = new ccxt.binance({ apiKey: 'k', secret: 's' });
 * exchange.urls.api = { ...exchange.urls.api, public: `${venue.url}/api/v3`, private: `${venue.url}/api/v3` };
 * ```
 */
export async function startSimBinance(options: SimBinanceOptions): Promise<SimBinance> {
  const now = options.now ?? Date.now;
  const symbols = new Map((options.symbols ?? DEFAULT_SYMBOLS).map((s) => [s.symbol, s]));
  const book = new SimBook(now);
  const types = new Map<string, string>(); // client id → Binance order type
  const orderTimes: number[] = [];
  const weights: number[] = [];
  let authFailures = 0;
  const per10s = options.ordersPer10s ?? 50;
  const windowS = options.ordersWindowSeconds ?? 10;
  const windowMs = windowS * 1_000;
  const faults = options.faults ?? {};
  const random = mulberry32(options.seed ?? 1);
  const timers = new Set<ReturnType<typeof setTimeout>>();
  /** New orders counted after which answers to new-order requests are held. */
  let holdFrom = Number.POSITIVE_INFINITY;
  const perDay = options.ordersPerDay ?? 160_000;
  const perMinute = options.weightPerMinute ?? 6_000;

  const countIn = (times: readonly number[], windowMs: number, t: number): number => {
    let n = 0;
    for (let i = times.length - 1; i >= 0 && (times[i] ?? -Infinity) > t - windowMs; i--) n++;
    return n;
  };
  /** Counts one new order as received now, or refuses it (-1015) with when to come back. */
  const takeOrder = (): Answer | undefined => {
    const t = now();
    if (countIn(orderTimes, windowMs, t) >= per10s || countIn(orderTimes, 86_400_000, t) >= perDay) {
      const oldest = orderTimes[orderTimes.length - per10s] ?? t;
      const retry = Math.max(1, Math.ceil((oldest + windowMs - t) / 1_000));
      return fail(429, -1015, `Too many new orders; current limit is ${per10s} orders per ${windowS} SECOND.`, {
        'Retry-After': String(retry),
      });
    }
    orderTimes.push(t);
    return undefined;
  };

  const exchangeInfo = (): Answer => ({
    status: 200,
    body: {
      timezone: 'UTC',
      serverTime: now(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: perMinute },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: windowS, limit: per10s },
        { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: perDay },
      ],
      exchangeFilters: [],
      symbols: [...symbols.values()].map((s) => ({
        symbol: s.symbol,
        status: 'TRADING',
        baseAsset: s.baseAsset,
        baseAssetPrecision: 8,
        quoteAsset: s.quoteAsset,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        orderTypes: [
          'LIMIT',
          'LIMIT_MAKER',
          'MARKET',
          'STOP_LOSS',
          'STOP_LOSS_LIMIT',
          'TAKE_PROFIT',
          'TAKE_PROFIT_LIMIT',
        ],
        icebergAllowed: true,
        ocoAllowed: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: s.tickSize, maxPrice: '1000000', tickSize: s.tickSize },
          { filterType: 'LOT_SIZE', minQty: s.minQty, maxQty: '9000', stepSize: s.stepSize },
          {
            filterType: 'NOTIONAL',
            minNotional: s.minNotional,
            applyMinToMarket: true,
            maxNotional: '9000000',
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
        ],
        permissions: ['SPOT'],
        permissionSets: [['SPOT']],
      })),
    },
  });

  /** The checks of a new order's parameters; undefined when it may be placed. */
  const checkNew = (p: URLSearchParams): Answer | undefined => {
    const s = symbols.get(p.get('symbol') ?? '');
    if (s === undefined) return fail(400, -1121, 'Invalid symbol.');
    if (p.has('reduceOnly'))
      return fail(400, -1104, "Not all sent parameters were read; read '8' parameter(s) but was sent '9'.");
    const side = p.get('side');
    if (side !== 'BUY' && side !== 'SELL') return fail(400, -1117, 'Invalid side.');
    const type = p.get('type');
    if (type !== 'MARKET' && type !== 'LIMIT' && type !== 'STOP_LOSS') return fail(400, -1116, 'Invalid orderType.');
    const quantity = Number(p.get('quantity'));
    if (!(quantity > 0))
      return fail(400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");
    if (!onGrid(quantity, Number(s.stepSize)) || quantity < Number(s.minQty))
      return fail(400, -1013, 'Filter failure: LOT_SIZE');
    const priceKey = type === 'STOP_LOSS' ? 'stopPrice' : type === 'LIMIT' ? 'price' : undefined;
    const price = priceKey === undefined ? (book.price(s.symbol) ?? 0) : Number(p.get(priceKey));
    if (priceKey !== undefined && !(price > 0))
      return fail(400, -1102, `Mandatory parameter '${priceKey}' was not sent, was empty/null, or malformed.`);
    if (priceKey !== undefined && !onGrid(price, Number(s.tickSize)))
      return fail(400, -1013, 'Filter failure: PRICE_FILTER');
    if (quantity * price < Number(s.minNotional)) return fail(400, -1013, 'Filter failure: NOTIONAL');
    const id = p.get('newClientOrderId');
    if (id !== null && !/^[a-zA-Z0-9-_]{1,36}$/.test(id))
      return fail(
        400,
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
      );
    if (id !== null && book.get(id) !== undefined) return fail(400, -2010, 'Duplicate order sent.');
    const last = book.price(s.symbol);
    if (type === 'STOP_LOSS' && last !== undefined && (side === 'SELL' ? last <= price : last >= price))
      return fail(400, -2010, 'Stop price would trigger immediately.');
    return undefined;
  };

  let nextId = 1;
  const place = (p: URLSearchParams): Answer => {
    const type = p.get('type') ?? '';
    const side = p.get('side') === 'BUY' ? 'BUY' : 'SELL';
    const clientOrderId = p.get('newClientOrderId') ?? `sim-${nextId++}`;
    const stopPrice = Number(p.get('stopPrice'));
    const price = Number(p.get('price'));
    const { order } = book.place({
      symbol: p.get('symbol') ?? '',
      clientOrderId,
      side,
      type: type === 'STOP_LOSS' ? 'STOP_MARKET' : type === 'LIMIT' ? 'LIMIT' : 'MARKET',
      quantity: Number(p.get('quantity')),
      ...(type === 'STOP_LOSS' ? { stopPrice } : {}),
      ...(type === 'LIMIT' ? { price } : {}),
      reduceOnly: false,
    });
    types.set(clientOrderId, type);
    return { status: 200, body: orderJson(order, type) };
  };

  /** The order named by `origClientOrderId` (or `orderId`) on `symbol`. */
  const find = (p: URLSearchParams, idKey = 'origClientOrderId', numKey = 'orderId'): SimOrder | undefined => {
    const id = p.get(idKey);
    const num = p.get(numKey);
    const o =
      id !== null ? book.get(id) : num !== null ? book.open().find((x) => String(x.orderId) === num) : undefined;
    return o?.symbol === p.get('symbol') ? o : undefined;
  };
  const typeOf = (o: SimOrder) => types.get(o.clientOrderId) ?? 'STOP_LOSS';
  /** A cancel's answer as Binance gives it: the order's id is `origClientOrderId`; `clientOrderId` is the cancel's own. */
  const cancelJson = (o: SimOrder, p: URLSearchParams): Record<string, unknown> => ({
    ...orderJson(o, typeOf(o)),
    origClientOrderId: o.clientOrderId,
    clientOrderId: p.get('newClientOrderId') ?? `cancel-${nextId++}`,
  });

  /**
   * `order/cancelReplace` with STOP_ON_FAILURE, as Binance documents it: the request counts as
   * one new order; the cancel is tried first and, if it fails, nothing is placed (-2022, HTTP
   * 400); if the cancel succeeds and the new order is refused, the old order stays cancelled
   * (-2021 "partially failed", HTTP 409).
   */
  const cancelReplace = (p: URLSearchParams): Answer => {
    if (p.get('cancelReplaceMode') !== 'STOP_ON_FAILURE')
      return fail(400, -1102, "Mandatory parameter 'cancelReplaceMode' was not sent, was empty/null, or malformed.");
    const limited = takeOrder();
    if (limited !== undefined) return limited;
    const target = find(p, 'cancelOrigClientOrderId', 'cancelOrderId');
    if (target === undefined || target.status !== 'NEW')
      return {
        status: 400,
        body: {
          code: -2022,
          msg: 'Order cancel-replace failed.',
          data: {
            cancelResult: 'FAILURE',
            newOrderResult: 'NOT_ATTEMPTED',
            cancelResponse: { code: -2011, msg: 'Unknown order sent.' },
            newOrderResponse: null,
          },
        },
      };
    const canceled = book.cancel(target.clientOrderId);
    const cancelResponse = canceled === undefined ? null : cancelJson(canceled, new URLSearchParams());
    const refused = checkNew(p);
    if (refused !== undefined)
      return {
        status: 409,
        body: {
          code: -2021,
          msg: 'Order cancel-replace partially failed.',
          data: { cancelResult: 'SUCCESS', newOrderResult: 'FAILURE', cancelResponse, newOrderResponse: refused.body },
        },
      };
    const placed = place(p);
    return {
      status: 200,
      body: { cancelResult: 'SUCCESS', newOrderResult: 'SUCCESS', cancelResponse, newOrderResponse: placed.body },
    };
  };

  /** Checks key and HMAC signature over the raw parameter string (query, or form body). */
  const authentic = (req: IncomingMessage, raw: string): Answer | undefined => {
    if (req.headers['x-mbx-apikey'] !== options.apiKey) {
      authFailures++;
      return fail(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    }
    const at = raw.lastIndexOf('&signature=');
    const given = at < 0 ? '' : raw.slice(at + '&signature='.length);
    const expected = createHmac('sha256', options.apiSecret)
      .update(at < 0 ? raw : raw.slice(0, at))
      .digest('hex');
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      authFailures++;
      return fail(400, -1022, 'Signature for this request is not valid.');
    }
    return undefined;
  };

  const route = (req: IncomingMessage, path: string, raw: string): Answer => {
    const weight = path.endsWith('/exchangeInfo') ? 20 : path.endsWith('/openOrders') ? 6 : 1;
    const t = now();
    let used = 0;
    for (let i = weights.length - 1; i >= 0; i -= 2) {
      if ((weights[i - 1] ?? -Infinity) <= t - 60_000) break;
      used += weights[i] ?? 0;
    }
    if (used + weight > perMinute)
      return fail(429, -1003, 'Too many requests; current request weight limit exceeded.', { 'Retry-After': '60' });
    weights.push(t, weight);
    const p = new URLSearchParams(raw);
    const method = req.method ?? 'GET';
    if (path === '/api/v3/time' && method === 'GET') return { status: 200, body: { serverTime: t } };
    if (path === '/api/v3/ping' && method === 'GET') return { status: 200, body: {} };
    if (path === '/api/v3/exchangeInfo' && method === 'GET') return exchangeInfo();
    const signed = ['/api/v3/order', '/api/v3/openOrders', '/api/v3/order/cancelReplace'];
    if (!signed.includes(path)) return fail(404, -1000, `unknown path ${method} ${path}`);
    const refused = authentic(req, raw);
    if (refused !== undefined) return refused;
    if (path === '/api/v3/openOrders' && method === 'GET') {
      const symbol = p.get('symbol') ?? undefined;
      return { status: 200, body: book.open(symbol).map((o) => orderJson(o, typeOf(o))) };
    }
    if (path === '/api/v3/order/cancelReplace' && method === 'POST') return cancelReplace(p);
    if (path !== '/api/v3/order') return fail(404, -1000, `unknown path ${method} ${path}`);
    if (method === 'POST') {
      const bad = checkNew(p);
      if (bad !== undefined) return bad;
      return takeOrder() ?? place(p);
    }
    const o = find(p);
    if (method === 'GET')
      return o === undefined
        ? fail(400, -2013, 'Order does not exist.')
        : { status: 200, body: orderJson(o, typeOf(o)) };
    if (method === 'DELETE') {
      const canceled = o === undefined ? undefined : book.cancel(o.clientOrderId);
      return canceled === undefined
        ? fail(400, -2011, 'Unknown order sent.')
        : { status: 200, body: cancelJson(canceled, p) };
    }
    return fail(405, -1000, `method ${method} not allowed on ${path}`);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65_536) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://sim');
      const body = Buffer.concat(chunks).toString('utf8');
      const raw = req.method === 'GET' || req.method === 'DELETE' ? url.search.slice(1) : body;
      const respond = (answer: Answer) => {
        res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
        res.end(JSON.stringify(answer.body));
      };
      if (size > 65_536) return respond(fail(413, -1000, 'request too large'));
      // One draw per order request (new, cancel, cancel-replace): at most one fault hits it.
      const changes =
        (url.pathname === '/api/v3/order' && (req.method === 'POST' || req.method === 'DELETE')) ||
        url.pathname === '/api/v3/order/cancelReplace';
      const r = changes ? random() : 1;
      const unknown = () =>
        fail(
          503,
          -1007,
          'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
        );
      let p = faults.unknownNotExecuted ?? 0;
      const [lo, hi] = faults.latencyMs ?? [0, 0];
      const later = (fn: () => void) => {
        const delay = lo + (hi - lo) * random();
        if (delay <= 0) return fn();
        const timer = setTimeout(() => {
          timers.delete(timer);
          fn();
        }, delay);
        timers.add(timer);
      };
      if (r < p) return later(() => respond(unknown()));
      const answer = route(req, url.pathname, raw);
      if (r < (p += faults.unknownExecuted ?? 0)) return later(() => respond(unknown()));
      if (r < p + (faults.dropReply ?? 0)) return later(() => req.socket.destroy());
      // Held: executed, the answer never leaves (the socket is dropped at close).
      if (changes && req.method === 'POST' && orderTimes.length > holdFrom) return;
      later(() => respond(answer));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    executions: book.executions,
    orderTimes,
    get authFailures() {
      return authFailures;
    },
    feedPrice: (symbol, price) => void book.setPrice(symbol, price),
    holdAnswersAfter: (count) => {
      if (!Number.isSafeInteger(count) || count < 0)
        throw new BulwarkError(
          'INVALID_OPTION',
          `holdAnswersAfter: count must be a non-negative integer, got ${count}`,
          {
            count,
          },
        );
      holdFrom = orderTimes.length + count;
    },
    open: (symbol) => book.open(symbol),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
