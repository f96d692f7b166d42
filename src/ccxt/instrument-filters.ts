import { BulwarkError } from '../errors.js';
import { roundQuantity, roundStopPrice, roundToStep } from '../egress/decimal.js';

/** ccxt's precision modes (`exchange.precisionMode`): only these two describe a grid. */
const DECIMAL_PLACES = 2;
const TICK_SIZE = 4;

/** The fields of a ccxt market (`exchange.markets[symbol]`) this module reads. */
export interface CcxtMarketLike {
  /** The venue's market id (`BTCUSDT`). */
  readonly id: string;
  /** ccxt's unified symbol (`BTC/USDT`). */
  readonly symbol: string;
  /** A spot market. */
  readonly spot?: boolean;
  /** A perpetual swap (a derivative: stops are STOP_MARKET with reduceOnly). */
  readonly swap?: boolean;
  /** A dated future (a derivative, as `swap`). */
  readonly future?: boolean;
  /** Price and amount grids, in the exchange's `precisionMode`. */
  readonly precision: { readonly price?: number | undefined; readonly amount?: number | undefined };
  /** Minimum amount and cost (notional). */
  readonly limits: {
    readonly amount?: { readonly min?: number | undefined };
    readonly cost?: { readonly min?: number | undefined };
  };
  /** The venue's raw market; Binance lists `orderTypes` there. */
  readonly info?: unknown;
}

/** How a protective stop is sent on a market. */
export type StopOrderType = 'STOP_LOSS' | 'STOP_LOSS_LIMIT' | 'STOP_MARKET';

/** What an instrument allows, from ccxt's `loadMarkets()`. */
export interface InstrumentFilters {
  /** ccxt's unified symbol, e.g. `BTC/USDT`. */
  readonly symbol: string;
  /** The venue's market id, e.g. `BTCUSDT`. */
  readonly id: string;
  /** Price grid step. */
  readonly tickSize: number;
  /** Quantity grid step. */
  readonly lotStep: number;
  /** Smallest quantity (0 when the venue gives none). */
  readonly minQuantity: number;
  /** Smallest quantity × price (0 when the venue gives none). */
  readonly minNotional: number;
  /** The order type a protective stop is sent as: a market stop where the venue has one. */
  readonly stopOrderType: StopOrderType;
  /** Whether `reduceOnly` may be sent (derivatives); spot rejects it (Binance -1104). */
  readonly reduceOnly: boolean;
}

/** A protective stop as the venue will take it, or why it cannot be sent. */
export type VenueStop =
  | {
      readonly ok: true;
      readonly type: StopOrderType;
      /** On the tick grid, rounded only towards the tighter side. */
      readonly stopPrice: number;
      /** On the lot grid, rounded down (never more than the position). */
      readonly quantity: number;
      /** For STOP_LOSS_LIMIT: the limit, `limitSlippage` beyond the stop, rounded away from the market. */
      readonly limitPrice?: number;
      readonly reduceOnly: boolean;
    }
  | { readonly ok: false; readonly code: 'BELOW_MIN_QUANTITY' | 'BELOW_MIN_NOTIONAL'; readonly message: string };

const orderTypesOf = (info: unknown): readonly string[] | undefined => {
  const types = typeof info === 'object' && info !== null ? (info as { orderTypes?: unknown }).orderTypes : undefined;
  return Array.isArray(types) ? types.filter((t): t is string => typeof t === 'string') : undefined;
};

/** A grid step from ccxt's precision in its mode: a tick size as is, decimal places as 10^-n. */
function step(value: number | undefined, mode: number | undefined, what: string, symbol: string): number {
  const s = mode === DECIMAL_PLACES && value !== undefined ? 10 ** -value : value;
  if ((mode !== TICK_SIZE && mode !== DECIMAL_PLACES) || s === undefined || !(s > 0) || !Number.isFinite(s))
    throw new BulwarkError(
      'INVALID_OPTION',
      `market ${symbol} has no usable ${what} precision (precisionMode ${mode})`,
      {
        symbol,
        mode,
        value,
      },
    );
  return s;
}

