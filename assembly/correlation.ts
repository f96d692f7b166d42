// Rolling Pearson correlation of returns over the last `w` bars, for every pair of `n`
// symbols, stored as a packed upper triangle: pair (i, j), i < j, at i*(2n-i-1)/2 + (j-i-1).
//
// Per bar, O(n^2) work keeps rolling sums of shifted values (x - K_i): sx, sxx per symbol and
// sxy per pair. The shift K_i (the window mean at the last full recomputation, 0 until one is
// asked for) keeps the sums small. So that rounding errors cannot accumulate however long the
// bank runs, every sum is rebuilt from the ring once per `every` bars — a slice of the pairs
// and symbols at each bar (ceil(P/every) pairs, ceil(n/every) symbols, each O(w)), so no bar
// pays for the whole O(n^2 w) rebuild at once. `corrBankRecompute` still rebuilds everything
// (and re-centres the shifts) when called.
//
// A return is valid when |r| <= maxAbs (so NaN and +-Infinity fail). An invalid return is
// counted and recorded as a missing observation: it never enters any sum, and a pair with a
// missing observation in the window is computed exactly over the bars where both are valid.
// Fewer than two joint observations, or zero variance, gives NaN.

import { HEADER, column, columnBytes, lanes, stride } from "./layout";

// Header: [0] n, [4] w, [8] head, [12] filled, [16] unused, [20] every (i32), [24] maxAbs (f64),
//         [32] pairs in the last mean (f64), [40] next pair row i, [44] its column j,
//         [48] next symbol (i32): where the rolling rebuild resumes.
// Columns (n each): 0 input, 1 a, 2 b, 3 shift, 4 sx, 5 sxx, 6 missing
// then ring [w rows of lanes(n)], sxy [lanes(P)], out [lanes(P)].
const COLUMNS: i32 = 7;
// A centred sum of squares at or below this fraction of the raw sum of squares is zero variance.
const ZERO_VARIANCE: f64 = 1e-13;

// @ts-ignore: decorator
@inline function pairs(n: i32): usize {
  return <usize>n * <usize>(n - 1) >> 1;
}

// @ts-ignore: decorator
@inline function rowStart(n: i32, i: i32): usize {
  return <usize>i * ((<usize>n << 1) - <usize>i - 1) >> 1;
}

// @ts-ignore: decorator
@inline function ringPtr(state: usize, n: i32): usize {
  return column(state, n, COLUMNS);
}

// @ts-ignore: decorator
@inline function sxyPtr(state: usize, n: i32, w: i32): usize {
  return ringPtr(state, n) + <usize>w * stride(n);
}

// @ts-ignore: decorator
@inline function outPtr(state: usize, n: i32, w: i32): usize {
  return sxyPtr(state, n, w) + (lanes(pairs(n)) << 3);
}

/** Bytes of a correlation bank over `n` symbols and a window of `w` bars: 7 columns, w ring rows, sxy and out. */
export function corrBankBytes(n: i32, w: i32): f64 {
  const p = <f64>n * (<f64>n - 1) / 2;
  return <f64>HEADER + (<f64>COLUMNS + <f64>w) * columnBytes(<f64>n) + 2 * columnBytes(p);
}

/** Initialises a zeroed block as a correlation bank. */
export function corrBankInit(state: usize, n: i32, w: i32, every: i32, maxAbs: f64): void {
  store<i32>(state, n, 0);
  store<i32>(state, w, 4);
  store<i32>(state, every, 20);
  store<f64>(state, maxAbs, 24);
  store<i32>(state, 0, 40);
  store<i32>(state, 1, 44);
}

/** Address of the input column where the host writes one return per symbol. */
export function corrBankInput(state: usize): usize {
  return column(state, load<i32>(state, 0), 0);
}

/** Address of the packed output written by `corrBankPacked`. */
export function corrBankOut(state: usize): usize {
  return outPtr(state, load<i32>(state, 0), load<i32>(state, 4));
}

/** Number of bars in the window so far (at most w). */
export function corrBankFilled(state: usize): i32 {
  return load<i32>(state, 12);
}

