import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernels, type Kernels } from '../src/index.js';
import { BUILDS, close } from './helpers/builds.js';
import { naiveDrawdownAt, naiveMaxDrawdown } from './helpers/naive.js';
import { randomWalk } from './helpers/random.js';

describe.each(BUILDS)('drawdown (%s build)', (build) => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels({ build });
  });

  it('maxDrawdown of a known series: peak 120 to trough 90 is 25%', () => {
    expect(k.maxDrawdown([100, 120, 90, 130, 110])).toBe(0.25);
    expect(k.maxDrawdown([1, 2, 3])).toBe(0);
    expect(k.maxDrawdown([5])).toBe(0);
  });

  it.each([1, 2, 3, 4, 5])(
    'maxDrawdown equals the naive O(n²) reference on a 2 000-point random walk (seed %i)',
    (seed) => {
      const v = randomWalk(2_000, seed);
      expect(close(k.maxDrawdown(v), naiveMaxDrawdown(v))).toBe(true);
    },
  );

  it('maxDrawdown over 100 000 points spans chunks and equals a single-pass reference', () => {
    const v = randomWalk(100_000, 9, 1_000, 0.01);
    let peak = 0;
    let worst = 0;
    for (const x of v) {
      peak = Math.max(peak, x);
      worst = Math.max(worst, (peak - x) / peak);
    }
    expect(close(k.maxDrawdown(v), worst)).toBe(true);
  });

  it('maxDrawdown equals the naive reference for arbitrary positive series (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-6, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 60 }), (xs) => {
        return close(k.maxDrawdown(xs), naiveMaxDrawdown(xs));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it.each([0, 1, 7, 100])(
    'bank current() and max() equal the naive reference on 9 random walks, window %i',
    (window) => {
      const series = 9;
      const points = 1_500;
      const walks = Array.from({ length: series }, (_, s) => randomWalk(points, 77 + s));
      const dd = k.drawdownBank({ series, window });
      const row = new Float64Array(series);
      const problems: string[] = [];
      for (let t = 0; t < points; t++) {
        for (let s = 0; s < series; s++) row[s] = (walks[s] as Float64Array)[t] as number;
        dd.update(row);
        const cur = dd.current();
        const max = dd.max();
        for (let s = 0; s < series; s++) {
          const w = walks[s] as Float64Array;
          const wantCur = naiveDrawdownAt(w, t, window);
          if (!close(cur[s] as number, wantCur) && problems.length < 5)
            problems.push(`t=${t} s=${s} current ${cur[s]} vs ${wantCur}`);
          if (t % 50 === 49 || t === points - 1) {
            const wantMax = naiveMaxDrawdown(w.subarray(0, t + 1));
            if (!close(max[s] as number, wantMax) && problems.length < 5)
              problems.push(`t=${t} s=${s} max ${max[s]} vs ${wantMax}`);
          }
        }
      }
      expect(problems).toEqual([]);
      dd.dispose();
    },
  );

  it('a strictly falling series keeps the rolling peak exactly window points back', () => {
    const dd = k.drawdownBank({ series: 1, window: 3 });
    for (const v of [100, 90, 80, 70, 60]) dd.update([v]);
    expect(dd.current()[0]).toBeCloseTo((80 - 60) / 80, 15);
    expect(dd.max()[0]).toBeCloseTo(0.4, 15);
  });

  it('cost does not grow with history: deque work never exceeds one pop per valid update', () => {
    const dd = k.drawdownBank({ series: 4, window: 50 });
    const walks = Array.from({ length: 4 }, (_, s) => randomWalk(200_000, 300 + s));
    const row = new Float64Array(4);
    for (let t = 0; t < 200_000; t++) {
      for (let s = 0; s < 4; s++) row[s] = (walks[s] as Float64Array)[t] as number;
      dd.update(row);
    }
    expect(dd.work).toBeGreaterThan(0);
    expect(dd.work).toBeLessThanOrEqual(4 * 200_000);
  });

  it('current() and max() are NaN before a series has a value', () => {
    const dd = k.drawdownBank({ series: 3, window: 0 });
    dd.update([100, Number.NaN, 50]);
    expect(Array.from(dd.current())).toEqual([0, Number.NaN, 0]);
    expect(Array.from(dd.max())).toEqual([0, Number.NaN, 0]);
  });
});
