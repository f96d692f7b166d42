import { describe, expect, it } from 'vitest';
import { AnomalyDetector } from '../../src/anomaly/index.js';
import { loadKernels } from '../../src/index.js';
import { windowBankBytes } from '../../src/kernels/windows.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { gaussian, rng } from '../helpers/random.js';
import { MINUTE, T0 } from './bars.js';

describe('anomaly detector memory', () => {
  it('1 000 symbols × 2 000 bars: the same typed arrays, the same sizes, the same WASM memory', async () => {
    const k = await loadKernels();
    const S = 1_000;
    const d = new AnomalyDetector(k, { maxSymbols: S });
    const symbols = Array.from({ length: S }, (_, i) => `SYM${i}`);
    const price = new Float64Array(S).fill(100);
    const next = rng(80);
    const slice = (t: number): Bar[] =>
      symbols.map((symbol, i) => {
        const open = price[i] as number;
        const close = open * Math.exp(0.01 * gaussian(next));
        price[i] = close;
        const high = Math.max(open, close) * 1.001;
        const low = Math.min(open, close) * 0.999;
        return { symbol, timestamp: T0 + t * MINUTE, open, high, low, close, volume: 1_000 + 100 * next() };
      });

    const arrays = d.stateArrays();
    const sizes = arrays.map((a) => a.byteLength);
    const bytes = d.stateBytes;
    d.observe(slice(0)); // the kernels' banks are allocated at construction; this round touches them
    const wasm = k.memoryBytes;

    let events = 0;
    for (let t = 1; t < 2_000; t++) events += d.observe(slice(t)).length;

    expect(d.symbolCount).toBe(S);
    const after = d.stateArrays();
    expect(after).toHaveLength(arrays.length);
    after.forEach((a, i) => {
      expect(a).toBe(arrays[i]); // the very same objects: nothing was reallocated or grown
      expect(a.byteLength).toBe(sizes[i]);
    });
    expect(d.stateBytes).toBe(bytes);
    expect(k.memoryBytes).toBe(wasm);
    // fixed by config: 157 bytes per symbol, plus the watch-list's return row and its reported flags; the two spike
    // window banks (16·window + 56 bytes per symbol each) are WASM memory, checked just above
    expect(bytes).toBe(S * 157 + 9 * 50);
    expect(wasm).toBeGreaterThan(2 * windowBankBytes(S, 60));
    expect(events).toBeLessThan(10); // Gaussian noise: essentially quiet
  });
});
