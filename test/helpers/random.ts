/** Deterministic PRNG (mulberry32) so every failing case can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller). */
export function gaussian(next: () => number): number {
  const u = 1 - next();
  const v = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface Ohlc {
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
}

/** A consistent random OHLC series (0 < low ≤ open, close ≤ high) from a geometric walk. */
export function randomOhlc(bars: number, seed: number, start = 100): Ohlc {
  const next = rng(seed);
  const high = new Float64Array(bars);
  const low = new Float64Array(bars);
  const close = new Float64Array(bars);
  let price = start;
  for (let t = 0; t < bars; t++) {
    const open = price;
    price *= Math.exp(0.01 * gaussian(next));
    high[t] = Math.max(open, price) * (1 + 0.005 * next());
    low[t] = Math.min(open, price) * (1 - 0.005 * next());
    close[t] = price;
  }
  return { high, low, close };
}

/** A positive random walk, e.g. an equity curve. */
export function randomWalk(points: number, seed: number, start = 1_000, vol = 0.02): Float64Array {
  const next = rng(seed);
  const out = new Float64Array(points);
  let v = start;
  for (let t = 0; t < points; t++) {
    v *= Math.exp(vol * gaussian(next));
    out[t] = v;
  }
  return out;
}

/** `bars` rows of `symbols` correlated returns: a common factor plus noise. */
export function randomReturns(bars: number, symbols: number, seed: number, mean = 0): Float64Array[] {
  const next = rng(seed);
  const loadings = Array.from({ length: symbols }, () => 2 * next() - 1);
  const rows: Float64Array[] = [];
  for (let t = 0; t < bars; t++) {
    const f = gaussian(next);
    const row = new Float64Array(symbols);
    for (let i = 0; i < symbols; i++) row[i] = mean + 0.01 * ((loadings[i] as number) * f + gaussian(next));
    rows.push(row);
  }
  return rows;
}
