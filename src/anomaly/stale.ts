import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type StaleFeedEvent } from './events.js';
import type { SymbolRegistry } from '../market/symbol-registry.js';
import { f64At } from '../util/indexed.js';

/** What a check before the next possible moment returns: nothing (shared, frozen). */
const NONE: readonly StaleFeedEvent[] = Object.freeze([]);

/**
 * STALE_FEED detection: the last bar time per slot, and whether the current stale episode
 * has been reported. A symbol is reported once when `now − last > staleAfterMs`, and again
 * only after a new bar re-arms it.
 *
 * `check` is called at the start of every delivery of bars, so it must not cost O(symbols) each time:
 * it keeps the earliest moment any armed symbol can become stale (a lower bound: a new bar
 * only moves a symbol's moment later) and returns at once before it; past it, one scan
 * reports what is stale and finds the next such moment. With a feed where every symbol
 * reports each minute and `staleAfterMs` is minutes, that is one scan per few minutes of
 * feed time. {@link StaleFeed.scanned} counts the slots scanned (for tests of cost).
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
  /** No armed symbol can be stale before this time (−∞: scan at the next check). */
  #nextDue = Number.NEGATIVE_INFINITY;
  #scanned = 0;

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
    const due = timestamp + this.#config.staleAfterMs;
    if (due < this.#nextDue) this.#nextDue = due;
  }

  /** Slots scanned by `check` so far. */
  get scanned(): number {
    return this.#scanned;
  }

  /** STALE_FEED events for symbols newly stale at `now`, in registration order. */
  check(now: number): readonly StaleFeedEvent[] {
    const cfg = this.#config;
    // Stale means now − last > staleAfterMs, i.e. now > last + staleAfterMs = due.
    if (!(now > this.#nextDue)) return NONE;
    const out: StaleFeedEvent[] = [];
    const n = this.#registry.size;
    this.#scanned += n;
    let next = Number.POSITIVE_INFINITY;
    for (let s = 0; s < n; s++) {
      const last = f64At(this.#last, s);
      if (this.#reported[s] === 1) continue;
      if (!(now - last > cfg.staleAfterMs)) {
        // NaN (registered, no bar yet) never becomes stale, as before.
        const due = last + cfg.staleAfterMs;
        if (due < next) next = due;
        continue;
      }
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
    this.#nextDue = next;
    return out;
  }

  /** The typed arrays this object owns (for memory accounting). */
  buffers(): readonly ArrayBufferView[] {
    return [this.#last, this.#reported];
  }
}
