import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type StaleFeedEvent } from './events.js';
import type { SymbolRegistry } from '../market/symbol-registry.js';
import { f64At } from '../util/indexed.js';

/**
 * STALE_FEED detection: the last bar time per slot, and whether the current stale episode
 * has been reported. A symbol is reported once when `now − last > staleAfterMs`, and again
 * only after a new bar re-arms it.
 *
 * @example
 * ```ts
 * stale.touch(slot, bar.timestamp);        // on every bar
 * const events = stale.check(Date.now());  // on a timer
 * ```
 */
export class StaleFeed {
  readonly #config: AnomalyConfig;
  readonly #registry: SymbolRegistry;
  readonly #last: Float64Array;
  readonly #reported: Uint8Array;

  constructor(config: AnomalyConfig, registry: SymbolRegistry) {
    this.#config = config;
    this.#registry = registry;
    this.#last = new Float64Array(config.maxSymbols).fill(Number.NaN);
    this.#reported = new Uint8Array(config.maxSymbols);
  }

  /** Records a bar of `slot` at `timestamp` and re-arms it. */
  touch(slot: number, timestamp: number): void {
    this.#last[slot] = timestamp;
    this.#reported[slot] = 0;
  }

  /** STALE_FEED events for symbols newly stale at `now`, in registration order. */
  check(now: number): StaleFeedEvent[] {
    const cfg = this.#config;
    const out: StaleFeedEvent[] = [];
    const n = this.#registry.size;
    for (let s = 0; s < n; s++) {
      const last = f64At(this.#last, s);
      if (this.#reported[s] === 1 || !(now - last > cfg.staleAfterMs)) continue;
      this.#reported[s] = 1;
      out.push(
        anomalyEvent<StaleFeedEvent>({
          type: 'STALE_FEED',
          severity: 'WARNING',
          symbols: [this.#registry.symbolAt(s)],
          timestamp: now,
          inputs: { lastTimestamp: last, ageMs: now - last, staleAfterMs: cfg.staleAfterMs },
          actions: cfg.actions.STALE_FEED,
        }),
      );
    }
    return out;
  }

  /** The typed arrays this object owns (for memory accounting). */
  buffers(): readonly ArrayBufferView[] {
    return [this.#last, this.#reported];
  }
}
