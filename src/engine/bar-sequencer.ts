import type { Bar } from '../vocabulary/market.js';
import type { Rejection } from '../validation/validated.js';

/**
 * Per-symbol ordering for one replay: a bar must be later than the last accepted bar of its
 * symbol (`NON_MONOTONIC_TIMESTAMP`, so also no two bars of one symbol at one time), and at
 * most `maxSymbols` distinct symbols are accepted (`SYMBOL_LIMIT`). Memory is bounded by
 * `maxSymbols`.
 *
 * @example
 * ```ts
 * const seq = new BarSequencer(10_000);
 * seq.check(bar);         // undefined: accepted and recorded
 * seq.check(bar)?.code;   // 'NON_MONOTONIC_TIMESTAMP'
 * ```
 */
export class BarSequencer {
  readonly #maxSymbols: number;
  readonly #last = new Map<string, number>();

  constructor(maxSymbols: number) {
    this.#maxSymbols = maxSymbols;
  }

  /** Accepts and records `bar`, or says why not (and records nothing). */
  check(bar: Bar): Rejection | undefined {
    const last = this.#last.get(bar.symbol);
    if (last === undefined) {
      if (this.#last.size >= this.#maxSymbols)
        return {
          code: 'SYMBOL_LIMIT',
          message: `${bar.symbol} would exceed maxSymbols ${this.#maxSymbols}`,
          field: 'symbol',
        };
    } else if (!(bar.timestamp > last)) {
      return {
        code: 'NON_MONOTONIC_TIMESTAMP',
        message: `${bar.symbol} at ${new Date(bar.timestamp).toISOString()} is not after its last bar at ${new Date(last).toISOString()}`,
        field: 'timestamp',
      };
    }
    this.#last.set(bar.symbol, bar.timestamp);
    return undefined;
  }

  /** Symbols seen so far. */
  get symbols(): number {
    return this.#last.size;
  }
}
