/**
 * Bytes of WASM memory each kernel bank takes, computed on the host before anything is
 * allocated, so that a request over `maxBankBytes` is refused with `LIMIT_EXCEEDED` instead
 * of reaching the module. They mirror the layouts in `assembly/` (each bank is a 64-byte
 * header and f64 columns padded to an even length); `assembly/*BankBytes` compute the same
 * numbers (a test checks both against an independent BigInt computation).
 *
 * Sizes are Number arithmetic only, never bitwise operators, which truncate to 32 bits:
 * exact below 2^53 bytes, and above that still far over any limit (rounding is monotonic),
 * so a product of two large counts can never wrap to a small or negative size.
 * @internal
 */

/** Bytes of the header at the start of every bank's state block. */
export const HEADER_BYTES = 64;

/** Bytes of `count` f64 values in a column padded to a whole v128 (an even number of values). */
export function columnBytes(count: number): number {
  return Math.ceil(count / 2) * 16;
}

/** Pairs i < j of `n` symbols, n(n−1)/2. */
export function pairCount(n: number): number {
  return (n * (n - 1)) / 2;
}

/** An ATR bank of `symbols` symbols: 8 columns. */
export function atrBankBytes(symbols: number): number {
  return HEADER_BYTES + 8 * columnBytes(symbols);
}

/** A drawdown bank of `series` series and window `window` (0 = since inception): 7 columns and 16 bytes per deque entry. */
export function drawdownBankBytes(series: number, window: number): number {
  return HEADER_BYTES + 7 * columnBytes(series) + series * window * 16;
}

/** A correlation bank of `symbols` symbols and window `window`: 7 columns, a ring of `window` rows, and two packed triangles. */
export function correlationBankBytes(symbols: number, window: number): number {
  return HEADER_BYTES + (7 + window) * columnBytes(symbols) + 2 * columnBytes(pairCount(symbols));
}

/**
 * A window bank of `symbols` series of `window` values: a ring and a sorted copy of
 * symbols·window values, and 7 columns of one value per series (16·window + 56 bytes per
 * series, plus the 64-byte header).
 */
export function windowBankBytes(symbols: number, window: number): number {
  return HEADER_BYTES + 2 * columnBytes(symbols * window) + 7 * columnBytes(symbols);
}
