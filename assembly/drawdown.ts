// Drawdown: (peak - v) / peak. A value is valid when 0 < v <= maxValue (so NaN and
// +-Infinity fail); an invalid value leaves that series' state unchanged and is counted.
//
// window 0: the peak is the running maximum since inception, O(1) per update.
// window w: the peak is the maximum of the series' last w valid values, kept by a monotonic
// (decreasing) deque per series in a ring of w slots: amortised O(1) per update, whatever the
// length of the history.
// `max` is always the worst drawdown from the running peak since inception.

import { HEADER, column, columnBytes } from "./layout";

// Header: [0] n: i32, [4] w: i32, [8] maxValue: f64, [16] work: f64 (deque pops, for tests)
// Columns (n each): 0 input, 1 peak (running), 2 current, 3 max, 4 clock, 5 head (i32),
// 6 size (i32); then, when w > 0, the deques: n * w entries of (value, clock).
const COLUMNS: i32 = 7;

/** Bytes of a drawdown bank over `n` series and window `w` (0 = since inception). */
export function ddBankBytes(n: i32, w: i32): f64 {
  return <f64>HEADER + <f64>COLUMNS * columnBytes(<f64>n) + <f64>n * <f64>w * 16;
}

/** Initialises a zeroed block as a drawdown bank. */
export function ddBankInit(state: usize, n: i32, w: i32, maxValue: f64): void {
  store<i32>(state, n, 0);
  store<i32>(state, w, 4);
  store<f64>(state, maxValue, 8);
  const cur = column(state, n, 2), mx = column(state, n, 3);
  for (let i = 0; i < n; i++) {
    store<f64>(cur + (<usize>i << 3), NaN);
    store<f64>(mx + (<usize>i << 3), NaN);
  }
}

/** Address of column `k` of a drawdown bank (0 input, 2 current, 3 max). */
export function ddBankColumn(state: usize, k: i32): usize {
  return column(state, load<i32>(state, 0), k);
}

/** Deque pops performed so far: total work beyond one push per update. */
export function ddBankWork(state: usize): f64 {
  return load<f64>(state, 16);
}

/** Applies one value per series (already written to the input column). Returns rejected count. */
export function ddBankUpdate(state: usize): i32 {
  const n = load<i32>(state, 0);
  const w = load<i32>(state, 4);
  const maxValue = load<f64>(state, 8);
  const inp = column(state, n, 0), peak = column(state, n, 1), cur = column(state, n, 2), mx = column(state, n, 3);
  let rejected = 0;
  let i = 0;
  if (w == 0) {
    if (ASC_FEATURE_SIMD) {
      const zero = f64x2.splat(0), vMax = f64x2.splat(maxValue);
      for (; i + 1 < n; i += 2) {
        const o = <usize>i << 3;
        const v = v128.load(inp + o);
        const valid = v128.and(f64x2.gt(v, zero), f64x2.le(v, vMax));
        rejected += <i32>popcnt(~i64x2.bitmask(valid) & 3);
        const p0 = v128.load(peak + o), m0 = v128.load(mx + o);
        const p1 = f64x2.pmax(p0, v); // v is validated finite, so the one-instruction form is exact
        const d = f64x2.div(f64x2.sub(p1, v), p1);
        const m1 = v128.bitselect(m0, d, f64x2.ge(m0, d));
        v128.store(peak + o, v128.bitselect(p1, p0, valid));
        v128.store(cur + o, v128.bitselect(d, v128.load(cur + o), valid));
        v128.store(mx + o, v128.bitselect(m1, m0, valid));
      }
    }
    for (; i < n; i++) {
      const o = <usize>i << 3;
      const v = load<f64>(inp + o);
      if (!(v > 0 && v <= maxValue)) { rejected++; continue; }
      const p1 = max(load<f64>(peak + o), v);
      const d = (p1 - v) / p1;
      store<f64>(peak + o, p1);
      store<f64>(cur + o, d);
      if (!(load<f64>(mx + o) >= d)) store<f64>(mx + o, d);
    }
    return rejected;
  }
  const clock = column(state, n, 4), head = column(state, n, 5), size = column(state, n, 6);
  // Deque entries are (value, clock) pairs, 16 bytes, so the front's clock and value share a
  // cache line; each series owns w consecutive entries.
  const dq = column(state, n, COLUMNS);
  const fw = <f64>w;
  let work: f64 = 0;
  for (; i < n; i++) {
    const o = <usize>i << 3;
    const v = load<f64>(inp + o);
    if (!(v > 0 && v <= maxValue)) { rejected++; continue; }
    const base = dq + (<usize>i * <usize>w << 4);
    const t = load<f64>(clock + o);
    let h = load<i32>(head + o), s = load<i32>(size + o);
    // Expire the front if it left the window (at most one per update).
    if (s > 0 && load<f64>(base + (<usize>h << 4), 8) <= t - fw) {
      h = h + 1 == w ? 0 : h + 1;
      s--;
      work++;
    }
    // Pop from the back every value that the new one dominates.
    while (s > 0) {
      let b = h + s - 1;
      if (b >= w) b -= w;
      if (load<f64>(base + (<usize>b << 4)) > v) break;
      s--;
      work++;
    }
    let e = h + s;
    if (e >= w) e -= w;
    store<f64>(base + (<usize>e << 4), v);
    store<f64>(base + (<usize>e << 4), t, 8);
    s++;
    const pk = load<f64>(base + (<usize>h << 4));
    store<f64>(cur + o, (pk - v) / pk);
    store<i32>(head + o, h);
    store<i32>(size + o, s);
    store<f64>(clock + o, t + 1);
    const p1 = max(load<f64>(peak + o), v);
    const d = (p1 - v) / p1;
    store<f64>(peak + o, p1);
    if (!(load<f64>(mx + o) >= d)) store<f64>(mx + o, d);
  }
  store<f64>(state, load<f64>(state, 16) + work, 16);
  return rejected;
}

// Batch maximum drawdown of one series, in chunks. State: [0] peak, [8] max (NaN until data).
/** Initialises a batch drawdown state. */
export function ddSeriesInit(state: usize): void {
  store<f64>(state, 0, 0);
  store<f64>(state, NaN, 8);
}

/** Folds `len` values at `input` into the batch state. Returns rejected count. */
export function ddSeries(state: usize, input: usize, len: i32, maxValue: f64): i32 {
  let peak = load<f64>(state, 0), mx = load<f64>(state, 8);
  let rejected = 0;
  for (let t = 0; t < len; t++) {
    const v = load<f64>(input + (<usize>t << 3));
    if (!(v > 0 && v <= maxValue)) { rejected++; continue; }
    peak = max(peak, v);
    const d = (peak - v) / peak;
    if (!(mx >= d)) mx = d;
  }
  store<f64>(state, peak, 0);
  store<f64>(state, mx, 8);
  return rejected;
}
