// Sliding windows kept sorted, for robust (median / MAD) scores of many series at once.
//
// State block: a 64-byte header, then structure-of-arrays columns for `n` series of window
// `w`:
//   ring   f64[n·w]  values in arrival order (slot s owns [s·w, (s+1)·w))
//   sorted f64[n·w]  the same values in ascending order
//   floor  f64[n]    a lower bound on each series' MAD (see winLowerBound)
//   value  f64[n]    batch input: the value to score and push, per batch row
//   slot   i32[n]    batch input: the series of each batch row
//   head   i32[n], count i32[n], age i32[n]  ring head, values held, pushes since `floor`
//   flag   i32[n]    batch output: 1 where a row was held back as a candidate (not pushed)
// Header: [0] n, [4] w.
//
// A push finds the leaving value's rank and the arriving value's rank by two branch-free
// binary searches run side by side (nothing to mispredict), then moves the values between the
// two ranks by one place, two per v128. Values are stored exactly, so the leaving
// value is found by its rank. A window's sorted order is unique, so the result does not
// depend on how the ranks were found.
import { HEADER, columnBytes, lanes } from "./layout";

/** Pushes for which a MAD lower bound stays valid before it is recomputed. */
const BOUND_PUSHES: i32 = 8;
/** MAD → σ for normal data. */
const MAD_TO_SIGMA: f64 = 1.4826;

// @ts-ignore: decorator
@inline function nOf(state: usize): i32 { return load<i32>(state, 0); }
// @ts-ignore: decorator
@inline function wOf(state: usize): i32 { return load<i32>(state, 4); }

/** Byte offsets of the columns, in order: ring, sorted, floor, value, slot, head, count, age, flag. */
// @ts-ignore: decorator
@inline function ringAt(state: usize): usize { return state + HEADER; }
// @ts-ignore: decorator
@inline function sortedAt(state: usize, n: i32, w: i32): usize {
  return state + HEADER + (lanes(<usize>n * <usize>w) << 3);
}
// @ts-ignore: decorator
@inline function colAt(state: usize, n: i32, w: i32, k: i32): usize {
  // k = 0: floor, 1: value (f64 columns); 2..6: slot, head, count, age, flag (i32, padded like f64)
  return state + HEADER + (lanes(<usize>n * <usize>w) << 4) + <usize>k * (lanes(<usize>n) << 3);
}

/** Bytes of a window bank of `n` series of window `w`: ring and sorted (n·w each), then 7 columns of n. */
export function winBankBytes(n: i32, w: i32): f64 {
  return <f64>HEADER + 2 * columnBytes(<f64>n * <f64>w) + 7 * columnBytes(<f64>n);
}

/** Initialises a zeroed block from winBankBytes. */
export function winBankInit(state: usize, n: i32, w: i32): void {
  store<i32>(state, n, 0);
  store<i32>(state, w, 4);
  const age = colAt(state, n, w, 5);
  for (let i = 0; i < n; i++) store<i32>(age + (<usize>i << 2), BOUND_PUSHES);
}

/** Address of column `k`: 0 ring, 1 sorted, 2 floor, 3 value, 4 slot, 5 head, 6 count, 7 age, 8 flag. */
export function winBankColumn(state: usize, k: i32): usize {
  const n = nOf(state), w = wOf(state);
  if (k == 0) return ringAt(state);
  if (k == 1) return sortedAt(state, n, w);
  return colAt(state, n, w, k - 2);
}

/**
 * The ranks of `a` (low half) and `b` (high half) among the `len` sorted values at `s`: two
 * branch-free binary searches run side by side (each step a select, so nothing to mispredict,
 * and the two chains of loads overlap).
 */
// @ts-ignore: decorator
@inline function ranks2(s: usize, len: i32, a: f64, b: f64): u64 {
  let atA: usize = s, atB: usize = s;
  let n = len;
  while (n > 1) {
    const half = n >>> 1;
    const off = <usize>half << 3;
    atA = select<usize>(atA + off, atA, load<f64>(atA + off - 8) < a);
    atB = select<usize>(atB + off, atB, load<f64>(atB + off - 8) < b);
    n -= half;
  }
  let ra = <u64>((atA - s) >> 3), rb = <u64>((atB - s) >> 3);
  if (n == 1) {
    ra += <u64>(load<f64>(atA) < a);
    rb += <u64>(load<f64>(atB) < b);
  }
  return ra | (rb << 32);
}

