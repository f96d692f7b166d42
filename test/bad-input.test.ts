import { beforeAll, describe, expect, it } from 'vitest';
import { BulwarkError, isBulwarkError, loadKernels, type ErrorCode, type Kernels } from '../src/index.js';
import { BUILDS } from './helpers/builds.js';
import { randomOhlc, randomReturns, randomWalk } from './helpers/random.js';

function codeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (isBulwarkError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const BAD_BARS: ReadonlyArray<readonly [string, number, number, number]> = [
  ['NaN high', Number.NaN, 1, 1],
  ['NaN low', 2, Number.NaN, 1.5],
  ['NaN close', 2, 1, Number.NaN],
  ['+Infinity high', Number.POSITIVE_INFINITY, 1, 1.5],
  ['-Infinity low', 2, Number.NEGATIVE_INFINITY, 1.5],
  ['high < low', 1, 2, 1.5],
  ['zero low', 2, 0, 1],
  ['negative prices', -1, -2, -1.5],
  ['close above high', 2, 1, 3],
  ['close below low', 2, 1, 0.5],
  ['price above maxValue', 2e15, 1, 1.5],
];

describe.each(BUILDS)('bad input (%s build)', (build) => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels({ build });
  });

  const BAD_BAR_CASES = BAD_BARS.flatMap(([name, h, l, c]) => [
    [name, 'while seeding', 2, h, l, c] as const,
    [name, 'once steady', 10, h, l, c] as const,
  ]);

  it.each(BAD_BAR_CASES)(
    'ATR bank: a bar with %s %s leaves that symbol unchanged, is counted, and the others update',
    (_, __, badAt, bh, bl, bc) => {
      const symbols = 5;
      const period = 4;
      const data = Array.from({ length: symbols }, (_, s) => randomOhlc(30, 900 + s));
      const bank = k.atrBank({ symbols, period });
      const clean = k.atrBank({ symbols, period });
      const bad = 3; // symbol 3 sits in the SIMD pair (2, 3); symbol 4 is the scalar tail
      for (let t = 0; t < 30; t++) {
        const h = data.map((d) => d.high[t] as number);
        const l = data.map((d) => d.low[t] as number);
        const c = data.map((d) => d.close[t] as number);
        clean.update(h, l, c);
        if (t === badAt) {
          h[bad] = bh;
          l[bad] = bl;
          c[bad] = bc;
          h[4] = bh;
          l[4] = bl;
          c[4] = bc;
        }
        bank.update(h, l, c);
        if (t === badAt) expect(bank.rejected).toBe(2);
      }
      const got = bank.values();
      const want = clean.values();
      for (const s of [0, 1, 2]) expect(got[s]).toBe(want[s]);
      // The rejected symbols equal an ATR that never saw the bad bar.
      for (const s of [3, 4]) {
        const d = data[s] as (typeof data)[number];
        const keep = (_: number, t: number) => t !== badAt;
        const ref = k.atr(d.high.filter(keep), d.low.filter(keep), d.close.filter(keep), period);
        expect(got[s]).toBe(ref[ref.length - 1]);
      }
      expect(bank.rejected).toBe(2);
    },
  );

  it('batch ATR: an invalid bar yields NaN at its index and does not disturb the rest', () => {
    const d = randomOhlc(50, 4);
    const high = Float64Array.from(d.high);
    high[20] = Number.NaN;
    const atr = k.atr(high, d.low, d.close, 5);
    expect(atr[20]).toBeNaN();
    const keep = (_: number, t: number) => t !== 20;
    const ref = k.atr(d.high.filter(keep), d.low.filter(keep), d.close.filter(keep), 5);
    expect(atr[49]).toBe(ref[48]);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -5, 1e16])(
    'drawdown bank: value %s is rejected for that series only',
    (badValue) => {
      for (const window of [0, 5]) {
        const dd = k.drawdownBank({ series: 3, window });
        const w = [randomWalk(20, 1), randomWalk(20, 2), randomWalk(20, 3)];
        for (let t = 0; t < 20; t++) {
          const row = w.map((x) => x[t] as number);
          if (t === 8) row[1] = badValue;
          dd.update(row);
        }
        expect(dd.rejected).toBe(1);
        const ref = k.drawdownBank({ series: 1, window });
        for (let t = 0; t < 20; t++) if (t !== 8) ref.update([(w[1] as Float64Array)[t] as number]);
        expect(dd.current()[1]).toBe(ref.current()[0]);
        expect(dd.max()[1]).toBe(ref.max()[0]);
        expect(dd.current()[0]).toBeGreaterThanOrEqual(0);
      }
    },
  );

  it('maxDrawdown skips invalid values and returns NaN for empty or all-invalid input', () => {
    expect(k.maxDrawdown([])).toBeNaN();
    expect(k.maxDrawdown(new Float64Array(0))).toBeNaN();
    expect(k.maxDrawdown([Number.NaN, Number.POSITIVE_INFINITY, -1, 0])).toBeNaN();
    expect(k.maxDrawdown([100, Number.NaN, 80, -3, 90])).toBeCloseTo(0.2, 15);
  });

  it('empty batch ATR returns an empty array', () => {
    expect(k.atr([], [], [], 14)).toEqual(new Float64Array(0));
  });

  it('plain arrays with non-numbers are rejected per value, never coerced (null is not 0)', () => {
    const corr = k.correlationBank({ symbols: 3, window: 4 });
    for (const r of randomReturns(6, 3, 2)) corr.update(r);
    const before = corr.rejected;
    corr.update([null, '0.01', 0.02] as unknown as number[]);
    expect(corr.rejected - before).toBe(2);
    const dd = k.drawdownBank({ series: 2, window: 0 });
    dd.update([null, '100'] as unknown as number[]);
    expect(dd.rejected).toBe(2);
  });

  it('length mismatches and wrong types throw coded errors before reaching WASM', () => {
    const bank = k.atrBank({ symbols: 3, period: 14 });
    const three = new Float64Array(3);
    expect(codeOf(() => bank.update(new Float64Array(2), three, three))).toBe('LENGTH_MISMATCH');
    expect(codeOf(() => bank.update(three, three, new Float64Array(4)))).toBe('LENGTH_MISMATCH');
    expect(codeOf(() => bank.update('abc' as unknown as Float64Array, three, three))).toBe('INVALID_INPUT_TYPE');
    expect(codeOf(() => k.atr([1, 2], [1], [1, 2], 2))).toBe('LENGTH_MISMATCH');
    expect(codeOf(() => k.maxDrawdown(undefined as unknown as number[]))).toBe('INVALID_INPUT_TYPE');
    const dd = k.drawdownBank({ series: 2, window: 0 });
    expect(codeOf(() => dd.update([1]))).toBe('LENGTH_MISMATCH');
    const corr = k.correlationBank({ symbols: 2, window: 4 });
    expect(codeOf(() => corr.update([]))).toBe('LENGTH_MISMATCH');
    expect(codeOf(() => corr.get(0, 2))).toBe('INDEX_OUT_OF_RANGE');
    expect(codeOf(() => corr.get(-1, 0))).toBe('INDEX_OUT_OF_RANGE');
    expect(codeOf(() => corr.get(0.5, 1))).toBe('INDEX_OUT_OF_RANGE');
    expect(bank.rejected + dd.rejected + corr.rejected).toBe(0);
  });

  it.each([
    ['atrBank symbols 0', (k: Kernels) => k.atrBank({ symbols: 0, period: 14 }), 'INVALID_SIZE'],
    ['atrBank symbols 1.5', (k: Kernels) => k.atrBank({ symbols: 1.5, period: 14 }), 'INVALID_SIZE'],
    ['atrBank symbols NaN', (k: Kernels) => k.atrBank({ symbols: Number.NaN, period: 14 }), 'INVALID_SIZE'],
    ['atrBank period 0', (k: Kernels) => k.atrBank({ symbols: 2, period: 0 }), 'INVALID_PERIOD'],
    ['atrBank period -3', (k: Kernels) => k.atrBank({ symbols: 2, period: -3 }), 'INVALID_PERIOD'],
    ['atr period Infinity', (k: Kernels) => k.atr([2], [1], [1.5], Number.POSITIVE_INFINITY), 'INVALID_PERIOD'],
    ['atrBank symbols over limit', (k: Kernels) => k.atrBank({ symbols: 10_001, period: 14 }), 'LIMIT_EXCEEDED'],
    ['atrBank period over limit', (k: Kernels) => k.atrBank({ symbols: 1, period: 10_001 }), 'LIMIT_EXCEEDED'],
    ['drawdownBank window -1', (k: Kernels) => k.drawdownBank({ series: 1, window: -1 }), 'INVALID_WINDOW'],
    [
      'drawdownBank series "3"',
      (k: Kernels) => k.drawdownBank({ series: '3' as unknown as number, window: 0 }),
      'INVALID_SIZE',
    ],
    [
      'drawdownBank over maxBankBytes',
      (k: Kernels) => k.drawdownBank({ series: 10_000, window: 1_000_000 }),
      'LIMIT_EXCEEDED',
    ],
    ['correlationBank window 1', (k: Kernels) => k.correlationBank({ symbols: 3, window: 1 }), 'INVALID_WINDOW'],
    [
      'correlationBank symbols over limit',
      (k: Kernels) => k.correlationBank({ symbols: 2_049, window: 8 }),
      'LIMIT_EXCEEDED',
    ],
    [
      'correlationBank recomputeEvery 0',
      (k: Kernels) => k.correlationBank({ symbols: 3, window: 8, recomputeEvery: 0 }),
      'INVALID_OPTION',
    ],
  ] as const)('%s throws %s', (_, make, code) => {
    const before = k.memoryBytes;
    expect(codeOf(() => make(k))).toBe(code);
    expect(k.memoryBytes).toBe(before);
  });

  it('AtrBank.valuesInto copies into the caller’s array and checks its length', () => {
    const bank = k.atrBank({ symbols: 3, period: 2 });
    bank.update([2, 4, 6], [1, 2, 3], [1.5, 3, 4]);
    bank.update([2, 4, 6], [1, 2, 3], [1.5, 3, 4]);
    const out = new Float64Array(3);
    expect(bank.valuesInto(out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(bank.values()));
    expect(codeOf(() => bank.valuesInto(new Float64Array(2)))).toBe('LENGTH_MISMATCH');
  });

  it('a disposed bank throws BANK_DISPOSED and dispose is idempotent', () => {
    const bank = k.correlationBank({ symbols: 2, window: 4 });
    bank.dispose();
    bank.dispose();
    expect(bank.disposed).toBe(true);
    expect(codeOf(() => bank.update([0.1, 0.2]))).toBe('BANK_DISPOSED');
    expect(codeOf(() => bank.packed())).toBe('BANK_DISPOSED');
  });
});

describe('loadKernels options', () => {
  it('rejects bad limits with one INVALID_OPTION error listing every problem', async () => {
    const err = await loadKernels({ limits: { maxSymbols: 0, maxValue: Number.NaN, maxBankBytes: 2 ** 40 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BulwarkError);
    const e = err as BulwarkError;
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.details['problems']).toHaveLength(3);
  });

  it('rejects an unknown build', async () => {
    const err = await loadKernels({ build: 'fast' as never }).catch((e: unknown) => e);
    expect(isBulwarkError(err, 'INVALID_OPTION')).toBe(true);
  });

  it('honours tighter limits', async () => {
    const k = await loadKernels({ limits: { maxSymbols: 10 } });
    expect(k.limits.maxSymbols).toBe(10);
    expect(Object.isFrozen(k.limits)).toBe(true);
    expect(codeOf(() => k.atrBank({ symbols: 11, period: 3 }))).toBe('LIMIT_EXCEEDED');
  });
});
