import { BrokerRequestError } from '../egress/venue-guard.js';
import type { BrokerClient, BrokerMethod } from '../egress/order-egress.js';
import { roundQuantity } from '../egress/decimal.js';
import { filtersFromMarket, venueStop, type CcxtMarketLike, type InstrumentFilters } from './instrument-filters.js';
import { classifyVenueError, type VenueOutcome } from './venue-errors.js';
import { venueRateWindows } from './venue-rate-limits.js';

/** An order as ccxt returns it (the fields read here). */
export interface CcxtOrderLike {
  /** The venue's order id. */
  readonly id?: string | undefined;
  /** The client order id it was placed with. */
  readonly clientOrderId?: string | undefined;
  /** ccxt's unified symbol (`BTC/USDT`). */
  readonly symbol?: string | undefined;
  /** `buy` or `sell`. */
  readonly side?: string | undefined;
  /** The venue's type, lower- or upper-case (`limit`, `market`, `STOP_LOSS`). */
  readonly type?: string | undefined;
  /** ccxt's unified status: `open`, `closed`, `canceled`, `expired`, `rejected`. */
  readonly status?: string | undefined;
  /** Ordered quantity. */
  readonly amount?: number | undefined;
  /** Quantity executed so far. */
  readonly filled?: number | undefined;
  /** Limit price. */
  readonly price?: number | undefined;
  /** Trigger price of a stop (ccxt's name). */
  readonly triggerPrice?: number | undefined;
  /** Trigger price of a stop (older ccxt name). */
  readonly stopPrice?: number | undefined;
  /** Whether it may only reduce a position. */
  readonly reduceOnly?: boolean | undefined;
  /** When it was placed (epoch ms). */
  readonly timestamp?: number | undefined;
  /** When it last changed (epoch ms). */
  readonly lastUpdateTimestamp?: number | undefined;
}

/** The ccxt exchange methods the adapter calls (any ccxt exchange instance has them). */
export interface CcxtExchangeLike {
  /** How the markets' precisions are given (ccxt's TICK_SIZE or DECIMAL_PLACES). */
  readonly precisionMode?: number | undefined;
  /** ccxt's per-exchange options (the adapter turns the open-orders warning off). */
  readonly options: Record<string, unknown>;
  /** Headers of the last answer (read for `Retry-After`). */
  readonly last_response_headers?: unknown;
  /** Body of the last answer (read for a cancel-replace's cancelled order; on with the adapter). */
  readonly last_json_response?: unknown;
  /** ccxt's own spacing between requests (ms), used when the venue announces no limits. */
  readonly rateLimit?: number;
  /** Binance's exchangeInfo (with its `rateLimits`), where the venue has it. */
  publicGetExchangeInfo?(params?: Record<string, unknown>): Promise<unknown>;
  /** The venue's markets by unified symbol. */
  loadMarkets(): Promise<Readonly<Record<string, CcxtMarketLike>>>;
  /** Places an order. */
  createOrder(
    symbol: string,
    type: string,
    side: 'buy' | 'sell',
    amount: number,
    price?: number,
    params?: Record<string, unknown>,
  ): Promise<CcxtOrderLike>;
  /** Cancels an order (by `origClientOrderId` in `params` here). */
  cancelOrder(id: string, symbol?: string, params?: Record<string, unknown>): Promise<CcxtOrderLike>;
  /** Reads an order (by `origClientOrderId` in `params` here). */
  fetchOrder(id: string, symbol?: string, params?: Record<string, unknown>): Promise<CcxtOrderLike>;
  /** Changes an order; on Binance spot a cancel-replace (`cancelOrigClientOrderId` in `params`). */
  editOrder(
    id: string,
    symbol: string,
    type: string,
    side: 'buy' | 'sell',
    amount?: number,
    price?: number,
    params?: Record<string, unknown>,
  ): Promise<CcxtOrderLike>;
  /** Orders still working. */
  fetchOpenOrders(
    symbol?: string,
    since?: number,
    limit?: number,
    params?: Record<string, unknown>,
  ): Promise<CcxtOrderLike[]>;
}

