// Shared layout helpers. Every bank lives in one block of linear memory that the host
// allocates: a 64-byte header of scalars, then structure-of-arrays columns of f64. Columns
// are padded to an even length so that each starts on a 16-byte boundary for f64x2.

/** Bytes of the header that starts every bank's state block. */
export const HEADER: usize = 64;

/** Number of f64 slots in a column of `n` values, rounded up to a whole v128. */
// @ts-ignore: decorator
@inline export function lanes(n: i32): usize {
  return <usize>((n + 1) & ~1);
}

/** Byte stride of one column of `n` f64 values. */
// @ts-ignore: decorator
@inline export function stride(n: i32): usize {
  return lanes(n) << 3;
}

/** Address of column `k` (0-based) of a state block whose columns hold `n` values. */
// @ts-ignore: decorator
@inline export function column(state: usize, n: i32, k: i32): usize {
  return state + HEADER + <usize>k * stride(n);
}
