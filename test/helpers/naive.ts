// Deliberately naive reference implementations: obviously correct, O(n²) or worse.

/** Worst (peak − trough)/peak over all i ≤ j, by brute force; NaN for no values. */
export function naiveMaxDrawdown(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let worst = 0;
  for (let j = 0; j < values.length; j++) {
    for (let i = 0; i <= j; i++) {
      const peak = values[i] as number;
      worst = Math.max(worst, (peak - (values[j] as number)) / peak);
    }
  }
  return worst;
}

/** (max of the last `window` values − last)/max; window 0 = all values. */
export function naiveDrawdownAt(values: ArrayLike<number>, end: number, window: number): number {
  const from = window === 0 ? 0 : Math.max(0, end - window + 1);
  let peak = -Infinity;
  for (let t = from; t <= end; t++) peak = Math.max(peak, values[t] as number);
  return (peak - (values[end] as number)) / peak;
}

/**
 * Two-pass Pearson correlation over the pairs where both values are numbers (not NaN);
 * NaN for fewer than two pairs or a zero centred sum of squares.
 */
export function naivePearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = 0; t < x.length; t++) {
    if (!Number.isNaN(x[t]) && !Number.isNaN(y[t])) {
      xs.push(x[t] as number);
      ys.push(y[t] as number);
    }
  }
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let rx = 0;
  let ry = 0;
  for (let t = 0; t < n; t++) {
    const dx = (xs[t] as number) - mx;
    const dy = (ys[t] as number) - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
    rx += (xs[t] as number) ** 2;
    ry += (ys[t] as number) ** 2;
  }
  if (!(sxx > 1e-13 * rx) || !(syy > 1e-13 * ry)) return Number.NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Column `i` of the last `window` rows ending at `end` (inclusive). */
export function windowColumn(rows: readonly Float64Array[], i: number, end: number, window: number): number[] {
  const out: number[] = [];
  for (let t = Math.max(0, end - window + 1); t <= end; t++) out.push((rows[t] as Float64Array)[i] as number);
  return out;
}