/** The adapter: the egress's client, and the broker reads the order service makes. */
export interface CcxtBroker extends BrokerClient {
  /** Always `cancel-replace`: a stop moves by `order.replace` (a new client id), never in place. */
  readonly amend: 'cancel-replace';
  /** Requests sent and not yet answered. */
  readonly inFlight: number;
  /**
   * The venue's new-order windows for Bulwark's limiter: what it announces (Binance's
   * `exchangeInfo.rateLimits`, ORDERS), else one window from ccxt's own `rateLimit` spacing.
   */
  rateWindows(): Promise<readonly { readonly limit: number; readonly windowMs: number }[]>;
  /**
   * Price and quantity steps of every market the venue lists, keyed by market id and by
   * unified symbol: the plugin's `stops.instruments`, so its stops round as the venue's do.
   */
  instruments(): Promise<Record<string, { readonly tickSize: number; readonly lotSize: number }>>;
  /** One protocol request as ccxt calls; rejects with a `BrokerRequestError` for the venue's refusals. */
  request(
    method: BrokerMethod | 'openOrders.status',
    params: Readonly<Record<string, unknown>>,
  ): Promise<Readonly<Record<string, unknown>>>;
}

/** Options of {@link createCcxtBroker}. */
export interface CcxtBrokerOptions {
  /** For STOP_LOSS_LIMIT markets: how far beyond the stop the limit goes. Default 0.005 (0.5 %). */
  readonly limitSlippage?: number;
  /** The time (epoch ms) answers carry when the venue gives none, and `retryAfter` is counted from. Default Date.now. */
  readonly now?: () => number;
}

/** The protocol's order states from ccxt's unified ones. */
function stateOf(o: CcxtOrderLike): string {
  switch (o.status) {
    case 'open':
      return (o.filled ?? 0) > 0 ? 'PARTIALLY_FILLED' : 'NEW';
    case 'closed':
      return 'FILLED';
    case 'canceled':
      return 'CANCELED';
    case 'expired':
      return 'EXPIRED';
    default:
      return 'REJECTED';
  }
}

/** The protocol's order object (`shared/docs/broker-protocol.md`) from a ccxt order on `market`. */
function orderObject(o: CcxtOrderLike, market: CcxtMarketLike, now: () => number): Record<string, unknown> {
  const type = (o.type ?? '').toLowerCase();
  const stop = o.triggerPrice ?? o.stopPrice;
  // ccxt reports Binance's STOP_LOSS as a `market` order with a trigger price: a trigger makes it a stop.
  const kind = stop !== undefined && stop > 0 ? 'STOP_MARKET' : type === 'limit' ? 'LIMIT' : 'MARKET';
  return {
    symbol: market.id,
    orderId: Number(o.id ?? 0),
    clientOrderId: o.clientOrderId ?? '',
    side: o.side === 'buy' ? 'BUY' : 'SELL',
    type: kind,
    status: stateOf(o),
    quantity: String(o.amount ?? 0),
    executedQty: String(o.filled ?? 0),
    ...(kind === 'LIMIT' && o.price !== undefined ? { price: String(o.price) } : {}),
    ...(kind === 'STOP_MARKET' && stop !== undefined ? { stopPrice: String(stop) } : {}),
    reduceOnly: o.reduceOnly ?? false,
    updateTime: o.lastUpdateTimestamp ?? o.timestamp ?? now(),
  };
}