/** Moves the values at `s[from, to)` one place up (to `s[from + 1, to + 1)`), from the top. */
// @ts-ignore: decorator
@inline function shiftUp(s: usize, from: i32, to: i32): void {
  let i = to;
  if (ASC_FEATURE_SIMD) {
    for (; i - 2 >= from; i -= 2) v128.store(s + (<usize>(i - 1) << 3), v128.load(s + (<usize>(i - 2) << 3)));
  }
  for (; i > from; i--) store<f64>(s + (<usize>i << 3), load<f64>(s + (<usize>(i - 1) << 3)));
}

/** Moves the values at `s[from + 1, to + 1)` one place down (to `s[from, to)`), from the bottom. */
// @ts-ignore: decorator
@inline function shiftDown(s: usize, from: i32, to: i32): void {
  let i = from;
  if (ASC_FEATURE_SIMD) {
    for (; i + 2 <= to; i += 2) v128.store(s + (<usize>i << 3), v128.load(s + (<usize>(i + 1) << 3)));
  }
  for (; i < to; i++) store<f64>(s + (<usize>i << 3), load<f64>(s + (<usize>(i + 1) << 3)));
}

/** Appends `v` to series `slot`, dropping its oldest value when the window is full. */
// @ts-ignore: decorator
@inline function push(state: usize, n: i32, w: i32, slot: i32, v: f64): void {
  const base = <usize>slot * <usize>w;
  const ring = ringAt(state) + (base << 3);
  const s = sortedAt(state, n, w) + (base << 3);
  const headAt = colAt(state, n, w, 3) + (<usize>slot << 2);
  const countAt = colAt(state, n, w, 4) + (<usize>slot << 2);
  const ageAt = colAt(state, n, w, 5) + (<usize>slot << 2);
  const h = load<i32>(headAt);
  const c = load<i32>(countAt);
  if (c < w) {
    const r = <i32>ranks2(s, c, v, v); // v's rank among the c values held
    shiftUp(s, r, c);
    store<f64>(s + (<usize>r << 3), v);
    store<i32>(countAt, c + 1);
  } else {
    const old = load<f64>(ring + (<usize>h << 3));
    const both = ranks2(s, w, old, v);
    const ro = <i32>both; // s[ro] == old: values are stored exactly
    const rn = <i32>(both >>> 32);
    if (rn <= ro) {
      shiftUp(s, rn, ro);
      store<f64>(s + (<usize>rn << 3), v);
    } else {
      const to = rn - 1; // old is among the values below v
      shiftDown(s, ro, to);
      store<f64>(s + (<usize>to << 3), v);
    }
  }
  store<f64>(ring + (<usize>h << 3), v);
  store<i32>(headAt, h + 1 == w ? 0 : h + 1);
  store<i32>(ageAt, load<i32>(ageAt) + 1);
}

/** Appends `v` to series `slot` (one value; batches go through winCheckPush). */
export function winPush(state: usize, slot: i32, v: f64): void {
  push(state, nOf(state), wOf(state), slot, v);
}

/** Median of series `slot`'s sorted window (mean of the middle two when even); NaN when empty. */
// @ts-ignore: decorator
@inline function median(s: usize, c: i32): f64 {
  if (c == 0) return NaN;
  const mid = s + (<usize>(c >>> 1) << 3);
  return (c & 1) == 1 ? load<f64>(mid) : (load<f64>(mid - 8) + load<f64>(mid)) * 0.5;
}

/**
 * A lower bound on series `slot`'s MAD, recomputed every BOUND_PUSHES pushes (O(w)) and
 * cached otherwise: half the shortest span of ⌈c/2⌉ − BOUND_PUSHES consecutive sorted values
 * (the proof is in WindowBank.madLowerBound).
 */
