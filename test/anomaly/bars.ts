// Synthetic bars for the anomaly tests.
import type { Bar } from '../../src/vocabulary/market.js';
import { gaussian, rng } from '../helpers/random.js';

export const T0 = Date.UTC(2026, 0, 5, 14, 30);
export const MINUTE = 60_000;

/** A consistent bar: open → close, high/low `spread` beyond them. */
export function bar(
  symbol: string,
  timestamp: number,
  close: number,
  open = close,
  spread = 0.001,
  volume = 1_000,
): Bar {
  return Object.freeze({
    symbol,
    timestamp,
    open,
    close,
    high: Math.max(open, close) * (1 + spread),
    low: Math.min(open, close) * (1 - spread),
    volume,
  });
}

/** Options of {@link noiseSeries}. */
export interface NoiseOptions {
  readonly bars: number;
  readonly seed: number;
  /** Standard deviation of log returns. Default 0.001. */
  readonly sigma?: number;
  /** High/low beyond open/close, as a fraction. Default 0.001. */
  readonly spread?: number;
  /** Standard deviation of log volume around 1000. Default 0.2. */
  readonly volumeSigma?: number;
  readonly start?: number;
  /** Time of the first bar. Default T0. */
  readonly from?: number;
}

/** A geometric random walk of bars, one a minute. */
export function noiseSeries(symbol: string, o: NoiseOptions): Bar[] {
  const next = rng(o.seed);
  const sigma = o.sigma ?? 0.001;
  const out: Bar[] = [];
  let price = o.start ?? 100;
  for (let t = 0; t < o.bars; t++) {
    const open = price;
    price *= Math.exp(sigma * gaussian(next));
    const volume = 1_000 * Math.exp((o.volumeSigma ?? 0.2) * gaussian(next));
    out.push(bar(symbol, (o.from ?? T0) + t * MINUTE, price, open, o.spread ?? 0.001, volume));
  }
  return out;
}

/** Median by sorting a copy (the obviously correct reference). */
export function naiveMedian(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

/** Median, MAD and 1.4826·MAD of `values`, by sorting. */
export function naiveRobust(values: readonly number[]): { median: number; mad: number; scale: number } {
  const median = naiveMedian(values);
  const mad = naiveMedian(values.map((v) => Math.abs(v - median)));
  return { median, mad, scale: 1.4826 * mad };
}