// sxy[pair(i, j)] += a_i*a_j - b_i*b_j for all i < j (b ignored when `subtract` is false).
function pairUpdate(sxy: usize, a: usize, b: usize, n: i32, subtract: bool): void {
  for (let i = 0; i < n - 1; i++) {
    const m = n - i - 1;
    const s0 = sxy + (rowStart(n, i) << 3);
    const a0 = a + (<usize>(i + 1) << 3), b0 = b + (<usize>(i + 1) << 3);
    const ai = load<f64>(a + (<usize>i << 3)), bi = load<f64>(b + (<usize>i << 3));
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      const va = f64x2.splat(ai), vb = f64x2.splat(bi);
      // Unrolled to four pairs per iteration: the loop's own bookkeeping is otherwise a
      // large share of so short a body.
      if (subtract) {
        for (; k + 3 < m; k += 4) {
          const o = <usize>k << 3;
          v128.store(s0 + o, f64x2.add(v128.load(s0 + o),
            f64x2.sub(f64x2.mul(va, v128.load(a0 + o)), f64x2.mul(vb, v128.load(b0 + o)))));
          v128.store(s0 + o + 16, f64x2.add(v128.load(s0 + o + 16),
            f64x2.sub(f64x2.mul(va, v128.load(a0 + o + 16)), f64x2.mul(vb, v128.load(b0 + o + 16)))));
        }
        for (; k + 1 < m; k += 2) {
          const o = <usize>k << 3;
          v128.store(s0 + o, f64x2.add(v128.load(s0 + o),
            f64x2.sub(f64x2.mul(va, v128.load(a0 + o)), f64x2.mul(vb, v128.load(b0 + o)))));
        }
      } else {
        for (; k + 3 < m; k += 4) {
          const o = <usize>k << 3;
          v128.store(s0 + o, f64x2.add(v128.load(s0 + o), f64x2.mul(va, v128.load(a0 + o))));
          v128.store(s0 + o + 16, f64x2.add(v128.load(s0 + o + 16), f64x2.mul(va, v128.load(a0 + o + 16))));
        }
        for (; k + 1 < m; k += 2) {
          const o = <usize>k << 3;
          v128.store(s0 + o, f64x2.add(v128.load(s0 + o), f64x2.mul(va, v128.load(a0 + o))));
        }
      }
    }
    if (subtract) {
      for (; k < m; k++) {
        const o = <usize>k << 3;
        store<f64>(s0 + o, load<f64>(s0 + o) + (ai * load<f64>(a0 + o) - bi * load<f64>(b0 + o)));
      }
    } else {
      for (; k < m; k++) {
        const o = <usize>k << 3;
        store<f64>(s0 + o, load<f64>(s0 + o) + ai * load<f64>(a0 + o));
      }
    }
  }
}

/** Recomputes every rolling sum (and the shifts) from the values in the window. */
export function corrBankRecompute(state: usize): void {
  const n = load<i32>(state, 0), w = load<i32>(state, 4), rows = load<i32>(state, 12);
  const a = column(state, n, 1), b = column(state, n, 2), shift = column(state, n, 3);
  const sx = column(state, n, 4), sxx = column(state, n, 5), miss = column(state, n, 6);
  const ring = ringPtr(state, n), rs = stride(n), sxy = sxyPtr(state, n, w);
  memory.fill(a, 0, rs);
  memory.fill(b, 0, rs);
  for (let r = 0; r < rows; r++) {
    const row = ring + <usize>r * rs;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 3;
      const x = load<f64>(row + o);
      if (x == x) {
        store<f64>(a + o, load<f64>(a + o) + x);
        store<f64>(b + o, load<f64>(b + o) + 1);
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    const c = load<f64>(b + o);
    store<f64>(shift + o, c > 0 ? load<f64>(a + o) / c : 0);
  }
  memory.fill(sx, 0, rs * 3);
  memory.fill(sxy, 0, pairs(n) << 3);
  for (let r = 0; r < rows; r++) {
    const row = ring + <usize>r * rs;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 3;
      const x = load<f64>(row + o);
      let d: f64 = 0;
      if (x == x) d = x - load<f64>(shift + o);
      else store<f64>(miss + o, load<f64>(miss + o) + 1);
      store<f64>(a + o, d);
      store<f64>(sx + o, load<f64>(sx + o) + d);
      store<f64>(sxx + o, load<f64>(sxx + o) + d * d);
    }
    pairUpdate(sxy, a, b, n, false);
  }
}

