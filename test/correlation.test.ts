import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernels, type CorrelationBank, type Kernels } from '../src/index.js';
import { packedIndex } from '../src/kernels/correlation.js';
import { BUILDS, close } from './helpers/builds.js';
import { naivePearson, windowColumn } from './helpers/naive.js';
import { randomReturns } from './helpers/random.js';

/** Compares every pair of the bank with the naive windowed Pearson at bar `end`. */
function mismatches(bank: CorrelationBank, rows: readonly Float64Array[], end: number): string[] {
  const n = bank.symbols;
  const packed = bank.packed();
  const full = bank.full();
  const problems: string[] = [];
  for (let i = 0; i < n; i++) {
    const xi = windowColumn(rows, i, end, bank.window);
    for (let j = i + 1; j < n; j++) {
      const want = naivePearson(xi, windowColumn(rows, j, end, bank.window));
      const p = packed[packedIndex(n, i, j)] as number;
      const g = bank.get(i, j);
      const gs = bank.get(j, i);
      if (
        !close(p, want) ||
        !close(g, want) ||
        !close(gs, want) ||
        !close(full[i * n + j] as number, want) ||
        !close(full[j * n + i] as number, want)
      ) {
        problems.push(`bar ${end} (${i},${j}): packed ${p} get ${g}/${gs} vs ${want}`);
      }
    }
  }
  return problems.slice(0, 5);
}

describe.each(BUILDS)('correlation (%s build)', (build) => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels({ build });
  });

  it.each([
    [1, 16],
    [2, 16],
    [3, 20],
    [50, 32],
  ])('%i symbols, window %i: equals a naive windowed Pearson at every checked bar', (symbols, window) => {
    const rows = randomReturns(300, symbols, 11 * symbols + window);
    const bank = k.correlationBank({ symbols, window });
    const problems: string[] = [];
    rows.forEach((row, t) => {
      bank.update(row);
      if (symbols <= 3 || t % 37 === 0 || t === rows.length - 1) problems.push(...mismatches(bank, rows, t));
    });
    expect(problems.slice(0, 5)).toEqual([]);
    expect(bank.packed().length).toBe((symbols * (symbols - 1)) / 2);
    expect(bank.rejected).toBe(0);
    bank.dispose();
  });

  it('uses the packed layout i*(2n-i-1)/2 + (j-i-1) for i < j', () => {
    const n = 5;
    const idx: number[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) idx.push(packedIndex(n, i, j));
    expect(idx).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const rows = randomReturns(40, n, 5);
    const bank = k.correlationBank({ symbols: n, window: 10 });
    for (const r of rows) bank.update(r);
    const packed = bank.packed();
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) expect(packed[packedIndex(n, i, j)]).toBe(bank.get(i, j));
    const full = bank.full();
    for (let i = 0; i < n; i++) expect(full[i * n + i]).toBe(1);
    expect(bank.get(3, 3)).toBe(1);
  });

  it('perfectly (anti)correlated returns give exactly +1 and -1', () => {
    const bank = k.correlationBank({ symbols: 3, window: 8 });
    for (const r of randomReturns(30, 1, 3)) {
      const x = r[0] as number;
      bank.update([x, 3 * x + 0.001, -2 * x]);
    }
    expect(bank.get(0, 1)).toBeCloseTo(1, 12);
    expect(bank.get(0, 2)).toBeCloseTo(-1, 12);
  });

  it('a symbol with zero variance in the window gives NaN, never Infinity', () => {
    const bank = k.correlationBank({ symbols: 3, window: 8 });
    const rows = randomReturns(20, 2, 8);
    for (const r of rows) bank.update([r[0] as number, 0.0123, r[1] as number]);
    expect(bank.get(0, 1)).toBeNaN();
    expect(bank.get(1, 2)).toBeNaN();
    expect(Number.isFinite(bank.get(0, 2))).toBe(true);
    const packed = bank.packed();
    expect(packed[packedIndex(3, 0, 1)]).toBeNaN();
    expect(packed[packedIndex(3, 1, 2)]).toBeNaN();
    const zero = k.correlationBank({ symbols: 2, window: 4 });
    for (let t = 0; t < 6; t++) zero.update([0, 0]);
    expect(zero.get(0, 1)).toBeNaN();
  });

  it('fewer than two bars gives NaN', () => {
    const bank = k.correlationBank({ symbols: 2, window: 8 });
    expect(bank.get(0, 1)).toBeNaN();
    bank.update([0.01, 0.02]);
    expect(bank.get(0, 1)).toBeNaN();
    expect(bank.packed()[0]).toBeNaN();
  });

  it('periodic recomputation (every 7 bars) gives the same results as the naive reference', () => {
    const rows = randomReturns(200, 6, 21, 0.05);
    const bank = k.correlationBank({ symbols: 6, window: 12, recomputeEvery: 7 });
    const problems: string[] = [];
    rows.forEach((row, t) => {
      bank.update(row);
      problems.push(...mismatches(bank, rows, t));
    });
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('mean() is the mean of the finite pairs of the naive windowed Pearson, gaps and flat stretches included; meanPairs counts them', () => {
    const symbols = 9;
    const rows = randomReturns(120, symbols, 77, 0.03).map((r, t) => {
      const copy = Float64Array.from(r);
      if (t % 17 === 3) copy[4] = Number.NaN; // a gap: its pairs use the joint bars only
      if (t >= 40 && t < 80) copy[6] = 0.001; // flat for a while: zero variance, its pairs NaN
      return copy;
    });
    const bank = k.correlationBank({ symbols, window: 16, recomputeEvery: 5 });
    const problems: string[] = [];
    rows.forEach((row, t) => {
      bank.update(row);
      let sum = 0;
      let finite = 0;
      for (let i = 0; i < symbols; i++)
        for (let j = i + 1; j < symbols; j++) {
          const r = naivePearson(windowColumn(rows, i, t, bank.window), windowColumn(rows, j, t, bank.window));
          if (Number.isFinite(r)) {
            sum += r;
            finite++;
          }
        }
      const got = bank.mean();
      if (bank.meanPairs !== finite || !close(got, finite === 0 ? Number.NaN : sum / finite))
        problems.push(`bar ${t}: mean ${got} over ${bank.meanPairs} vs ${sum / finite} over ${finite}`);
    });
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('a rejected return is a missing observation: its pairs use only the bars where both are valid', () => {
    const symbols = 7;
    const rows = randomReturns(150, symbols, 31);
    const fed = rows.map((r, t) => {
      const copy = Float64Array.from(r);
      if (t % 13 === 0) copy[2] = Number.NaN;
      if (t % 29 === 5) copy[5] = Number.POSITIVE_INFINITY;
      if (t === 60) copy[0] = 1e300;
      return copy;
    });
    // The reference sees the same bars with every rejected value as a gap (NaN).
    const gaps = fed.map((r) => r.map((v) => (Number.isFinite(v) && Math.abs(v) <= 1e6 ? v : Number.NaN)));
    const bank = k.correlationBank({ symbols, window: 24 });
    const problems: string[] = [];
    let expectedRejected = 0;
    fed.forEach((row, t) => {
      bank.update(row);
      expectedRejected += row.filter((v) => !(Math.abs(v) <= 1e6)).length;
      problems.push(...mismatches(bank, gaps, t));
    });
    expect(problems.slice(0, 5)).toEqual([]);
    expect(bank.rejected).toBe(expectedRejected);
  });
});
