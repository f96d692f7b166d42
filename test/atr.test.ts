import { ATR } from 'trading-signals';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernels, type Kernels } from '../src/index.js';
import { BUILDS, relClose } from './helpers/builds.js';
import { randomOhlc, rng } from './helpers/random.js';

/** trading-signals' ATR over a series: NaN until it is stable. */
function referenceAtr(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  const atr = new ATR(period);
  const out = new Float64Array(high.length);
  for (let t = 0; t < high.length; t++) {
    const r = atr.update({ high: high[t] as number, low: low[t] as number, close: close[t] as number }, false);
    out[t] = r ?? Number.NaN;
  }
  return out;
}

function firstMismatch(actual: Float64Array, expected: Float64Array): string | undefined {
  for (let t = 0; t < expected.length; t++) {
    if (!relClose(actual[t] as number, expected[t] as number)) return `index ${t}: ${actual[t]} vs ${expected[t]}`;
  }
  return undefined;
}

// Tulip Indicators' published ATR example, period 5 (tulipindicators.org/atr), the vector
// trading-signals also tests against; values published to two decimals.
const TULIP = {
  high: [82.15, 81.89, 83.03, 83.3, 83.85, 83.9, 83.33, 84.3, 84.84, 85.0, 85.9, 86.58, 86.98, 88.0, 87.87],
  low: [81.29, 80.64, 81.31, 82.65, 83.07, 83.11, 82.49, 82.3, 84.15, 84.11, 84.03, 85.39, 85.76, 87.17, 87.01],
  close: [81.59, 81.06, 82.87, 83.0, 83.61, 83.15, 82.84, 83.99, 84.55, 84.36, 85.53, 86.54, 86.89, 87.77, 87.29],
  atr5: [1.12, 1.05, 1.01, 1.21, 1.14, 1.09, 1.24, 1.23, 1.23, 1.21, 1.14],
};

