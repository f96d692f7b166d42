import { roundQuantity } from '../egress/decimal.js';
import type { OrderSide } from '../vocabulary/market.js';
import type { DenyCode } from '../vocabulary/reason-codes.js';
import type { PreTradeConfig } from './pre-trade-config.js';
import type { PreTradeLimits } from './pre-trade-limits.js';

/** `sizing`: how much of equity one stop-out may cost, and the most one position may take. */
export interface SizingConfig {
  /** Hitting the stop loses this fraction of current equity, in (0, 1). */
  readonly riskFraction: number;
  /** The position's notional is at most this fraction of equity. Default no cap. */
  readonly maxFractionOfEquity?: number;
}

/** What `plugin.sizeOrder` is asked. */
export interface SizeRequest {
  /** The instrument to enter. */
  readonly symbol: string;
  /** BUY for a long entry, SELL for a short one. */
  readonly side: OrderSide;
  /** Default: the last accepted close. */
  readonly entryPrice?: number;
  /** Default: the plugin's stop policy for a position entered at `entryPrice`, at the current ATR. */
  readonly stopPrice?: number;
}

/** A size, or why there is none. */
export type SizeResult =
  | {
      readonly ok: true;
      readonly quantity: number;
      readonly entryPrice: number;
      readonly stopPrice: number;
      /** What bound the size: RISK (the risk fraction), EQUITY_CAP, LOT, or a limit's deny code. */
      readonly boundBy: string;
    }
  | { readonly ok: false; readonly code: 'INSUFFICIENT_DATA' | DenyCode; readonly message: string };

/** The inputs of {@link sizePosition} the plugin gathers. */
export interface SizingInputs {
  readonly equity: number | undefined;
  readonly entryPrice: number | undefined;
  readonly stopPrice: number | undefined;
  /** The symbol's lot step. */
  readonly lot: number;
  /** The pre-trade limits as configured, and the limits object with their book. */
  readonly preTrade: PreTradeConfig | undefined;
  readonly limits: PreTradeLimits | undefined;
}

/**
 * The largest quantity for an entry such that hitting the stop loses `riskFraction` of equity,
 * capped by `maxFractionOfEquity` and by every configured pre-trade limit (at the entry price,
 * the book's reserved entries included), rounded down to the lot. A coded reason instead when
 * none is possible: `INSUFFICIENT_DATA` (no equity yet, no price, no stop), or the code of a
 * limit already reached.
 *
 * @example
 * ```ts
 * sizePosition({ symbol: 'AAPL', side: 'BUY' }, { riskFraction: 0.01 }, { equity: 1e6, entryPrice: 100, stopPrice: 95, lot: 1, preTrade: undefined, limits: undefined });
 * // { ok: true, quantity: 2000, … }: 2 000 × 5 = 10 000 = 1 % of 1 000 000
 * ```
 */
export function sizePosition(r: SizeRequest, cfg: SizingConfig, x: SizingInputs): SizeResult {
  const { equity, entryPrice: entry, stopPrice: stop } = x;
  if (equity === undefined || !(equity > 0))
    return { ok: false, code: 'INSUFFICIENT_DATA', message: 'no accepted equity yet to size from' };
  if (entry === undefined || !(entry > 0))
    return {
      ok: false,
      code: 'INSUFFICIENT_DATA',
      message: `no entry price for ${r.symbol} (none given, no accepted close)`,
    };
  if (stop === undefined || !(stop > 0))
    return {
      ok: false,
      code: 'INSUFFICIENT_DATA',
      message: `no stop for ${r.symbol} (none given, the ATR not seeded)`,
    };
  const d = r.side === 'BUY' ? 1 : -1;
  const risk = (entry - stop) * d;
  if (!(risk > 0))
    return {
      ok: false,
      code: 'INSUFFICIENT_DATA',
      message: `a ${r.side} entry at ${entry} needs its stop on the loss side, got ${stop}`,
    };
  let q = (cfg.riskFraction * equity) / risk;
  let boundBy = 'RISK';
  const cap = (max: number, why: string) => {
    if (max < q) {
      q = max;
      boundBy = why;
    }
  };
  if (cfg.maxFractionOfEquity !== undefined) cap((cfg.maxFractionOfEquity * equity) / entry, 'EQUITY_CAP');
  const c = x.preTrade;
  const book = x.limits?.book;
  if (c !== undefined && x.limits !== undefined && book !== undefined) {
    const at = book.mark(r.symbol) ?? entry;
    const cur = book.quantity(r.symbol);
    const curNotional = Math.abs(cur) * at;
    if (c.maxOrderNotional !== undefined) cap(c.maxOrderNotional / entry, 'ORDER_NOTIONAL_LIMIT');
    const positionLimit = c.positionNotionalBySymbol?.[r.symbol] ?? c.maxPositionNotional;
    if (positionLimit !== undefined) cap(positionLimit / at - d * cur, 'POSITION_NOTIONAL_LIMIT');
    for (const [name, limit] of x.limits.limitedGroupsOf(r.symbol))
      cap((limit - (book.groupGross(name) - curNotional)) / at - d * cur, 'GROUP_NOTIONAL_LIMIT');
    if (c.maxGrossExposure !== undefined)
      cap((c.maxGrossExposure - (book.gross - curNotional)) / at - d * cur, 'GROSS_EXPOSURE_LIMIT');
    if (c.maxNetExposure !== undefined) cap((c.maxNetExposure - d * book.net) / at, 'NET_EXPOSURE_LIMIT');
    if (c.maxOpenPositions !== undefined && cur === 0 && book.openPositions + 1 > c.maxOpenPositions)
      cap(0, 'OPEN_POSITIONS_LIMIT');
  }
  const quantity = q > 0 ? roundQuantity(q, x.lot) : 0;
  if (!(quantity > 0)) {
    const code: 'INSUFFICIENT_DATA' | DenyCode =
      boundBy === 'RISK' || boundBy === 'EQUITY_CAP' ? 'INSUFFICIENT_DATA' : (boundBy as DenyCode);
    return { ok: false, code, message: `no size for ${r.symbol}: ${boundBy} leaves ${q > 0 ? q : 0} (lot ${x.lot})` };
  }
  return {
    ok: true,
    quantity,
    entryPrice: entry,
    stopPrice: stop,
    boundBy: quantity < q - 1e-12 && boundBy === 'RISK' ? 'RISK' : boundBy,
  };
}