/** Applies one return per symbol (already written to the input column). Returns rejected count. */
export function corrBankUpdate(state: usize): i32 {
  const n = load<i32>(state, 0), w = load<i32>(state, 4);
  const head = load<i32>(state, 8), filled = load<i32>(state, 12);
  const maxAbs = load<f64>(state, 24);
  const inp = column(state, n, 0), a = column(state, n, 1), b = column(state, n, 2);
  const shift = column(state, n, 3), sx = column(state, n, 4), sxx = column(state, n, 5), miss = column(state, n, 6);
  const rs = stride(n);
  const row = ringPtr(state, n) + <usize>head * rs;
  const full = filled == w;
  let rejected = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    const x = load<f64>(inp + o);
    const k = load<f64>(shift + o);
    let m = load<f64>(miss + o);
    let ai: f64 = 0, bi: f64 = 0;
    if (abs(x) <= maxAbs) ai = x - k;
    else { rejected++; m += 1; }
    if (full) {
      const old = load<f64>(row + o);
      if (old == old) bi = old - k;
      else m -= 1;
    }
    store<f64>(a + o, ai);
    store<f64>(b + o, bi);
    store<f64>(miss + o, m);
    store<f64>(sx + o, load<f64>(sx + o) + (ai - bi));
    store<f64>(sxx + o, load<f64>(sxx + o) + (ai * ai - bi * bi));
    store<f64>(row + o, abs(x) <= maxAbs ? x : NaN);
  }
  pairUpdate(sxyPtr(state, n, w), a, b, n, full);
  store<i32>(state, head + 1 == w ? 0 : head + 1, 8);
  if (!full) store<i32>(state, filled + 1, 12);
  rebuildSlice(state);
  return rejected;
}

// sum over the window rows of (x_ri - K_i)(x_rj - K_j), a missing value counting as 0.
// @ts-ignore: decorator
@inline function windowCross(ring: usize, rs: usize, rows: i32, oi: usize, oj: usize, ki: f64, kj: f64): f64 {
  let acc: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const row = ring + <usize>r * rs;
    const x = load<f64>(row + oi), y = load<f64>(row + oj);
    if (x == x && y == y) acc += (x - ki) * (y - kj);
  }
  return acc;
}

// One bar's share of the rolling rebuild: ceil(P/every) pairs' sxy and ceil(n/every) symbols'
// sx, sxx and missing count rebuilt from the window as it is now (with the current shifts),
// resuming where the last bar stopped; a whole cycle takes at most `every` bars.
function rebuildSlice(state: usize): void {
  const n = load<i32>(state, 0), w = load<i32>(state, 4), rows = load<i32>(state, 12);
  const every = <usize>load<i32>(state, 20);
  const shift = column(state, n, 3), sx = column(state, n, 4), sxx = column(state, n, 5), miss = column(state, n, 6);
  const ring = ringPtr(state, n), rs = stride(n), sxy = sxyPtr(state, n, w);
  let symbols = (<usize>n + every - 1) / every;
  let s = load<i32>(state, 48);
  for (; symbols > 0; symbols--) {
    const o = <usize>s << 3;
    const k = load<f64>(shift + o);
    let a: f64 = 0, aa: f64 = 0, m: f64 = 0;
    for (let r = 0; r < rows; r++) {
      const x = load<f64>(ring + <usize>r * rs + o);
      if (x == x) { const d = x - k; a += d; aa += d * d; }
      else m += 1;
    }
    store<f64>(sx + o, a);
    store<f64>(sxx + o, aa);
    store<f64>(miss + o, m);
    s = s + 1 == n ? 0 : s + 1;
  }
  store<i32>(state, s, 48);
  if (n < 2) return;
  let budget = (pairs(n) + every - 1) / every;
  let i = load<i32>(state, 40), j = load<i32>(state, 44);
  for (; budget > 0; budget--) {
    const oi = <usize>i << 3, oj = <usize>j << 3;
    const p = sxy + ((rowStart(n, i) + <usize>(j - i - 1)) << 3);
    store<f64>(p, windowCross(ring, rs, rows, oi, oj, load<f64>(shift + oi), load<f64>(shift + oj)));
    if (++j == n) { i = i + 1 == n - 1 ? 0 : i + 1; j = i + 1; }
  }
  store<i32>(state, i, 40);
  store<i32>(state, j, 44);
}