/**
 * The filters of one market, as ccxt parsed them (`exchange.markets[symbol]` and
 * `exchange.precisionMode`). The stop type is the market stop the venue lists (Binance spot
 * `STOP_LOSS`), else `STOP_LOSS_LIMIT`; derivatives use `STOP_MARKET` with `reduceOnly`.
 * Throws `INVALID_OPTION` for a market without a price or amount grid.
 */
export function filtersFromMarket(market: CcxtMarketLike, precisionMode: number | undefined): InstrumentFilters {
  const derivative = market.swap === true || market.future === true;
  const types = orderTypesOf(market.info);
  let stopOrderType: StopOrderType = 'STOP_LOSS';
  if (derivative) stopOrderType = 'STOP_MARKET';
  else if (types !== undefined && !types.includes('STOP_LOSS') && types.includes('STOP_LOSS_LIMIT'))
    stopOrderType = 'STOP_LOSS_LIMIT';
  return Object.freeze({
    symbol: market.symbol,
    id: market.id,
    tickSize: step(market.precision.price, precisionMode, 'price', market.symbol),
    lotStep: step(market.precision.amount, precisionMode, 'amount', market.symbol),
    minQuantity: market.limits.amount?.min ?? 0,
    minNotional: market.limits.cost?.min ?? 0,
    stopOrderType,
    reduceOnly: derivative,
  });
}

/**
 * A desired protective stop put on the instrument's grid: the stop price rounded towards the
 * tighter side (a SELL stop up, a BUY stop down), the quantity down to the lot step. Below the
 * minimum quantity or notional it is not sendable (the venue would reject it, -1013): the
 * reason is returned for the position to be reported UNPROTECTED, never sent to be refused.
 *
 * @example
 * ```ts
 * venueStop({ side: 'SELL', quantity: 0.123456, stopPrice: 61_234.567 }, filters);
 * // { ok: true, type: 'STOP_LOSS', stopPrice: 61234.57, quantity: 0.12345, reduceOnly: false }
 * ```
 */
export function venueStop(
  want: { readonly side: 'BUY' | 'SELL'; readonly quantity: number; readonly stopPrice: number },
  f: InstrumentFilters,
  limitSlippage = 0.005,
): VenueStop {
  const stopPrice = roundStopPrice(want.stopPrice, want.side, f.tickSize);
  const quantity = roundQuantity(want.quantity, f.lotStep);
  if (!(quantity > 0) || quantity < f.minQuantity)
    return {
      ok: false,
      code: 'BELOW_MIN_QUANTITY',
      message: `${want.quantity} ${f.symbol} is below the minimum quantity ${f.minQuantity} (lot ${f.lotStep})`,
    };
  if (quantity * stopPrice < f.minNotional)
    return {
      ok: false,
      code: 'BELOW_MIN_NOTIONAL',
      message: `${quantity} × ${stopPrice} is below the minimum notional ${f.minNotional} of ${f.symbol}`,
    };
  const base = { ok: true as const, type: f.stopOrderType, stopPrice, quantity, reduceOnly: f.reduceOnly };
  if (f.stopOrderType !== 'STOP_LOSS_LIMIT') return base;
  // A stop-limit fills only at its limit or better: set it beyond the stop, away from the market.
  const sell = want.side === 'SELL';
  const raw = stopPrice * (sell ? 1 - limitSlippage : 1 + limitSlippage);
  return { ...base, limitPrice: roundToStep(raw, f.tickSize, sell ? 'DOWN' : 'UP') };
}

/**
 * The market for `symbol` given as the venue's id (`BTCUSDT`) or ccxt's unified symbol
 * (`BTC/USDT`), or undefined when the venue has neither.
 */
export function marketFor<M extends CcxtMarketLike>(
  markets: Readonly<Record<string, M>>,
  symbol: string,
): M | undefined {
  const direct = markets[symbol];
  if (direct !== undefined) return direct;
  return Object.values(markets).find((m) => m.id === symbol);
}
