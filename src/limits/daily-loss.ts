import type { TradingState } from '../vocabulary/trading-state.js';
import { sessionDayOf, sessionStartOf } from './pre-trade-config.js';

/** `protections.dailyLossLimit`: a fraction of the session's starting equity, or an amount. */
export type DailyLossLimitConfig = { readonly fraction: number } | { readonly amount: number };

/** What the daily loss looks like now (for `toJSON()` and reports). */
export interface DailyLossState {
  /** Equity at the session's first accepted snapshot. */
  readonly sessionStartEquity: number | undefined;
  /** Loss since then (0 when up), open P&L included (the snapshot's equity). */
  readonly loss: number;
  /** The loss that trips the limit, in money. */
  readonly limit: number | undefined;
  /** Whether entries are halted for the rest of the session. */
  readonly tripped: boolean;
}

/**
 * The daily loss limit: the session day's loss from its starting equity (the first accepted
 * snapshot of the session; open P&L included, as the snapshot's equity is marked), checked at
 * each snapshot. Over the limit, trading is HALTED for entries until the next session starts,
 * whatever the drawdown ladder says (the stricter state wins).
 *
 * @example
 * ```ts
 * const loss = new DailyLoss({ fraction: 0.03 }, 0);
 * loss.onEquity(t, 1_000_000); loss.onEquity(t + 60_000, 969_000);
 * loss.state(t + 60_000); // 'HALTED'
 * ```
 */
export class DailyLoss {
  readonly #limit: DailyLossLimitConfig;
  readonly #offset: number;
  #day = Number.NaN;
  #start: number | undefined;
  #loss = 0;
  #trippedDay = Number.NaN;

  constructor(limit: DailyLossLimitConfig, sessionOffsetMs: number) {
    this.#limit = limit;
    this.#offset = sessionOffsetMs;
  }

  /** The session day of time `t`. */
  dayOf(t: number): number {
    return sessionDayOf(t, this.#offset);
  }

  /** When the session after the one of `t` begins (epoch ms). */
  nextSessionAt(t: number): number {
    return sessionStartOf(this.dayOf(t) + 1, this.#offset);
  }

  /** An accepted snapshot's equity at `t`; true when this trips the limit. */
  onEquity(t: number, equity: number): boolean {
    const day = this.dayOf(t);
    if (day !== this.#day) {
      this.#day = day;
      this.#start = equity;
      this.#loss = 0;
    }
    const start = this.#start ?? equity;
    this.#loss = Math.max(0, start - equity);
    const limit = this.#money(start);
    if (this.#trippedDay !== day && this.#loss > limit) {
      this.#trippedDay = day;
      return true;
    }
    return false;
  }

  /** HALTED while the limit is tripped in the session of `now`, else ACTIVE. */
  state(now: number): TradingState {
    return this.#trippedDay === this.dayOf(now) ? 'HALTED' : 'ACTIVE';
  }

  /** Whether the limit is tripped in the session of `now`. */
  tripped(now: number): boolean {
    return this.state(now) === 'HALTED';
  }

  /** The current picture. */
  snapshot(now: number): DailyLossState {
    const current = this.#day === this.dayOf(now);
    return {
      sessionStartEquity: current ? this.#start : undefined,
      loss: current ? this.#loss : 0,
      limit: current && this.#start !== undefined ? this.#money(this.#start) : undefined,
      tripped: this.tripped(now),
    };
  }

  #money(start: number): number {
    return 'amount' in this.#limit ? this.#limit.amount : this.#limit.fraction * start;
  }
}