// @ts-ignore: decorator
@inline function clamp1(r: f64): f64 {
  return min(max(r, -1.0), 1.0);
}

// Exact two-pass Pearson of symbols i and j over the bars where both are valid.
function exact(state: usize, n: i32, i: i32, j: i32): f64 {
  const rows = load<i32>(state, 12);
  const ring = ringPtr(state, n), rs = stride(n);
  const oi = <usize>i << 3, oj = <usize>j << 3;
  let c: f64 = 0, mx: f64 = 0, my: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const row = ring + <usize>r * rs;
    const x = load<f64>(row + oi), y = load<f64>(row + oj);
    if (x == x && y == y) { c += 1; mx += x; my += y; }
  }
  if (c < 2) return NaN;
  mx /= c; my /= c;
  let sxx: f64 = 0, syy: f64 = 0, sxy: f64 = 0, rx: f64 = 0, ry: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const row = ring + <usize>r * rs;
    const x = load<f64>(row + oi), y = load<f64>(row + oj);
    if (x == x && y == y) {
      const dx = x - mx, dy = y - my;
      sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
      rx += x * x; ry += y * y;
    }
  }
  if (!(sxx > ZERO_VARIANCE * rx) || !(syy > ZERO_VARIANCE * ry)) return NaN;
  return clamp1(sxy / Math.sqrt(sxx * syy));
}

// 1/sqrt(centred sum of squares) of symbol i (offset o), or NaN when it has a missing
// observation in the window, fewer than two bars, or zero variance.
// @ts-ignore: decorator
@inline function invStd(state: usize, n: i32, o: usize, N: f64): f64 {
  const s = load<f64>(column(state, n, 4) + o), ss = load<f64>(column(state, n, 5) + o);
  const k = load<f64>(column(state, n, 3) + o);
  const centred = ss - s * (s / N);
  const raw = ss + 2 * k * s + N * k * k;
  const ok = N >= 2 && load<f64>(column(state, n, 6) + o) == 0 && centred > ZERO_VARIANCE * raw;
  return ok ? 1.0 / Math.sqrt(centred) : NaN;
}

// Pearson r from the rolling sums; packed() and get() share it so they agree to the bit.
// @ts-ignore: decorator
@inline function fromSums(sxy: f64, meanI: f64, meanJ: f64, N: f64, invI: f64, invJ: f64): f64 {
  return clamp1((sxy - meanI * N * meanJ) * invI * invJ);
}

// Per symbol: a = mean of shifted values, b = invStd. Returns the number of bars N.
function prepare(state: usize, n: i32): f64 {
  const N = <f64>load<i32>(state, 12);
  const a = column(state, n, 1), b = column(state, n, 2), sx = column(state, n, 4);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(a + o, load<f64>(sx + o) / N);
    store<f64>(b + o, invStd(state, n, o, N));
  }
  return N;
}

/** Writes every pair's correlation to the packed output. */
export function corrBankPacked(state: usize): void {
  const n = load<i32>(state, 0), w = load<i32>(state, 4);
  const N = prepare(state, n);
  const a = column(state, n, 1), b = column(state, n, 2), miss = column(state, n, 6);
  const sxy = sxyPtr(state, n, w), out = outPtr(state, n, w);
  for (let i = 0; i < n - 1; i++) {
    const q = rowStart(n, i) << 3;
    const ma = load<f64>(a + (<usize>i << 3)), ib = load<f64>(b + (<usize>i << 3));
    for (let j = i + 1; j < n; j++) {
      const o = <usize>(j - i - 1) << 3;
      const oj = <usize>j << 3;
      store<f64>(out + q + o, fromSums(load<f64>(sxy + q + o), ma, load<f64>(a + oj), N, ib, load<f64>(b + oj)));
    }
  }
  if (N < 2) return;
  for (let i = 0; i < n; i++) {
    if (load<f64>(miss + (<usize>i << 3)) == 0) continue;
    for (let j = 0; j < n; j++) {
      if (j == i) continue;
      const lo = min(i, j), hi = max(i, j);
      store<f64>(out + ((rowStart(n, lo) + <usize>(hi - lo - 1)) << 3), exact(state, n, lo, hi));
    }
  }
}

