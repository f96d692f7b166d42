import { beforeAll, describe, expect, it } from 'vitest';
import { isBulwarkError, loadKernels, type Kernels } from '../src/index.js';
import { windowBankBytes } from '../src/kernels/windows.js';
import { BUILDS } from './helpers/builds.js';
import { gaussian, rng } from './helpers/random.js';

/** Median and MAD of `values` by sorting copies (the textbook definition). */
function naive(values: readonly number[]): { median: number; mad: number; sorted: number[] } {
  const med = (v: readonly number[]): number => {
    const s = [...v].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  };
  const median = med(values);
  return { median, mad: med(values.map((v) => Math.abs(v - median))), sorted: [...values].sort((a, b) => a - b) };
}

/** A value from a mix that exercises ties, constant runs, outliers and infinities. */
function draw(next: () => number): number {
  const kind = Math.floor(next() * 6);
  if (kind === 0) return Math.floor(next() * 4); // small integers: many exact duplicates
  if (kind === 1) return 5; // a constant
  if (kind === 2) return 1e3 * gaussian(next); // far values
  if (kind === 3 && next() < 0.02) return next() < 0.5 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return gaussian(next);
}

describe.each(BUILDS)('window bank (%s build)', (build) => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels({ build });
  });

  it.each([1, 2, 3, 7, 32, 60])(
    'window %i: after every push, the sorted window, median and MAD equal a sort of the last values',
    (window) => {
      const slots = 3;
      const w = k.windowBank({ symbols: slots, window });
      const next = rng(700 + window);
      const history: number[][] = [[], [], []];
      for (let t = 0; t < 1_500; t++) {
        const slot = Math.floor(next() * slots);
        const v = draw(next);
        w.push(slot, v);
        (history[slot] as number[]).push(v);
        const last = (history[slot] as number[]).slice(-window);
        expect(w.count(slot)).toBe(last.length);
        const want = naive(last);
        expect(w.median(slot)).toBe(want.median);
        if (Number.isFinite(want.median)) expect(w.mad(slot, w.median(slot))).toBe(want.mad);
      }
      w.dispose();
    },
  );

  it('madLowerBound never exceeds the exact MAD, and is not vacuous at window 60', () => {
    const w = k.windowBank({ symbols: 2, window: 60 });
    const next = rng(31);
    let tight = 0;
    for (let t = 0; t < 6_000; t++) {
      const slot = t & 1;
      const v = next() < 0.9 ? gaussian(next) : Math.floor(next() * 3);
      w.push(slot, v);
      const exact = w.mad(slot, w.median(slot));
      const bound = w.madLowerBound(slot);
      expect(bound).toBeLessThanOrEqual(exact);
      if (bound > 0.25 * exact) tight++;
    }
    expect(tight).toBeGreaterThan(3_000);
    w.dispose();
  });

  it.each([
    [false, 'mixed'],
    [true, 'mixed'],
    [false, 'gaussian'],
    [true, 'gaussian'],
  ] as const)(
    'checkPush (upOnly %s, %s values): flags every row the exact score would fire on, pushes exactly the others',
    (upOnly, mix) => {
      const slots = 64;
      const window = mix === 'gaussian' ? 60 : 40; // 60 and 30 samples: the detector's defaults
      const w = k.windowBank({ symbols: slots, window });
      const history: number[][] = Array.from({ length: slots }, () => []);
      const next = rng(upOnly ? 5 : 6);
      const z = mix === 'gaussian' ? 8 : 3; // 8: the detector's default
      const floor = 1e-3;
      const minSamples = mix === 'gaussian' ? 30 : 10;
      let fired = 0;
      let flaggedTotal = 0;
      let rows = 0;
      for (let round = 0; round < 400; round++) {
        // A random subset of the slots, in random order, one row each.
        const chosen = Array.from({ length: slots }, (_, i) => i).filter(() => next() < 0.7);
        for (let i = chosen.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [chosen[i], chosen[j]] = [chosen[j] as number, chosen[i] as number];
        }
        const { values, slots: rowSlots } = w.input();
        // Mixed: outliers, and many ties (which make the MAD bound 0, so those rows cannot be ruled out).
        const xs = chosen.map(() =>
          mix === 'gaussian'
            ? next() < 0.01
              ? 10 * gaussian(next)
              : gaussian(next)
            : next() < 0.05
              ? 10 * gaussian(next)
              : next() < 0.3
                ? Math.floor(next() * 3)
                : gaussian(next),
        );
        chosen.forEach((slot, row) => {
          values[row] = xs[row] as number;
          rowSlots[row] = slot;
        });
        const flags = w.checkPush(chosen.length, minSamples, z, floor, upOnly);
        rows += chosen.length;
        let flagged = 0;
        chosen.forEach((slot, row) => {
          const x = xs[row] as number;
          const h = history[slot] as number[];
          const before = h.slice(-window);
          let fires = false;
          if (before.length >= minSamples) {
            const { median, mad } = naive(before);
            let scale = 1.4826 * mad;
            if (!(scale >= floor))
              scale = Math.max(1.2533 * (before.reduce((a, v) => a + Math.abs(v - median), 0) / before.length), floor);
            const dev = upOnly ? x - median : Math.abs(x - median);
            fires = dev >= z * scale;
          }
          if (fires) fired++;
          if (fires) expect(flags[row], `row ${row} slot ${slot} fires but was not flagged`).toBe(1);
          if (flags[row] === 1) {
            flagged++;
            // Not pushed yet: the window is as it was, so the exact score can be taken; then the caller pushes.
            expect(w.count(slot)).toBe(before.length);
            expect(w.median(slot)).toBe(naive(before).median);
            w.push(slot, x);
          }
          h.push(x);
          expect(w.median(slot)).toBe(naive(h.slice(-window)).median);
        });
        expect(w.flagged).toBe(flagged);
        flaggedTotal += flagged;
      }
      expect(fired).toBeGreaterThan(mix === 'gaussian' ? 20 : 50); // the property is not vacuous
      // On Gaussian data the bound rules out almost every row that does not fire.
      if (mix === 'gaussian')
        expect(flaggedTotal - fired, `flagged ${flaggedTotal}, fired ${fired} of ${rows}`).toBeLessThan(0.02 * rows);
      w.dispose();
    },
  );

  it('rejects a slot outside the bank and a NaN value with codes; memory is what windowBankBytes says', () => {
    const before = k.memoryBytes;
    const w = k.windowBank({ symbols: 4, window: 5 });
    expect(() => w.push(4, 1)).toThrow(expect.objectContaining({ code: 'INDEX_OUT_OF_RANGE' }));
    expect(() => w.push(-1, 1)).toThrow(expect.objectContaining({ code: 'INDEX_OUT_OF_RANGE' }));
    expect(() => w.push(0, Number.NaN)).toThrow(expect.objectContaining({ code: 'NAN_VALUE' }));
    const { values, slots } = w.input();
    values[0] = 1;
    slots[0] = 7;
    try {
      w.checkPush(1, 1, 1, 1, false);
      expect.unreachable();
    } catch (e) {
      expect(isBulwarkError(e, 'INDEX_OUT_OF_RANGE')).toBe(true);
    }
    expect(w.count(0)).toBe(0); // nothing was pushed
    expect(() => k.windowBank({ symbols: 0, window: 5 })).toThrow(expect.objectContaining({ code: 'INVALID_SIZE' }));
    expect(() => k.windowBank({ symbols: 1, window: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_WINDOW' }));
    expect(windowBankBytes(10_000, 60)).toBe(64 + 16 * 600_000 + 56 * 10_000);
    expect(k.memoryBytes - before).toBeLessThanOrEqual(Math.max(65_536, windowBankBytes(4, 5) + 65_536));
    w.dispose();
    expect(() => w.count(0)).toThrow(expect.objectContaining({ code: 'BANK_DISPOSED' }));
  });

  it('views follow memory growth: a bank made after another took its input views still scores correctly', () => {
    const a = k.windowBank({ symbols: 2, window: 8 });
    for (let i = 0; i < 8; i++) a.push(0, i);
    const stale = a.input();
    const big = k.windowBank({ symbols: 10_000, window: 60 }); // grows memory: old views detach
    const fresh = a.input();
    expect(stale.values.byteLength).toBe(0); // detached by the growth
    expect(fresh.values.length).toBe(2);
    fresh.values[0] = 100;
    fresh.slots[0] = 0;
    const flags = a.checkPush(1, 3, 3, 1e-9, false);
    expect(flags[0]).toBe(1);
    expect(a.median(0)).toBe(3.5);
    big.dispose();
    a.dispose();
  });
});
