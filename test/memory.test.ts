import { describe, expect, it } from 'vitest';
import { loadKernels } from '../src/index.js';
import { BUILDS } from './helpers/builds.js';
import { rng } from './helpers/random.js';

describe.each(BUILDS)('memory (%s build)', (build) => {
  it('no bank grows WASM memory across 10^6 updates', async () => {
    const k = await loadKernels({ build });
    const atr = k.atrBank({ symbols: 8, period: 14 });
    const dd = k.drawdownBank({ series: 8, window: 100 });
    const ddRun = k.drawdownBank({ series: 8, window: 0 });
    const corr = k.correlationBank({ symbols: 8, window: 32, recomputeEvery: 1000 });
    const before = k.memoryBytes;
    const next = rng(1);
    const h = new Float64Array(8);
    const l = new Float64Array(8);
    const c = new Float64Array(8);
    const r = new Float64Array(8);
    for (let t = 0; t < 1_000_000; t++) {
      for (let s = 0; s < 8; s++) {
        l[s] = 100 + next();
        h[s] = (l[s] as number) + next();
        c[s] = ((h[s] as number) + (l[s] as number)) / 2;
        r[s] = next() - 0.5;
      }
      atr.update(h, l, c);
      dd.update(c);
      ddRun.update(c);
      corr.update(r);
    }
    expect(k.memoryBytes).toBe(before);
    expect(Number.isFinite(atr.values()[0])).toBe(true);
    expect(corr.filled).toBe(32);
  });

  it('disposed banks return their memory: 2 000 create/dispose cycles do not grow it', async () => {
    const k = await loadKernels({ build });
    const cycle = () => {
      const banks = [
        k.correlationBank({ symbols: 100, window: 64 }),
        k.atrBank({ symbols: 1_000, period: 14 }),
        k.drawdownBank({ series: 100, window: 500 }),
      ];
      for (const b of banks) b.dispose();
    };
    cycle(); // the first cycle sizes memory; every later one must reuse it
    const before = k.memoryBytes;
    for (let i = 0; i < 2_000; i++) cycle();
    expect(k.memoryBytes).toBe(before);
  });

  it('batch kernels stream in fixed chunks: 10^6 bars need no more memory than 10^3', async () => {
    const k = await loadKernels({ build });
    const small = new Float64Array(1_000).fill(100);
    k.atr(small, small, small, 14);
    k.maxDrawdown(small);
    const before = k.memoryBytes;
    const big = new Float64Array(1_000_000).fill(100);
    k.atr(big, big, big, 14);
    k.maxDrawdown(big);
    expect(k.memoryBytes).toBe(before);
  });

  it('views stay valid when another bank grows memory', async () => {
    const k = await loadKernels({ build });
    const atr = k.atrBank({ symbols: 2, period: 2 });
    atr.update([2, 4], [1, 2], [1.5, 3]);
    const before = k.memoryBytes;
    const big = k.correlationBank({ symbols: 1_000, window: 16 });
    expect(k.memoryBytes).toBeGreaterThan(before);
    atr.update([2, 4], [1, 2], [1.5, 3]);
    expect(Array.from(atr.values())).toEqual([1, 2]);
    big.dispose();
  });
});