describe.each(BUILDS)('ATR (%s build)', (build) => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels({ build });
  });

  it('matches the published Tulip Indicators vector (period 5) to its two decimals', () => {
    const atr = k.atr(TULIP.high, TULIP.low, TULIP.close, 5);
    expect(Array.from(atr.subarray(0, 4)).every(Number.isNaN)).toBe(true);
    expect(Array.from(atr.subarray(4), (v) => v.toFixed(2))).toEqual(TULIP.atr5.map((v) => v.toFixed(2)));
  });

  it('states the convention exactly: first value is the mean TR at index period-1, then Wilder smoothing', () => {
    const high = [10, 12, 11, 15];
    const low = [8, 9, 10, 12];
    const close = [9, 11, 10.5, 14];
    // TR: 2, max(12,9)-min(9,9)=3, max(11,11)-min(10,11)=1, max(15,10.5)-min(12,10.5)=4.5
    const atr = k.atr(high, low, close, 2);
    expect(Number.isNaN(atr[0])).toBe(true);
    expect(atr[1]).toBeCloseTo(2.5, 12);
    expect(atr[2]).toBeCloseTo((2.5 * 1 + 1) / 2, 12);
    expect(atr[3]).toBeCloseTo((1.75 * 1 + 4.5) / 2, 12);
  });

  it.each([1, 2, 5, 14, 50])(
    'batch equals trading-signals on 12 000 random bars, period %i, to relative 1e-9',
    (period) => {
      const { high, low, close } = randomOhlc(12_000, 1000 + period);
      const expected = referenceAtr(high, low, close, period);
      expect(firstMismatch(k.atr(high, low, close, period), expected)).toBeUndefined();
    },
  );

  it('batch crosses chunk boundaries without losing state (40 000 bars)', () => {
    const { high, low, close } = randomOhlc(40_000, 7);
    expect(firstMismatch(k.atr(high, low, close, 14), referenceAtr(high, low, close, 14))).toBeUndefined();
  });

  it.each([3, 14, 30])(
    'streaming bank equals trading-signals per symbol on 17 symbols x 10 000 bars, period %i',
    (period) => {
      const symbols = 17; // odd, so the SIMD pairs and the scalar tail are both exercised
      const bars = 10_000;
      const series = Array.from({ length: symbols }, (_, s) => randomOhlc(bars, 50 * period + s, 10 + 20 * s));
      const refs = series.map(() => new ATR(period));
      const bank = k.atrBank({ symbols, period });
      const h = new Float64Array(symbols);
      const l = new Float64Array(symbols);
      const c = new Float64Array(symbols);
      const problems: string[] = [];
      for (let t = 0; t < bars; t++) {
        for (let s = 0; s < symbols; s++) {
          const x = series[s] as (typeof series)[number];
          h[s] = x.high[t] as number;
          l[s] = x.low[t] as number;
          c[s] = x.close[t] as number;
        }
        bank.update(h, l, c);
        const got = bank.values();
        for (let s = 0; s < symbols; s++) {
          const want = (refs[s] as ATR).update(
            { high: h[s] as number, low: l[s] as number, close: c[s] as number },
            false,
          );
          if (!relClose(got[s] as number, want ?? Number.NaN) && problems.length < 5) {
            problems.push(`bar ${t} symbol ${s}: ${got[s]} vs ${want}`);
          }
        }
      }
      expect(problems).toEqual([]);
      expect(bank.rejected).toBe(0);
      bank.dispose();
    },
  );

  it('updateSlots: symbols fed one at a time, in random order and at random gaps, equal trading-signals per symbol; the cost is the slots listed', () => {
    const symbols = 9;
    const period = 5;
    const bars = 400;
    const next = rng(2026);
    const series = Array.from({ length: symbols }, (_, s) => randomOhlc(bars, 900 + s, 20 + 5 * s));
    const refs = series.map(() => new ATR(period));
    const bank = k.atrBank({ symbols, period });
    const cursor = new Array<number>(symbols).fill(0);
    const problems: string[] = [];
    let listed = 0;
    for (let step = 0; step < 3 * bars; step++) {
      // A few symbols (never the same twice) get their next bar in one call, straight into the inputs.
      const chosen = [
        ...new Set(Array.from({ length: 1 + Math.floor(next() * 3) }, () => Math.floor(next() * symbols))),
      ];
      const input = bank.input();
      let count = 0;
      for (const s of chosen) {
        const t = cursor[s] as number;
        if (t >= bars) continue;
        const x = series[s] as (typeof series)[number];
        input.high[s] = x.high[t] as number;
        input.low[s] = x.low[t] as number;
        input.close[s] = x.close[t] as number;
        input.slots[count++] = s;
      }
      bank.updateSlots(count);
      listed += count;
      const view = bank.valuesView();
      for (let c = 0; c < count; c++) {
        const s = input.slots[c] as number;
        const t = cursor[s] as number;
        cursor[s] = t + 1;
        const x = series[s] as (typeof series)[number];
        const want =
          (refs[s] as ATR).update(
            { high: x.high[t] as number, low: x.low[t] as number, close: x.close[t] as number },
            false,
          ) ?? Number.NaN;
        if (!relClose(view[s] as number, want) && problems.length < 5)
          problems.push(`symbol ${s} bar ${t}: ${view[s]} vs ${want}`);
      }
    }
    expect(problems).toEqual([]);
    expect(bank.work).toBe(listed);
    expect(bank.rejected).toBe(0);
    bank.dispose();
  });

  it('updateInput reads the bars written into input() (no copy) and equals update(); updateSlots refuses a slot out of range', () => {
    const symbols = 5;
    const a = k.atrBank({ symbols, period: 3 });
    const b = k.atrBank({ symbols, period: 3 });
    const data = Array.from({ length: symbols }, (_, s) => randomOhlc(50, 40 + s));
    for (let t = 0; t < 50; t++) {
      const h = Float64Array.from(data, (x) => x.high[t] as number);
      const l = Float64Array.from(data, (x) => x.low[t] as number);
      const c = Float64Array.from(data, (x) => x.close[t] as number);
      a.update(h, l, c);
      const input = b.input();
      input.high.set(h);
      input.low.set(l);
      input.close.set(c);
      b.updateInput();
      expect(Array.from(b.values())).toEqual(Array.from(a.values()));
    }
    expect(b.work).toBe(50 * symbols);
    b.input().slots[0] = symbols;
    expect(() => b.updateSlots(1)).toThrow(expect.objectContaining({ code: 'INDEX_OUT_OF_RANGE' }));
    expect(b.work).toBe(50 * symbols);
    a.dispose();
    b.dispose();
  });
});