/** A venue outcome as the protocol's error, which the egress and the reconciler act on. */
function brokerError(outcome: VenueOutcome, method: string, now: () => number): BrokerRequestError {
  const code = Number.isInteger(Number(outcome.code)) ? Number(outcome.code) : 0;
  switch (outcome.kind) {
    case 'PAUSE':
      // The protocol's retryAfter is a time (epoch ms), the venue's Retry-After a duration.
      return new BrokerRequestError(
        'RATE_LIMITED',
        429,
        code || -1015,
        outcome.message,
        outcome.retryAfterMs === undefined ? undefined : now() + outcome.retryAfterMs,
      );
    case 'NOT_FOUND':
      // A status read learns the order does not exist; a cancel learns nothing about its fate.
      return method === 'order.status'
        ? new BrokerRequestError('NOT_FOUND', 400, -2013, outcome.message)
        : new BrokerRequestError('QUERY_STATUS', 400, -2011, outcome.message);
    case 'DUPLICATE':
      return new BrokerRequestError('DUPLICATE', 400, -2010, outcome.message);
    case 'AUTH':
      return new BrokerRequestError('RELOGON', 401, code || -2015, outcome.message);
    case 'UNKNOWN':
      return new BrokerRequestError('IN_DOUBT', 503, code || -1007, outcome.message);
    case 'WOULD_TRIGGER':
      // Refused for its price (already through the market): as a filter failure, not a duplicate to adopt.
      return new BrokerRequestError('REJECT', 400, -1013, `STOP_WOULD_TRIGGER: ${outcome.message}`);
    case 'REJECTED':
      return new BrokerRequestError('REJECT', 400, code || -1013, outcome.message);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The cancelled order of a cancel-replace, as `cancelled` (the protocol's order object), from
 * the venue's answer: ccxt's `editOrder` keeps only the new order, the raw answer has both.
 * The raw answer is the exchange's last one, so it is used only when its new order is this one.
 */
function cancelledOf(
  last: unknown,
  placed: CcxtOrderLike,
  market: CcxtMarketLike,
  clientOrderId: string,
): { cancelled?: Record<string, unknown> } {
  const body = last as {
    newOrderResponse?: { clientOrderId?: unknown };
    cancelResponse?: Record<string, unknown>;
  } | null;
  const old = body?.cancelResponse;
  if (body?.newOrderResponse?.clientOrderId !== placed.clientOrderId || typeof old !== 'object') return {};
  const dec = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '0');
  return {
    cancelled: {
      symbol: market.id,
      orderId: Number(old['orderId'] ?? 0),
      clientOrderId, // Binance's `clientOrderId` here is the cancel's own id
      side: old['side'] === 'BUY' ? 'BUY' : 'SELL',
      type: 'STOP_MARKET',
      status: typeof old['status'] === 'string' ? old['status'] : 'CANCELED',
      quantity: dec(old['origQty']),
      executedQty: dec(old['executedQty']),
      ...(old['stopPrice'] === undefined ? {} : { stopPrice: dec(old['stopPrice']) }),
      reduceOnly: false,
      updateTime: Number(old['updateTime'] ?? old['transactTime'] ?? 0),
    },
  };
}

/** What a failed cancel-replace's body says (`data.cancelResult` / `newOrderResult`), if the error carries it. */
function replaceFailure(
  e: unknown,
): { readonly cancelled: boolean; readonly newOrder: { code?: unknown; msg?: unknown } | undefined } | undefined {
  const message = e instanceof Error ? e.message : '';
  const at = message.indexOf('{');
  if (at < 0) return undefined;
  let body: { data?: { cancelResult?: unknown; newOrderResult?: unknown; newOrderResponse?: unknown } };
  try {
    body = JSON.parse(message.slice(at)) as typeof body;
  } catch {
    return undefined;
  }
  const data = body.data;
  if (typeof data?.cancelResult !== 'string') return undefined;
  const newOrder = data.newOrderResponse;
  return {
    cancelled: data.cancelResult === 'SUCCESS',
    newOrder: typeof newOrder === 'object' && newOrder !== null ? newOrder : undefined,
  };
}

/**
 * A ccxt exchange as the egress's {@link BrokerClient}: `order.place`, `order.cancel`,
 * `order.status` and `openOrders.status` become ccxt calls, and venue errors become the
 * protocol's errors ({@link classifyVenueError}). Stops are sent as the market's stop type
 * at tick-rounded prices (towards the tighter side) and lot-rounded quantities; one below the
 * minimum quantity or notional is refused here (REJECT) without a request. It turns ccxt's
 * own throttle off: Bulwark's limiter is the only one. Markets are loaded on first use.
 *
 * A stop moves by `order.replace` (Binance spot's cancel-replace through ccxt's `editOrder`):
 * the adapter declares `amend: 'cancel-replace'`, so the stop reconciler gives every move a
 * new client id; `order.amend` is refused (REJECT -1116).
 */
export function createCcxtBroker(exchange: CcxtExchangeLike, options: CcxtBrokerOptions = {}): CcxtBroker {
  const now = options.now ?? Date.now;
  exchange.options['enableRateLimit'] = false;
  (exchange as { enableRateLimit?: boolean }).enableRateLimit = false;
  // A cancel-replace's raw answer holds the cancelled order, which ccxt's editOrder drops.
  (exchange as { enableLastJsonResponse?: boolean }).enableLastJsonResponse = true;
  // Binance refuses an open-order read without a symbol unless told it is meant.
  exchange.options['warnOnFetchOpenOrdersWithoutSymbol'] = false;
  let markets: Promise<Readonly<Record<string, CcxtMarketLike>>> | undefined;
  const filters = new Map<string, InstrumentFilters>();
  let byId: Map<string, CcxtMarketLike> | undefined;
  let byIdOf: Readonly<Record<string, CcxtMarketLike>> | undefined;

  /** The venue's markets, loaded once (a failed load is tried again next time). */
  const loaded = () =>
    (markets ??= exchange.loadMarkets().catch((e: unknown) => {
      markets = undefined;
      throw e;
    }));

  const marketOf = async (symbol: unknown): Promise<{ market: CcxtMarketLike; f: InstrumentFilters }> => {
    const all = await loaded();
    if (byId === undefined || byIdOf !== all) {
      // An index by market id, so a symbol given as `BTCUSDT` is found in O(1) among thousands.
      byId = new Map(Object.values(all).map((m) => [m.id, m]));
      byIdOf = all;
    }
    const market = typeof symbol === 'string' ? (all[symbol] ?? byId.get(symbol)) : undefined;
    if (market === undefined) throw new BrokerRequestError('REJECT', 400, -1121, `unknown symbol ${String(symbol)}`);
    let f = filters.get(market.symbol);
    if (f === undefined) filters.set(market.symbol, (f = filtersFromMarket(market, exchange.precisionMode)));
    return { market, f };
  };

  /** A protocol stop (`order.place` / `order.replace` params) as the venue's stop order, or REJECT without a request. */
  const stopOrder = (p: Readonly<Record<string, unknown>>, f: InstrumentFilters) => {
    const side = p['side'] === 'BUY' ? 'BUY' : 'SELL';
    const stop = venueStop(
      { side, quantity: Number(p['quantity']), stopPrice: Number(p['stopPrice']) },
      f,
      options.limitSlippage,
    );
    if (!stop.ok) throw new BrokerRequestError('REJECT', 400, -1013, `${stop.code}: ${stop.message}`);
    const id = str(p['newClientOrderId']);
    return {
      type: stop.type,
      side: side === 'BUY' ? ('buy' as const) : ('sell' as const),
      amount: stop.quantity,
      price: stop.limitPrice,
      params: {
        stopPrice: stop.stopPrice,
        ...(stop.type === 'STOP_LOSS_LIMIT' ? { timeInForce: 'GTC' } : {}),
        ...(id === undefined ? {} : { newClientOrderId: id }),
        ...(stop.reduceOnly ? { reduceOnly: true } : {}),
      },
    };
  };

  const call = async (method: BrokerMethod | 'openOrders.status', p: Readonly<Record<string, unknown>>) => {
    switch (method) {
      case 'order.place': {
        const { market, f } = await marketOf(p['symbol']);
        const side = p['side'] === 'BUY' ? 'BUY' : 'SELL';
        const id = str(p['newClientOrderId']);
        const quantity = Number(p['quantity']);
        if (p['type'] === 'MARKET') {
          const amount = roundQuantity(quantity, f.lotStep);
          const o = await exchange.createOrder(
            market.symbol,
            'market',
            side === 'BUY' ? 'buy' : 'sell',
            amount,
            undefined,
            {
              ...(id === undefined ? {} : { newClientOrderId: id }),
              ...(f.reduceOnly && p['reduceOnly'] === true ? { reduceOnly: true } : {}),
            },
          );
          return orderObject(o, market, now);
        }
        const s = stopOrder(p, f);
        const o = await exchange.createOrder(market.symbol, s.type, s.side, s.amount, s.price, s.params);
        return orderObject(o, market, now);
      }
      case 'order.replace': {
        // Binance spot's order/cancelReplace (STOP_ON_FAILURE) through ccxt's editOrder: the
        // old stop is cancelled and, only if that worked, the new one placed under its own id.
        const { market, f } = await marketOf(p['symbol']);
        const s = stopOrder(p, f);
        const o = await exchange.editOrder('', market.symbol, s.type, s.side, s.amount, s.price, {
          ...s.params,
          cancelOrigClientOrderId: p['cancelOrigClientOrderId'],
        });
        const cancelled = cancelledOf(exchange.last_json_response, o, market, str(p['cancelOrigClientOrderId']) ?? '');
        return { ...orderObject(o, market, now), ...cancelled };
      }
      case 'order.cancel': {
        const { market } = await marketOf(p['symbol']);
        const o = await exchange.cancelOrder('', market.symbol, { origClientOrderId: p['origClientOrderId'] });
        // Binance answers a cancel with the cancel's own id as `clientOrderId`: the order's is the one asked about.
        return { ...orderObject(o, market, now), clientOrderId: str(p['origClientOrderId']) ?? '' };
      }
      case 'order.status': {
        const { market } = await marketOf(p['symbol']);
        const o = await exchange.fetchOrder('', market.symbol, { origClientOrderId: p['origClientOrderId'] });
        return orderObject(o, market, now);
      }
      case 'openOrders.status': {
        const all = loaded();
        const symbol = p['symbol'];
        const one = typeof symbol === 'string' ? await marketOf(symbol) : undefined;
        const orders = await exchange.fetchOpenOrders(one?.market.symbol);
        const bySymbol = await all;
        return {
          orders: orders.flatMap((o) => {
            const m = o.symbol === undefined ? undefined : bySymbol[o.symbol];
            return m === undefined ? [] : [orderObject(o, m, now)];
          }),
        };
      }
      case 'order.amend':
        throw new BrokerRequestError('REJECT', 400, -1116, 'no in-place amend on this venue: use order.replace');
    }
  };

  let inFlight = 0;
  return {
    amend: 'cancel-replace',
    get inFlight() {
      return inFlight;
    },
    async rateWindows() {
      if (exchange.publicGetExchangeInfo !== undefined) {
        const info = (await exchange.publicGetExchangeInfo()) as { rateLimits?: unknown } | null;
        const { orders } = venueRateWindows(info?.rateLimits);
        if (orders.length > 0) return orders;
      }
      const spacing = exchange.rateLimit ?? 1_000;
      return [{ limit: Math.max(1, Math.floor(1_000 / Math.max(spacing, 1))), windowMs: 1_000 }];
    },
    async instruments() {
      const all = await loaded();
      const out: Record<string, { tickSize: number; lotSize: number }> = {};
      for (const market of Object.values(all)) {
        const f = filtersFromMarket(market, exchange.precisionMode);
        const steps = { tickSize: f.tickSize, lotSize: f.lotStep };
        out[f.id] = steps;
        out[f.symbol] = steps;
      }
      return out;
    },
    async request(method, params) {
      inFlight++;
      try {
        return await call(method, params);
      } catch (e) {
        if (e instanceof BrokerRequestError) throw e;
        const failed = method === 'order.replace' ? replaceFailure(e) : undefined;
        if (failed !== undefined && !failed.cancelled)
          // The old stop was not cancelled (filled, gone, unknown), so nothing was placed: ask.
          throw new BrokerRequestError('QUERY_STATUS', 400, -2022, e instanceof Error ? e.message : String(e));
        if (failed?.newOrder !== undefined)
          // The old stop is cancelled and the new one refused: the refusal is the new order's.
          throw brokerError(classifyVenueError(JSON.stringify(failed.newOrder)), 'order.place', now);
        const headers = exchange.last_response_headers;
        throw brokerError(
          classifyVenueError(
            e,
            typeof headers === 'object' && headers !== null ? (headers as Record<string, unknown>) : undefined,
          ),
          method,
          now,
        );
      } finally {
        inFlight--;
      }
    },
  };
}