function lowerBound(state: usize, n: i32, w: i32, slot: i32): f64 {
  const ageAt = colAt(state, n, w, 5) + (<usize>slot << 2);
  const floorAt = colAt(state, n, w, 0) + (<usize>slot << 3);
  if (load<i32>(ageAt) < BOUND_PUSHES) return load<f64>(floorAt);
  const c = load<i32>(colAt(state, n, w, 4) + (<usize>slot << 2));
  const q = ((c + 1) >> 1) - BOUND_PUSHES;
  let span: f64 = 0;
  if (q >= 2) {
    const s = sortedAt(state, n, w) + ((<usize>slot * <usize>w) << 3);
    span = Infinity;
    const d = <usize>(q - 1) << 3;
    const last = c - q; // spans start at 0..last
    let a = 0;
    if (ASC_FEATURE_SIMD) {
      // pmin(m, x) takes x only when x < m: a NaN span (∞ − ∞) is skipped, as below.
      let m = f64x2.splat(Infinity);
      for (; a + 1 <= last; a += 2) {
        const p = s + (<usize>a << 3);
        m = f64x2.pmin(m, f64x2.sub(v128.load(p + d), v128.load(p)));
      }
      span = min(f64x2.extract_lane(m, 0), f64x2.extract_lane(m, 1));
    }
    for (; a <= last; a++) {
      const p = s + (<usize>a << 3);
      const x = load<f64>(p + d) - load<f64>(p);
      if (x < span) span = x; // a NaN span (∞ − ∞) is skipped
    }
  }
  const bound = span * 0.5;
  store<f64>(floorAt, bound);
  store<i32>(ageAt, 0);
  return bound;
}

/** winLowerBound for one series (see lowerBound). */
export function winLowerBound(state: usize, slot: i32): f64 {
  return lowerBound(state, nOf(state), wOf(state), slot);
}

/**
 * Scores and pushes a batch of `m` rows (the `value` and `slot` input columns; one row per
 * series at most). A row whose series holds at least `minSamples` values and whose deviation
 * from the median (x − median, or |x − median| unless `upOnly`) reaches
 * z·max(floorScale, 1.4826·(MAD lower bound)) may be a spike: it is flagged (flag 1) and not
 * pushed, so the host can score it exactly against the window as it was. Every other row is
 * pushed (flag 0). Returns the number flagged.
 */
export function winCheckPush(state: usize, m: i32, minSamples: i32, z: f64, floorScale: f64, upOnly: i32): i32 {
  const n = nOf(state), w = wOf(state);
  const values = colAt(state, n, w, 1), slots = colAt(state, n, w, 2), flags = colAt(state, n, w, 6);
  const counts = colAt(state, n, w, 4), heads = colAt(state, n, w, 3);
  const sorted = sortedAt(state, n, w);
  let flagged = 0;
  let touched: f64 = 0;
  const ahead: i32 = 4;
  for (let i = 0; i < m; i++) {
    if (i + ahead < m) {
      // Touch the window a few rows ahead, one load per cache line, so its lines are on their
      // way while this row is worked on (WASM has no prefetch instruction).
      const nextSlot = <usize>load<i32>(slots + (<usize>(i + ahead) << 2));
      const next = sorted + ((nextSlot * <usize>w) << 3);
      for (let o: usize = 0; o < (<usize>w << 3); o += 64) touched += load<f64>(next + o);
      touched += load<f64>(ringAt(state) + ((nextSlot * <usize>w + <usize>load<i32>(heads + (nextSlot << 2))) << 3));
    }
    const slot = load<i32>(slots + (<usize>i << 2));
    const v = load<f64>(values + (<usize>i << 3));
    const c = load<i32>(counts + (<usize>slot << 2));
    let flag = 0;
    if (c >= minSamples) {
      const dev = v - median(sorted + ((<usize>slot * <usize>w) << 3), c);
      const d = upOnly != 0 ? dev : abs(dev);
      if (d >= z * max(floorScale, MAD_TO_SIGMA * lowerBound(state, n, w, slot))) flag = 1;
    }
    store<i32>(flags + (<usize>i << 2), flag);
    if (flag == 0) push(state, n, w, slot, v);
    flagged += flag;
  }
  sink = touched;
  return flagged;
}

/** Where winCheckPush leaves the sum of its touches, so they are not optimised away. */
let sink: f64 = 0;
