import { stricter, type TradingState } from '../vocabulary/trading-state.js';
import type { RiskEventHub } from './event-hub.js';
import type { PluginCounters } from './plugin-stats.js';

/** What the plugin's trading state is the stricter of, read at every refresh. */
export interface TradingStateInputs {
  /** The drawdown ladder's state. */
  ladder(): TradingState;
  /** The coordinator's state (ACTIVE without a coordinator). */
  coordinator(): TradingState;
  /** Positions the broker does not protect now (0 outside BROKER mode). */
  unprotected(): number;
  /** The loss protections' state (HALTED while the daily loss limit is tripped). */
  protections(): TradingState;
  /** The host's clock (epoch ms). */
  now(): number;
}

/**
 * The plugin's trading state: the stricter of the drawdown ladder's, the anomaly actions'
 * (REDUCING until a REDUCE action's hold has passed), the coordinator's, the broker
 * protection's (REDUCING while any position is unprotected), and the loss protections'
 * (HALTED for the rest of a session whose daily loss limit tripped). Each change is counted and
 * reported once as STATE_CHANGED, with its cause.
 *
 * @example
 * ```ts
 * const machine = new TradingStateMachine(inputs, counters, hub);
 * machine.holdReducing(now + 15 * 60_000);
 * machine.refresh('ANOMALY_PRICE_SPIKE'); // ACTIVE → REDUCING
 * ```
 */
export class TradingStateMachine {
  readonly #inputs: TradingStateInputs;
  readonly #counters: PluginCounters;
  readonly #hub: RiskEventHub;
  #state: TradingState = 'ACTIVE';
  /** Until when (host clock) anomaly actions hold trading in REDUCING. */
  #reduceUntil = Number.NEGATIVE_INFINITY;

  constructor(inputs: TradingStateInputs, counters: PluginCounters, hub: RiskEventHub) {
    this.#inputs = inputs;
    this.#counters = counters;
    this.#hub = hub;
  }

  /** The state as of the last refresh. */
  get state(): TradingState {
    return this.#state;
  }

  /** A REDUCE anomaly action: REDUCING at least until `until` (host clock). */
  holdReducing(until: number): void {
    this.#reduceUntil = Math.max(this.#reduceUntil, until);
  }

  /** Manual reset: the anomaly actions' hold ends now. */
  releaseHold(): void {
    this.#reduceUntil = Number.NEGATIVE_INFINITY;
  }

  /** Reads every input again; a change is counted and reported with `cause`. */
  refresh(cause: string): void {
    const inputs = this.#inputs;
    const now = inputs.now();
    const anomaly: TradingState = now < this.#reduceUntil ? 'REDUCING' : 'ACTIVE';
    // While any position is unprotected at the broker, no new exposure.
    const protection: TradingState = inputs.unprotected() > 0 ? 'REDUCING' : 'ACTIVE';
    const next = stricter(
      stricter(stricter(stricter(inputs.ladder(), anomaly), inputs.coordinator()), protection),
      inputs.protections(),
    );
    if (next === this.#state) return;
    const from = this.#state;
    this.#state = next;
    this.#counters.transitions++;
    this.#hub.emit({ kind: 'STATE_CHANGED', from, to: next, timestamp: now, cause });
  }
}
