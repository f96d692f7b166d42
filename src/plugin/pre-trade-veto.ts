import type { InputLimits } from '../validation/fields.js';
import { validateOrder } from '../validation/records.js';
import { closingSide, type PositionSide } from '../vocabulary/market.js';
import { ALLOW, deny, type OrderDecision, type OrderRequest } from '../vocabulary/orders.js';
import type { DenyCode } from '../vocabulary/reason-codes.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import type { RiskEventHub } from './event-hub.js';
import type { PluginCounters } from './plugin-stats.js';
import { readString } from './guarded-read.js';
import type { PreTradeLimits } from '../limits/pre-trade-limits.js';

/** Why an order is refused: the code and message `beforeOrder` answers with. */
export interface Denial {
  readonly code: DenyCode;
  readonly message: string;
}

/** A position as the pre-trade check reads it. */
export interface HeldPosition {
  readonly side: PositionSide;
  readonly quantity: number;
}

/** What the pre-trade checks read from the initialised plugin. */
export interface VetoView {
  /** Reads the trading state afresh (`cause` names why, for a change it reports). */
  refreshState(cause: string): void;
  /** The trading state as of the last refresh. */
  readonly state: TradingState;
  /** Positions under stop management, and the limit on them. */
  readonly managedPositions: number;
  readonly maxPositions: number;
  /** `symbol`'s position: the host's last snapshot, else the one the stops manage. */
  position(symbol: string): HeldPosition | undefined;
  /** Whether the stops manage a position in `symbol`. */
  manages(symbol: string): boolean;
  /** Whether this instance owns `symbol` (always true without a coordinator). */
  owns(symbol: string): boolean;
  isQuarantined(symbol: string): boolean;
  /** The pre-trade limits (undefined: none configured). */
  readonly limits: PreTradeLimits | undefined;
  /** Why the daily loss limit halts entries now, or undefined when it does not. */
  dailyLossHalt(): string | undefined;
  /** Why StoplossGuard or a cooldown refuses an entry in `symbol` now, or undefined. */
  stopOutDenial(symbol: string): Denial | undefined;
}

/**
 * True when `o` can only reduce `position`: it is on the position's closing side (SELL for a
 * LONG, BUY for a SHORT) and no larger than it. The order's `intent` and `reduceOnly` flag
 * are the sender's claims and are not read.
 *
 * @example
 * ```ts
 * reducesPosition({ ...order, side: 'SELL', quantity: 5 }, { side: 'LONG', quantity: 10 }); // true
 * ```
 */
export function reducesPosition(o: OrderRequest, position: HeldPosition | undefined): boolean {
  return position !== undefined && o.side === closingSide(position.side) && o.quantity <= position.quantity;
}

/**
 * The pre-trade checks, in order, on a validated order: undefined when it may pass. An exit
 * (see {@link reducesPosition}) always passes; anything else is an entry, refused when HALTED,
 * in a symbol another instance owns, when REDUCING, in a quarantined symbol, as a new
 * position beyond maxPositions, or over a configured pre-trade limit (`preTrade`); an entry
 * that passes is counted for `maxOrdersPerDay`.
 *
 * @example
 * ```ts
 * const denial = preTradeCheck(order, view);
 * if (denial !== undefined) return deny(denial.code, denial.message);
 * ```
 */
export function preTradeCheck(o: OrderRequest, v: VetoView): Denial | undefined {
  if (reducesPosition(o, v.position(o.symbol))) return undefined;
  const denial = entryCheck(o, v);
  if (denial !== undefined) return denial;
  const limits = v.limits;
  if (limits === undefined) return undefined;
  const over = limits.check(o);
  if (over === undefined) limits.admitted(o);
  return over;
}

/** The trading-state, ownership, quarantine and capacity checks of an entry. */
function entryCheck(o: OrderRequest, v: VetoView): Denial | undefined {
  if (v.state === 'HALTED') {
    const loss = v.dailyLossHalt();
    return loss !== undefined
      ? { code: 'DAILY_LOSS_LIMIT', message: loss }
      : { code: 'TRADING_HALTED', message: 'trading is HALTED: only exits and protective orders' };
  }
  if (!v.owns(o.symbol)) return { code: 'NOT_OWNER', message: `${o.symbol} is managed by another instance` };
  if (v.state === 'REDUCING') return { code: 'REDUCING_NEW_EXPOSURE', message: 'trading is REDUCING: no new exposure' };
  if (v.isQuarantined(o.symbol)) return { code: 'SYMBOL_QUARANTINED', message: `${o.symbol} is quarantined` };
  const locked = v.stopOutDenial(o.symbol);
  if (locked !== undefined) return locked;
  if (!v.manages(o.symbol) && v.managedPositions >= v.maxPositions)
    return { code: 'POSITION_LIMIT', message: `maxPositions ${v.maxPositions} reached` };
  return undefined;
}

/**
 * The pre-trade veto: validates an order, runs {@link preTradeCheck}, and answers. Every
 * denial goes through {@link PreTradeVeto.deny}: counted by code, reported as ORDER_DENIED,
 * and, in shadow mode, let through (reported with `shadow: true`).
 *
 * @example
 * ```ts
 * const veto = new PreTradeVeto(config.limits, config.shadow, counters, hub);
 * veto.decide(order, core);
 * ```
 */
export class PreTradeVeto {
  readonly #limits: InputLimits;
  readonly #shadow: boolean;
  readonly #counters: PluginCounters;
  readonly #hub: RiskEventHub;

  constructor(limits: InputLimits, shadow: boolean, counters: PluginCounters, hub: RiskEventHub) {
    this.#limits = limits;
    this.#shadow = shadow;
    this.#counters = counters;
    this.#hub = hub;
  }

  /** Validates `order`, reads the trading state afresh, runs {@link preTradeCheck} and answers. */
  decide(order: OrderRequest, view: VetoView): OrderDecision {
    const v = validateOrder(order, this.#limits);
    if (!v.ok) {
      this.#counters.rejections.add(v.rejection.code);
      return this.deny(order, 'INVALID_ORDER', v.rejection.message);
    }
    view.refreshState('ORDER_CHECK');
    const denial = preTradeCheck(v.value, view);
    if (denial !== undefined) return this.deny(v.value, denial.code, denial.message);
    this.#counters.allowed++;
    return ALLOW;
  }

  /** The one deny path: counts, reports and answers (ALLOW in shadow mode). */
  deny(order: OrderRequest, code: DenyCode, message: string): OrderDecision {
    this.#counters.denied.add(code);
    // `order` may be the hostile original of an invalid order: read under guard.
    const clientOrderId = readString(order, 'clientOrderId') ?? '';
    const symbol = readString(order, 'symbol') ?? '';
    if (this.#shadow) {
      // Shadow mode decides and reports, and lets the order through.
      this.#hub.emit({ kind: 'ORDER_DENIED', clientOrderId, symbol, code, message, shadow: true });
      return ALLOW;
    }
    this.#hub.emit({ kind: 'ORDER_DENIED', clientOrderId, symbol, code, message });
    return deny(code, message);
  }
}
