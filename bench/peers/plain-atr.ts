/**
 * The same streaming Wilder ATR as Bulwark's bank, in plain JavaScript over
 * structure-of-arrays Float64Arrays, with the same validation: the fastest fair JS baseline.
 */
export class PlainAtrBank {
  readonly #prevClose: Float64Array;
  readonly #atr: Float64Array;
  readonly #sum: Float64Array;
  readonly #count: Float64Array;
  readonly #period: number;
  rejected = 0;

  constructor(symbols: number, period: number) {
    this.#prevClose = new Float64Array(symbols);
    this.#atr = new Float64Array(symbols).fill(Number.NaN);
    this.#sum = new Float64Array(symbols);
    this.#count = new Float64Array(symbols);
    this.#period = period;
  }

  update(high: Float64Array, low: Float64Array, close: Float64Array): void {
    const p = this.#period;
    const inv = 1 / p;
    const pc = this.#prevClose;
    const atr = this.#atr;
    const sum = this.#sum;
    const cnt = this.#count;
    for (let i = 0; i < high.length; i++) {
      const h = high[i] as number;
      const l = low[i] as number;
      const c = close[i] as number;
      if (!(l > 0 && h >= l && c >= l && c <= h && h <= 1e15)) {
        this.rejected++;
        continue;
      }
      const n = cnt[i] as number;
      const prev = pc[i] as number;
      const tr = n === 0 ? h - l : Math.max(h, prev) - Math.min(l, prev);
      const n1 = Math.min(n + 1, p + 1);
      const s1 = (sum[i] as number) + tr;
      if (n1 === p) atr[i] = s1 * inv;
      else if (n1 > p) atr[i] = (atr[i] as number) + (tr - (atr[i] as number)) * inv;
      pc[i] = c;
      sum[i] = s1;
      cnt[i] = n1;
    }
  }

  values(): Float64Array {
    return this.#atr.slice();
  }
}

/** Batch ATR of one series in plain JavaScript, one tight loop. */
export function plainAtr(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  const out = new Float64Array(high.length);
  const inv = 1 / period;
  let prev = Number.NaN;
  let atr = Number.NaN;
  let sum = 0;
  let n = 0;
  for (let t = 0; t < high.length; t++) {
    const h = high[t] as number;
    const l = low[t] as number;
    const c = close[t] as number;
    if (!(l > 0 && h >= l && c >= l && c <= h && h <= 1e15)) {
      out[t] = Number.NaN;
      continue;
    }
    const tr = n === 0 ? h - l : Math.max(h, prev) - Math.min(l, prev);
    n = Math.min(n + 1, period + 1);
    sum += tr;
    if (n === period) atr = sum * inv;
    else if (n > period) atr += (tr - atr) * inv;
    prev = c;
    out[t] = atr;
  }
  return out;
}