/** Correlation of symbols i and j (i != j, both in range: the host checks). */
export function corrBankGet(state: usize, i: i32, j: i32): f64 {
  const n = load<i32>(state, 0), w = load<i32>(state, 4);
  const lo = min(i, j), hi = max(i, j);
  const miss = column(state, n, 6);
  if (load<f64>(miss + (<usize>lo << 3)) != 0 || load<f64>(miss + (<usize>hi << 3)) != 0) {
    return exact(state, n, lo, hi);
  }
  const N = <f64>load<i32>(state, 12);
  const sx = column(state, n, 4), ol = <usize>lo << 3, oh = <usize>hi << 3;
  const p = load<f64>(sxyPtr(state, n, w) + ((rowStart(n, lo) + <usize>(hi - lo - 1)) << 3));
  return fromSums(p, load<f64>(sx + ol) / N, load<f64>(sx + oh) / N, N, invStd(state, n, ol, N), invStd(state, n, oh, N));
}

/**
 * Mean of every finite pair's correlation (the values `corrBankPacked` would write), without
 * forming the pairs: NaN when no pair is finite. The number of finite pairs is kept for
 * `corrBankMeanPairs`.
 *
 * For the symbols with a complete window and nonzero variance ("clean"), r_ij = sum_r z_ri z_rj
 * with z the standardised values, so the sum of r over their pairs is
 * (sum_r (sum_i z_ri)^2 - n_clean) / 2: O(n*w) instead of O(n^2). A pair with a symbol that has
 * a missing observation in the window is computed exactly over the joint bars, as packed() does.
 */
export function corrBankMean(state: usize): f64 {
  const n = load<i32>(state, 0);
  const N = prepare(state, n); // a = mean of shifted values, b = invStd (NaN unless clean)
  const rows = load<i32>(state, 12);
  const a = column(state, n, 1), b = column(state, n, 2), shift = column(state, n, 3), miss = column(state, n, 6);
  const ring = ringPtr(state, n), rs = stride(n);
  let sum: f64 = 0, count: f64 = 0;
  if (N >= 2) {
    let clean: f64 = 0;
    for (let i = 0; i < n; i++) {
      const inv = load<f64>(b + (<usize>i << 3));
      if (inv == inv) clean += 1;
    }
    if (clean >= 2) {
      let squares: f64 = 0;
      for (let r = 0; r < rows; r++) {
        const row = ring + <usize>r * rs;
        let z: f64 = 0;
        for (let i = 0; i < n; i++) {
          const o = <usize>i << 3;
          const inv = load<f64>(b + o);
          if (inv == inv) z += (load<f64>(row + o) - load<f64>(shift + o) - load<f64>(a + o)) * inv;
        }
        squares += z * z;
      }
      sum += (squares - clean) * 0.5;
      count += clean * (clean - 1) * 0.5;
    }
    // Pairs with a symbol missing an observation: exact, over the joint bars.
    for (let i = 0; i < n; i++) {
      if (load<f64>(miss + (<usize>i << 3)) == 0) continue;
      for (let j = 0; j < n; j++) {
        if (j == i || (load<f64>(miss + (<usize>j << 3)) != 0 && j < i)) continue;
        const r = exact(state, n, min(i, j), max(i, j));
        if (r == r) { sum += r; count += 1; }
      }
    }
  }
  store<f64>(state, count, 32);
  return count > 0 ? sum / count : NaN;
}

/** Finite pairs in the last `corrBankMean`. */
export function corrBankMeanPairs(state: usize): f64 {
  return load<f64>(state, 32);
}
