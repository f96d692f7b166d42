/**
 * The one trading-state vocabulary every part of Bulwark uses (after NautilusTrader):
 * - `ACTIVE`: everything allowed.
 * - `REDUCING`: new exposure denied; exits, reduce-only and protective orders allowed.
 * - `HALTED`: entries denied and cancelled; exits and protective orders always allowed.
 */
export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED';

/** All trading states, least to most restrictive. */
export const TRADING_STATES: readonly TradingState[] = Object.freeze(['ACTIVE', 'REDUCING', 'HALTED']);

/** The more restrictive of two states. */
export function stricter(a: TradingState, b: TradingState): TradingState {
  return TRADING_STATES.indexOf(a) >= TRADING_STATES.indexOf(b) ? a : b;
}
