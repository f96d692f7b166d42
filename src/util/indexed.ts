import { BulwarkError } from '../errors.js';

/**
 * `array[index]` where the caller's bookkeeping guarantees `index` is in range (a slot below
 * the bank's size, a row below its count). With `noUncheckedIndexedAccess` such a read is
 * typed `T | undefined`; this checks instead of casting: an index outside the array is a
 * bug and throws `INDEX_OUT_OF_RANGE` at the read, rather than a typed array's `undefined`
 * flowing on as `NaN`. Not for arrays whose elements may legitimately be `undefined`.
 *
 * @example
 * ```ts
 * const close = at(columns.close, row); // number, or INDEX_OUT_OF_RANGE
 * ```
 */
export function at<T>(array: ArrayLike<T | undefined>, index: number): T {
  const value = array[index];
  if (value === undefined) throw outOfRange(index, array.length);
  return value;
}

/**
 * `value`, read at `index` of a container of `length` entries whose accessor answers
 * `undefined` outside it (a mnemonist CircularBuffer's `get`), when the caller guarantees the
 * index is in range: throws `INDEX_OUT_OF_RANGE` instead of casting.
 */
export function defined<T>(value: T | undefined, index: number, length: number): T {
  if (value === undefined) throw outOfRange(index, length);
  return value;
}

function outOfRange(index: number, length: number): BulwarkError {
  return new BulwarkError('INDEX_OUT_OF_RANGE', `index ${index} is outside [0, ${length})`, { index, length });
}

// Monomorphic twins of `at` for the hot columns: one shared generic function sees every kind
// of array, so V8's element load in it goes megamorphic (measured: the plugin's onBars 1.5×
// slower than with unchecked reads); one function per array kind keeps each load monomorphic.

/** {@link at} for a Float64Array. */
export function f64At(array: Float64Array, index: number): number {
  const value = array[index];
  if (value === undefined) throw outOfRange(index, array.length);
  return value;
}

/** {@link at} for an Int32Array. */
export function i32At(array: Int32Array, index: number): number {
  const value = array[index];
  if (value === undefined) throw outOfRange(index, array.length);
  return value;
}
