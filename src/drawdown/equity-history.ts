import { CircularBuffer } from 'mnemonist';
import { accept, reject, type Validated } from '../validation/validated.js';
import { defined } from '../util/indexed.js';

/** The underwater (drawdown) curve, or why there is none. */
export type UnderwaterCurve =
  | { readonly ok: true; readonly timestamps: Float64Array; readonly drawdown: Float64Array }
  | { readonly ok: false; readonly reason: 'INSUFFICIENT_DATA' | 'INVALID_DATA'; readonly points: number };

/**
 * Equity history in a fixed-capacity ring (mnemonist CircularBuffer over Float64Arrays):
 * when full, the oldest point is overwritten, so memory is fixed at construction (the
 * review's ISSUE-2972). Timestamps are strictly increasing, so a lookup by time is a binary
 * search, O(log n) (ISSUE-2981).
 *
 * @example
 * ```ts
 * const h = new EquityHistory(525_600); // one year of minutes
 * h.push(Date.parse('2026-01-02T14:30Z'), 1_000_000);
 * h.valueAt(Date.parse('2026-01-02T15:00Z')); // 1_000_000
 * ```
 */
export class EquityHistory {
  readonly #times: CircularBuffer<number>;
  readonly #values: CircularBuffer<number>;

  constructor(capacity: number) {
    this.#times = new CircularBuffer<number>(Float64Array, capacity);
    this.#values = new CircularBuffer<number>(Float64Array, capacity);
  }

  /** Points held (at most `capacity`). */
  get size(): number {
    return this.#times.size;
  }

  /** Most points held. */
  get capacity(): number {
    return this.#times.capacity;
  }

  /** Latest timestamp, or NaN when empty. */
  get lastTimestamp(): number {
    return this.#times.peekLast() ?? Number.NaN;
  }

  /** Appends a point; refuses a timestamp not after the last one, or a non-finite/≤ 0 value. */
  push(timestamp: number, equity: number): Validated<number> {
    if (!Number.isFinite(timestamp)) return reject('INVALID_TIMESTAMP', 'timestamp must be finite', 'timestamp');
    if (this.size > 0 && !(timestamp > this.lastTimestamp)) {
      return reject(
        'NON_MONOTONIC_TIMESTAMP',
        `timestamp ${timestamp} is not after ${this.lastTimestamp}`,
        'timestamp',
      );
    }
    if (!Number.isFinite(equity)) return reject('NON_FINITE_VALUE', 'equity must be finite', 'equity');
    if (!(equity > 0)) return reject('NON_POSITIVE_PRICE', 'equity must be > 0', 'equity');
    this.#times.push(timestamp);
    this.#values.push(equity);
    return accept(equity);
  }

  #time(i: number): number {
    return defined(this.#times.get(i), i, this.size);
  }

  #value(i: number): number {
    return defined(this.#values.get(i), i, this.size);
  }

  /** Index of the last point at or before `timestamp`, or -1. O(log n). */
  indexAt(timestamp: number): number {
    let lo = 0;
    let hi = this.size - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#time(mid) <= timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Equity at `timestamp` (the last point at or before it), or NaN before the first point. */
  valueAt(timestamp: number): number {
    const i = this.indexAt(timestamp);
    return i < 0 ? Number.NaN : this.#value(i);
  }

  /** The i-th point (0 = oldest held). */
  point(i: number): { readonly timestamp: number; readonly equity: number } | undefined {
    if (i < 0 || i >= this.size) return undefined;
    return { timestamp: this.#time(i), equity: this.#value(i) };
  }

  /**
   * The underwater curve over the points held: drawdown from the running peak at each point.
   * A typed "insufficient data" result for fewer than two points, "invalid data" for a
   * non-finite value (ISSUE-2975), never an exception.
   */
  underwater(): UnderwaterCurve {
    const n = this.size;
    if (n < 2) return { ok: false, reason: 'INSUFFICIENT_DATA', points: n };
    const timestamps = new Float64Array(n);
    const drawdown = new Float64Array(n);
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const v = this.#value(i);
      if (!Number.isFinite(v) || !(v > 0)) return { ok: false, reason: 'INVALID_DATA', points: n };
      if (v > peak) peak = v;
      timestamps[i] = this.#time(i);
      drawdown[i] = (peak - v) / peak;
    }
    return { ok: true, timestamps, drawdown };
  }

  /** Empties the history. */
  clear(): void {
    this.#times.clear();
    this.#values.clear();
  }
}
