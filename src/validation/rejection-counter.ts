import type { RejectionCode } from '../vocabulary/reason-codes.js';

/**
 * Counts rejected records by code. Bounded by construction: keys are the fixed set of
 * rejection codes.
 *
 * @example
 * ```ts
 * const c = new RejectionCounter();
 * c.add('NON_FINITE_VALUE');
 * c.toJSON(); // { NON_FINITE_VALUE: 1 }
 * ```
 */
export class RejectionCounter {
  readonly #counts = new Map<RejectionCode, number>();
  #total = 0;

  /** Counts `n` (default one) rejections with `code`. */
  add(code: RejectionCode, n = 1): void {
    this.#counts.set(code, (this.#counts.get(code) ?? 0) + n);
    this.#total += n;
  }

  /** Rejections with `code` so far. */
  get(code: RejectionCode): number {
    return this.#counts.get(code) ?? 0;
  }

  /** All rejections so far. */
  get total(): number {
    return this.#total;
  }

  /** Counts by code, only codes seen. */
  toJSON(): Readonly<Partial<Record<RejectionCode, number>>> {
    return Object.freeze(Object.fromEntries(this.#counts));
  }
}
