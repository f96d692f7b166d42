/** A typed array of the kinds the columns use. */
type Column = Float64Array | Int32Array | Uint8Array;

/**
 * A copy of `a` with `rows` entries (the first `min(a.length, rows)` copied, the rest zero):
 * how growable columns grow.
 *
 * @example
 * ```ts
 * this.close = grown(this.close, 2 * this.close.length);
 * ```
 */
export function grown<T extends Column>(a: T, rows: number): T {
  const next = new (a.constructor as new (n: number) => T)(rows);
  next.set(a.length <= rows ? a : a.subarray(0, rows));
  return next;
}
