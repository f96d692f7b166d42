/**
 * Counts events by a string code (deny codes, command kinds, command failures). The key set
 * is bounded by the caller's code vocabulary.
 *
 * @example
 * ```ts
 * const denied = new CodeCounter<DenyCode>();
 * denied.add('PLUGIN_ERROR');
 * denied.toJSON(); // { PLUGIN_ERROR: 1 }
 * ```
 */
export class CodeCounter<K extends string> {
  readonly #counts = new Map<K, number>();
  #total = 0;

  /** Counts `n` (default 1) events of `code`. */
  add(code: K, n = 1): void {
    this.#counts.set(code, (this.#counts.get(code) ?? 0) + n);
    this.#total += n;
  }

  /** Events of `code` so far. */
  get(code: K): number {
    return this.#counts.get(code) ?? 0;
  }

  /** All events so far. */
  get total(): number {
    return this.#total;
  }

  /** Counts by code, only codes seen, as a frozen plain object. */
  toJSON(): Readonly<Partial<Record<K, number>>> {
    return Object.freeze(Object.fromEntries(this.#counts) as Partial<Record<K, number>>);
  }
}

/**
 * `after − before` per code, dropping zeros: what happened between two `toJSON()` readings.
 *
 * @example
 * ```ts
 * diffCounts({ A: 1 }, { A: 3, B: 1 }); // { A: 2, B: 1 }
 * ```
 */
export function diffCounts<K extends string>(
  before: Readonly<Partial<Record<K, number>>>,
  after: Readonly<Partial<Record<K, number>>>,
): Readonly<Partial<Record<K, number>>> {
  const out: Partial<Record<K, number>> = {};
  for (const key of Object.keys(after) as K[]) {
    const d = (after[key] ?? 0) - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return Object.freeze(out);
}
