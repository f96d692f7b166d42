import type { PositionSide } from '../vocabulary/market.js';
import { at } from '../util/indexed.js';

/**
 * How a stop is placed and trailed. Every rule yields a candidate stop price; the position's
 * stop is the tightest candidate, and it only ever tightens (ratchet).
 * - `FIXED`: an absolute price.
 * - `PERCENT`: `percent` away from the entry price.
 * - `ATR`: `multiple`·ATR away from the latest close (trails with price, ratcheted).
 * - `CHANDELIER`: `multiple`·ATR below the highest high since entry (long), or above the
 *   lowest low (short).
 * - `TRAILING`: `percent` below the highest high since entry (long) / above the lowest low
 *   (short), active only once price has moved `activationPercent` in the position's favour.
 */
export type StopRule =
  | { readonly kind: 'FIXED'; readonly price: number }
  | { readonly kind: 'PERCENT'; readonly percent: number }
  | { readonly kind: 'ATR'; readonly multiple: number }
  | { readonly kind: 'CHANDELIER'; readonly multiple: number }
  | { readonly kind: 'TRAILING'; readonly percent: number; readonly activationPercent: number };

/** Moves the stop to entry (± `offsetPercent`) once the gain reaches `afterGainPercent`. */
export interface BreakevenRule {
  /** Gain from entry to the latest close, in percent (2 = 2 %), from which the rule applies; > 0. */
  readonly afterGainPercent: number;
  /** Percent past entry in the position's favour (above a long's entry, below a short's); in [0, afterGainPercent). */
  readonly offsetPercent: number;
}

/** The rules applied to every position. */
export interface StopPolicy {
  /** At least one rule; the tightest candidate among them wins. */
  readonly rules: readonly StopRule[];
  /** Optional move of the stop to entry once the position is far enough in profit. */
  readonly breakeven?: BreakevenRule;
}

/** What the rules see of a position and its market. */
export interface StopInputs {
  readonly side: PositionSide;
  readonly entryPrice: number;
  /** Highest high since entry. */
  readonly highWater: number;
  /** Lowest low since entry. */
  readonly lowWater: number;
  readonly close: number;
  /** Current ATR of the symbol; NaN until the ATR is seeded. */
  readonly atr: number;
}

/**
 * True when `candidate` is a tighter stop than `current` for `side` (NaN current: always).
 *
 * @example
 * ```ts
 * isTighter('LONG', 99, 98); // true: a long's stop tightens upwards
 * ```
 */
export function isTighter(side: PositionSide, candidate: number, current: number): boolean {
  if (Number.isNaN(current)) return true;
  return side === 'LONG' ? candidate > current : candidate < current;
}

/**
 * The candidate stop of one rule, or NaN when the rule has no opinion yet.
 *
 * @example
 * ```ts
 * ruleStop({ kind: 'CHANDELIER', multiple: 3 }, { side: 'LONG', entryPrice: 100, highWater: 110, lowWater: 99, close: 108, atr: 2 }); // 104
 * ```
 */
export function ruleStop(rule: StopRule, x: StopInputs): number {
  const dir = x.side === 'LONG' ? -1 : 1; // stops sit below a long, above a short
  switch (rule.kind) {
    case 'FIXED':
      return rule.price;
    case 'PERCENT':
      return x.entryPrice * (1 + (dir * rule.percent) / 100);
    case 'ATR':
      return Number.isNaN(x.atr) ? Number.NaN : x.close + dir * rule.multiple * x.atr;
    case 'CHANDELIER':
      if (Number.isNaN(x.atr)) return Number.NaN;
      return (x.side === 'LONG' ? x.highWater : x.lowWater) + dir * rule.multiple * x.atr;
    case 'TRAILING': {
      const favourable = x.side === 'LONG' ? x.highWater : x.lowWater;
      const moved = x.side === 'LONG' ? favourable / x.entryPrice - 1 : 1 - favourable / x.entryPrice;
      if (moved * 100 < rule.activationPercent - 1e-9) return Number.NaN; // tolerance: 1 − 90/100 ≠ 0.1 exactly
      return favourable * (1 + (dir * rule.percent) / 100);
    }
  }
}

/**
 * The tightest candidate over all rules and the breakeven rule, or NaN when no rule has an
 * opinion. Pure: the caller ratchets it against the live stop.
 *
 * @example
 * ```ts
 * candidateStop({ rules: [{ kind: 'PERCENT', percent: 2 }] },
 *   { side: 'LONG', entryPrice: 100, highWater: 100, lowWater: 100, close: 100, atr: NaN }); // 98
 * ```
 */
export function candidateStop(policy: StopPolicy, x: StopInputs): number {
  let best = Number.NaN;
  const rules = policy.rules;
  // An indexed loop: for-of over the (frozen) rules allocates an iterator result per rule per bar.
  for (let i = 0; i < rules.length; i++) {
    const c = ruleStop(at(rules, i), x);
    if (!Number.isNaN(c) && isTighter(x.side, c, best)) best = c;
  }
  const be = policy.breakeven;
  if (be !== undefined) {
    const gain = x.side === 'LONG' ? x.close / x.entryPrice - 1 : 1 - x.close / x.entryPrice;
    if (gain * 100 >= be.afterGainPercent) {
      const c = x.entryPrice * (1 + ((x.side === 'LONG' ? 1 : -1) * be.offsetPercent) / 100);
      if (isTighter(x.side, c, best)) best = c;
    }
  }
  return best;
}

/**
 * True when a bar with this low/high trades through `stop` for `side`.
 *
 * @example
 * ```ts
 * isTriggered('SHORT', 102, 99, 102.5); // true: the high reached a short's stop
 * ```
 */
export function isTriggered(side: PositionSide, stop: number, low: number, high: number): boolean {
  if (Number.isNaN(stop)) return false;
  return side === 'LONG' ? low <= stop : high >= stop;
}
