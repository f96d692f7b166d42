// Wilder's Average True Range.
//   TR0 = high0 - low0; TRt = max(high, prevClose) - min(low, prevClose)
//   ATR at the period-th valid bar = mean of the first `period` TRs
//   then ATRt = (ATRt-1*(period-1) + TRt) / period, computed as ATRt-1*k + TRt*(1/period)
//   with k = (period-1)/period: one multiply-add on the loop-carried chain, no division.
// A bar is valid when 0 < low <= close <= high <= maxPrice (so NaN and +-Infinity fail);
// an invalid bar leaves the series' state unchanged and is counted.

import { HEADER, column, columnBytes } from "./layout";

// Header: [0] n: i32, [4] period: i32, [8] maxPrice: f64, [16] steady: i32,
//         [24] work: f64 (symbol-updates performed, whole-width and by slot, for tests)
// Columns (n each): 0 prevClose, 1 atr, 2 trSum, 3 count, 4 high in, 5 low in, 6 close in,
// 7 slot list (i32, for updates of listed symbols only).
const COLUMNS: i32 = 8;

/** Bytes of a streaming ATR bank over `n` symbols. */
export function atrBankBytes(n: i32): f64 {
  return <f64>HEADER + <f64>COLUMNS * columnBytes(<f64>n);
}

/** Initialises a zeroed block as an ATR bank. */
export function atrBankInit(state: usize, n: i32, period: i32, maxPrice: f64): void {
  store<i32>(state, n, 0);
  store<i32>(state, period, 4);
  store<f64>(state, maxPrice, 8);
  const atr = column(state, n, 1);
  for (let i = 0; i < n; i++) store<f64>(atr + (<usize>i << 3), NaN);
}

/** Address of input column `k` (0 high, 1 low, 2 close) where the host writes one bar. */
export function atrBankInput(state: usize, k: i32): usize {
  return column(state, load<i32>(state, 0), 4 + k);
}

/** Address of the slot list (i32) that `atrBankUpdateSlots` reads. */
export function atrBankSlots(state: usize): usize {
  return column(state, load<i32>(state, 0), 7);
}

/** Symbol-updates performed so far (every symbol of a whole-width update, each listed slot of a sparse one). */
export function atrBankWork(state: usize): f64 {
  return load<f64>(state, 24);
}

/** Address of the current ATR column. */
export function atrBankValues(state: usize): usize {
  return column(state, load<i32>(state, 0), 1);
}

// 0 < low <= close <= high <= maxPrice; NaN in any input fails every comparison.
// @ts-ignore: decorator
@inline function validScalar(h: f64, l: f64, c: f64, maxPrice: f64): bool {
  return l > 0 && c >= l && c <= h && h <= maxPrice;
}

// @ts-ignore: decorator
@inline function stepScalar(pc: usize, atr: usize, sum: usize, cnt: usize,
  h: f64, l: f64, c: f64, p: f64, invP: f64, keep: f64, maxPrice: f64): bool {
  if (!validScalar(h, l, c, maxPrice)) return false;
  const n = load<f64>(cnt);
  const prevC = load<f64>(pc);
  const tr = n == 0 ? h - l : max(h, prevC) - min(l, prevC);
  const n1 = min(n + 1, p + 1);
  const s1 = load<f64>(sum) + tr;
  let a: f64 = NaN;
  if (n1 == p) a = s1 * invP;
  else if (n1 > p) a = load<f64>(atr) * keep + tr * invP;
  store<f64>(pc, c);
  store<f64>(atr, a);
  store<f64>(sum, s1);
  store<f64>(cnt, n1);
  return true;
}

// SIMD note: f64x2.pmax/pmin (a < b ? b : a) map to one maxpd/minpd; f64x2.max/min need a
// NaN-propagating sequence several times longer. prevClose is finite once a symbol has a bar,
// and the first bar's TR is selected separately, so the pseudo forms are exact here.
//
// Once every symbol has seen more than `period` valid bars (the header flag at [16]), the
// seeding branch is dead: the steady loop reads and writes only prevClose and atr.
// @ts-ignore: decorator
@inline function steadyScalar(pc: usize, atr: usize, h: f64, l: f64, c: f64, invP: f64, keep: f64, maxPrice: f64): bool {
  if (!validScalar(h, l, c, maxPrice)) return false;
  const prevC = load<f64>(pc), prevA = load<f64>(atr);
  const tr = max(h, prevC) - min(l, prevC);
  store<f64>(pc, c);
  store<f64>(atr, prevA * keep + tr * invP);
  return true;
}

