import { describe, expect, it } from 'vitest';
import { loadKernels } from '../src/index.js';
import { close } from './helpers/builds.js';
import { naivePearson } from './helpers/naive.js';
import { gaussian, rng } from './helpers/random.js';

describe('rolling-sum drift', () => {
  it('after 10^7 updates the correlation still matches a fresh computation over the window to 1e-9', async () => {
    const k = await loadKernels();
    const symbols = 3;
    const window = 64;
    const bank = k.correlationBank({ symbols, window });
    const next = rng(2024);
    const ring: Float64Array[] = Array.from({ length: window }, () => new Float64Array(symbols));
    const row = new Float64Array(symbols);
    const updates = 10_000_000;
    for (let t = 0; t < updates; t++) {
      // Returns with a large mean relative to their spread (the worst case for sum-based
      // variance), a shared factor, and regime changes in scale every 10^6 bars.
      const scale = 10 ** ((Math.floor(t / 1_000_000) % 4) - 2);
      const f = gaussian(next);
      for (let s = 0; s < symbols; s++) row[s] = scale * (5 + 0.2 * f * (s + 1) + 0.1 * gaussian(next));
      bank.update(row);
      (ring[t % window] as Float64Array).set(row);
    }
    expect(bank.rejected).toBe(0);
    for (let i = 0; i < symbols; i++) {
      for (let j = i + 1; j < symbols; j++) {
        const want = naivePearson(
          ring.map((r) => r[i] as number),
          ring.map((r) => r[j] as number),
        );
        expect(close(bank.get(i, j), want), `(${i},${j}) ${bank.get(i, j)} vs ${want}`).toBe(true);
      }
    }
  });
});
