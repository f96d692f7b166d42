// Shared layout helpers. Every bank lives in one block of linear memory that the host
// allocates: a 64-byte header of scalars, then structure-of-arrays columns of f64. Columns
// are padded to an even length so that each starts on a 16-byte boundary for f64x2.
//
// Sizes and offsets never go through i32 arithmetic: a product of counts (n·w, n·(n−1)/2)
// is formed in usize for offsets inside a block the host has allocated (so below 4 GiB),
// and in f64 for the *BankBytes size functions, which the host may call with any counts:
// f64 is exact below 2^53 and, unlike a 32- or 64-bit integer, never wraps to a small or
// negative size (src/kernels/sizes.ts computes the same numbers on the host).

/** Bytes of the header that starts every bank's state block. */
export const HEADER: usize = 64;

/** Number of f64 slots in a column of `count` values, rounded up to a whole v128. */
// @ts-ignore: decorator
@inline export function lanes(count: usize): usize {
  return (count + 1) & ~(<usize>1);
}

/** Byte stride of one column of `n` f64 values. */
// @ts-ignore: decorator
@inline export function stride(n: i32): usize {
  return lanes(<usize>n) << 3;
}

/** Bytes of a column of `count` f64 values rounded up to a whole v128, in f64 (for size functions). */
// @ts-ignore: decorator
@inline export function columnBytes(count: f64): f64 {
  return Math.ceil(count * 0.5) * 16;
}

/** Address of column `k` (0-based) of a state block whose columns hold `n` values. */
// @ts-ignore: decorator
@inline export function column(state: usize, n: i32, k: i32): usize {
  return state + HEADER + <usize>k * stride(n);
}