// 0 < low <= close <= high <= maxPrice, lane-wise; NaN in any input fails every comparison.
// @ts-ignore: decorator
@inline function validBar(h: v128, l: v128, c: v128, vMax: v128): v128 {
  return v128.and(
    v128.and(f64x2.gt(l, f64x2.splat(0)), f64x2.le(c, h)),
    v128.and(f64x2.ge(c, l), f64x2.le(h, vMax)));
}

/** Applies one bar (already written to the input columns) to every symbol. Returns rejected count. */
export function atrBankUpdate(state: usize): i32 {
  const n = load<i32>(state, 0);
  const p = <f64>load<i32>(state, 4);
  const maxPrice = load<f64>(state, 8);
  const steady = load<i32>(state, 16) != 0;
  const invP = 1.0 / p, keep = (p - 1) * invP;
  const pc = column(state, n, 0), atr = column(state, n, 1), sum = column(state, n, 2), cnt = column(state, n, 3);
  const hi = column(state, n, 4), lo = column(state, n, 5), cl = column(state, n, 6);
  let rejected = 0;
  let i = 0;
  let seeding = 0; // symbols still at or below `period` valid bars after this update
  if (ASC_FEATURE_SIMD) {
    const vInv = f64x2.splat(invP), vKeep = f64x2.splat(keep), vMax = f64x2.splat(maxPrice);
    let validLanes = i64x2.splat(0); // each valid lane adds 1 (a true mask is -1)
    if (steady) {
      for (; i + 1 < n; i += 2) {
        const o = <usize>i << 3;
        const h = v128.load(hi + o), l = v128.load(lo + o), c = v128.load(cl + o);
        const valid = validBar(h, l, c, vMax);
        validLanes = i64x2.sub(validLanes, valid);
        const prevC = v128.load(pc + o), prevA = v128.load(atr + o);
        const tr = f64x2.sub(f64x2.pmax(h, prevC), f64x2.pmin(l, prevC));
        const a = f64x2.add(f64x2.mul(prevA, vKeep), f64x2.mul(tr, vInv));
        v128.store(pc + o, v128.bitselect(c, prevC, valid));
        v128.store(atr + o, v128.bitselect(a, prevA, valid));
      }
    } else {
      const vP = f64x2.splat(p), vP1 = f64x2.splat(p + 1);
      const zero = f64x2.splat(0), one = f64x2.splat(1), nan = f64x2.splat(NaN);
      for (; i + 1 < n; i += 2) {
        const o = <usize>i << 3;
        const h = v128.load(hi + o), l = v128.load(lo + o), c = v128.load(cl + o);
        const valid = validBar(h, l, c, vMax);
        validLanes = i64x2.sub(validLanes, valid);
        const prevC = v128.load(pc + o), prevA = v128.load(atr + o);
        const prevS = v128.load(sum + o), prevN = v128.load(cnt + o);
        const tr = v128.bitselect(
          f64x2.sub(h, l),
          f64x2.sub(f64x2.pmax(h, prevC), f64x2.pmin(l, prevC)),
          f64x2.eq(prevN, zero));
        const n1 = f64x2.min(f64x2.add(prevN, one), vP1);
        const s1 = f64x2.add(prevS, tr);
        const seeded = f64x2.mul(s1, vInv);
        const smoothed = f64x2.add(f64x2.mul(prevA, vKeep), f64x2.mul(tr, vInv));
        const a = v128.bitselect(seeded, v128.bitselect(smoothed, nan, f64x2.gt(n1, vP)), f64x2.eq(n1, vP));
        const nNow = v128.bitselect(n1, prevN, valid);
        seeding += <i32>popcnt(i64x2.bitmask(f64x2.lt(nNow, vP1)));
        v128.store(pc + o, v128.bitselect(c, prevC, valid));
        v128.store(atr + o, v128.bitselect(a, prevA, valid));
        v128.store(sum + o, v128.bitselect(s1, prevS, valid));
        v128.store(cnt + o, nNow);
      }
    }
    rejected = i - <i32>(i64x2.extract_lane(validLanes, 0) + i64x2.extract_lane(validLanes, 1));
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    const h = load<f64>(hi + o), l = load<f64>(lo + o), c = load<f64>(cl + o);
    const ok = steady
      ? steadyScalar(pc + o, atr + o, h, l, c, invP, keep, maxPrice)
      : stepScalar(pc + o, atr + o, sum + o, cnt + o, h, l, c, p, invP, keep, maxPrice);
    if (!ok) rejected++;
    if (!steady && load<f64>(cnt + o) <= p) seeding++;
  }
  if (!steady && seeding == 0) store<i32>(state, 1, 16);
  store<f64>(state, load<f64>(state, 24) + <f64>n, 24);
  return rejected;
}

