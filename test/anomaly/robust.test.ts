import { beforeAll, describe, expect, it } from 'vitest';
import { RobustScorer } from '../../src/anomaly/index.js';
import { loadKernels, type Kernels } from '../../src/kernels/load.js';
import type { WindowBank } from '../../src/kernels/windows.js';
import { gaussian, rng } from '../helpers/random.js';
import { naiveMedian, naiveRobust } from './bars.js';

let kernels: Kernels;
beforeAll(async () => {
  kernels = await loadKernels();
});
const bank = (symbols: number, window: number): WindowBank => kernels.windowBank({ symbols, window });

describe('robust statistics', () => {
  it.each([4, 17, 30, 60])(
    'madLowerBound (window %i) never exceeds the exact MAD, after any number of pushes',
    (window) => {
      const slots = 4;
      const w = bank(slots, window);
      const next = rng(900 + window);
      let tight = 0;
      for (let t = 0; t < 6_000; t++) {
        const slot = Math.floor(next() * slots);
        const kind = Math.floor(next() * 4);
        // Gaussian noise, heavy ties, a constant stretch, and occasional jumps in level.
        const v =
          kind === 0 ? gaussian(next) : kind === 1 ? Math.floor(next() * 3) : kind === 2 ? 5 : 100 * gaussian(next);
        w.push(slot, v);
        const bound = w.madLowerBound(slot);
        const exact = w.mad(slot, w.median(slot));
        expect(bound).toBeLessThanOrEqual(exact);
        if (bound > 0.25 * exact) tight++;
      }
      if (window === 60) expect(tight).toBeGreaterThan(1_000); // and at the default window it is not vacuous
    },
  );

  it.each([1, 2, 3, 7, 60])(
    'WindowBank (window %i): median and MAD equal a sort of the last window values after every push',
    (window) => {
      const w = bank(3, window);
      const next = rng(100 + window);
      const history: number[][] = [[], [], []];
      for (let t = 0; t < 400; t++) {
        const slot = Math.floor(next() * 3);
        // small integers give many duplicates (eviction must find the right copy), Gaussians none
        const v = t % 2 === 0 ? Math.floor(next() * 5) : gaussian(next);
        w.push(slot, v);
        (history[slot] as number[]).push(v);
        for (let s = 0; s < 3; s++) {
          const last = (history[s] as number[]).slice(-window);
          expect(w.count(s)).toBe(last.length);
          if (last.length === 0) {
            expect(w.median(s)).toBeNaN();
            continue;
          }
          const want = naiveRobust(last);
          expect(w.median(s)).toBe(want.median);
          expect(w.mad(s, w.median(s))).toBe(want.mad);
          const meanAd = last.reduce((a, x) => a + Math.abs(x - want.median), 0) / last.length;
          expect(w.meanAbsDev(s, w.median(s))).toBeCloseTo(meanAd, 12);
        }
      }
    },
  );

  it('RobustScorer: median, MAD and 1.4826·MAD of the window match a sort-based reference', () => {
    const windows = bank(2, 60);
    const scorer = new RobustScorer();
    const next = rng(9);
    const all: number[] = [];
    for (let t = 0; t < 200; t++) {
      const v = gaussian(next);
      windows.push(1, v);
      all.push(v);
      const want = naiveRobust(all.slice(-60));
      expect(scorer.fit(windows, 1, 1e-12)).toBe(Math.min(t + 1, 60));
      expect(scorer.median).toBe(want.median);
      expect(scorer.mad).toBe(want.mad);
      if (t > 0) {
        expect(scorer.scale).toBe(want.scale);
        expect(scorer.z(3)).toBe((3 - want.median) / want.scale);
      } else {
        expect(scorer.scale).toBe(1e-12); // one value: MAD 0, so the floor
      }
    }
    expect(scorer.fit(windows, 0, 1e-4)).toBe(0); // the other slot is untouched
    expect(scorer.median).toBeNaN();
    expect(naiveMedian([3, 1, 2])).toBe(2);
  });

  it('MAD = 0: falls back to 1.2533·mean absolute deviation, never below the floor', () => {
    const windows = bank(1, 10);
    const scorer = new RobustScorer();
    for (const v of [0, 0, 0, 0, 0, 0, 0, 1, -1, 2]) windows.push(0, v);
    scorer.fit(windows, 0, 1e-4);
    expect(scorer.mad).toBe(0);
    expect(scorer.scale).toBeCloseTo(1.2533 * (4 / 10), 12);

    const flat = bank(1, 10);
    for (let i = 0; i < 10; i++) flat.push(0, 5);
    scorer.fit(flat, 0, 1e-4);
    expect(scorer.scale).toBe(1e-4);
    expect(scorer.z(5.001)).toBeCloseTo(10, 9);
    expect(Number.isFinite(scorer.z(6))).toBe(true);
  });
});