/**
 * Applies one bar to the `count` symbols listed in the slot list (each at most once, all in
 * range: the host checks), reading their inputs; the other symbols are not touched, so the
 * cost is O(count) whatever the bank's width. Returns the rejected count.
 */
export function atrBankUpdateSlots(state: usize, count: i32): i32 {
  const n = load<i32>(state, 0);
  const p = <f64>load<i32>(state, 4);
  const maxPrice = load<f64>(state, 8);
  const invP = 1.0 / p, keep = (p - 1) * invP;
  const pc = column(state, n, 0), atr = column(state, n, 1), sum = column(state, n, 2), cnt = column(state, n, 3);
  const hi = column(state, n, 4), lo = column(state, n, 5), cl = column(state, n, 6), slots = column(state, n, 7);
  let rejected = 0;
  for (let r = 0; r < count; r++) {
    const o = <usize>load<i32>(slots + (<usize>r << 2)) << 3;
    const h = load<f64>(hi + o), l = load<f64>(lo + o), c = load<f64>(cl + o);
    // Past seeding only prevClose and atr move (as in the whole-width steady loop).
    const ok = load<f64>(cnt + o) > p
      ? steadyScalar(pc + o, atr + o, h, l, c, invP, keep, maxPrice)
      : stepScalar(pc + o, atr + o, sum + o, cnt + o, h, l, c, p, invP, keep, maxPrice);
    if (!ok) rejected++;
  }
  store<f64>(state, load<f64>(state, 24) + <f64>count, 24);
  return rejected;
}

// Batch: one series, processed in chunks so that host memory stays bounded.
// State block: [0] prevClose, [8] atr, [16] trSum, [24] count (f64 each).
// Input: high[len], low[len], close[len] back to back at `input`; output out[len].
/** Bytes of the carried state of a batch ATR. */
export function atrSeriesStateBytes(): usize {
  return 32;
}

/** Initialises a batch ATR state. */
export function atrSeriesInit(state: usize): void {
  store<f64>(state, NaN, 0);
  store<f64>(state, NaN, 8);
  store<f64>(state, 0, 16);
  store<f64>(state, 0, 24);
}

/** Runs `len` bars through the ATR, writing ATR (or NaN) per bar to `out`. Returns rejected count. */
export function atrSeries(state: usize, input: usize, out: usize, len: i32, period: i32, maxPrice: f64): i32 {
  const p = <f64>period, invP = 1.0 / p, keep = (p - 1) * invP;
  const hi = input, lo = input + (<usize>len << 3), cl = lo + (<usize>len << 3);
  // State lives in locals for the whole chunk: the only loop-carried chain is atr*keep + tr/p.
  let prevC = load<f64>(state, 0), atr = load<f64>(state, 8), sum = load<f64>(state, 16), n = load<f64>(state, 24);
  let rejected = 0;
  let t = 0;
  while (n <= p && t < len) { // seeding: at most `period` valid bars
    const o = <usize>t << 3;
    const h = load<f64>(hi + o), l = load<f64>(lo + o), c = load<f64>(cl + o);
    t++;
    if (!validScalar(h, l, c, maxPrice)) {
      store<f64>(out + o, NaN);
      rejected++;
      continue;
    }
    const tr = n == 0 ? h - l : max(h, prevC) - min(l, prevC);
    n += 1;
    sum += tr;
    if (n == p) atr = sum * invP;
    else if (n > p) atr = atr * keep + tr * invP;
    prevC = c;
    store<f64>(out + o, atr);
  }
  for (; t < len; t++) {
    const o = <usize>t << 3;
    const h = load<f64>(hi + o), l = load<f64>(lo + o), c = load<f64>(cl + o);
    if (!validScalar(h, l, c, maxPrice)) {
      store<f64>(out + o, NaN);
      rejected++;
      continue;
    }
    atr = atr * keep + (max(h, prevC) - min(l, prevC)) * invP;
    prevC = c;
    store<f64>(out + o, atr);
  }
  store<f64>(state, prevC, 0);
  store<f64>(state, atr, 8);
  store<f64>(state, sum, 16);
  store<f64>(state, min(n, p + 1), 24);
  return rejected;
}
