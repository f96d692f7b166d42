import { beforeAll, describe, expect, it } from 'vitest';
import { AnomalyDetector, type AnomalyEvent } from '../../src/anomaly/index.js';
import { type BulwarkError, isBulwarkError, loadKernels, type Kernels } from '../../src/index.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { MINUTE, T0, bar, noiseSeries } from './bars.js';

describe('AnomalyDetector', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels();
  });

  it('refuses a new symbol beyond maxSymbols (counted, skipped) and keeps serving the others', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 3 });
    d.observe([bar('A', T0, 1), bar('B', T0, 2), bar('C', T0, 3), bar('D', T0, 4)]);
    expect(d.symbolCount).toBe(3);
    expect(d.refusedBars).toBe(1);
    expect(d.hasSymbol('C')).toBe(true);
    expect(d.hasSymbol('D')).toBe(false);
    expect(d.isQuarantined('D')).toBe(false);
    d.observe([bar('D', T0 + MINUTE, 4), bar('E', T0 + MINUTE, 5), bar('A', T0 + MINUTE, 1)]);
    expect(d.symbolCount).toBe(3);
    expect(d.refusedBars).toBe(3);
    expect(d.checkStale(T0 + 10 * MINUTE).map((e) => e.symbols[0])).toEqual(['A', 'B', 'C']);
  });

  it('a symbol repeated in one slice is processed in later rounds, as if the bars came one call each', () => {
    const history = noiseSeries('R', { bars: 80, seed: 70 });
    const last = history[79] as Bar;
    const spike = bar('R', last.timestamp + MINUTE, last.close * 1.05, last.close);
    const together = new AnomalyDetector(k, { maxSymbols: 2, badTickZ: 1e5 });
    const apart = new AnomalyDetector(k, { maxSymbols: 2, badTickZ: 1e5 });
    const a: AnomalyEvent[] = [];
    const b: AnomalyEvent[] = [];
    for (let t = 0; t < 80; t += 4) {
      a.push(...together.observe(history.slice(t, t + 4))); // four bars of R per call
      for (const x of history.slice(t, t + 4)) b.push(...apart.observe([x]));
    }
    const other = bar('S', last.timestamp, 10);
    a.push(...together.observe([other, spike, bar('S', spike.timestamp, 10)]));
    b.push(...apart.observe([other]), ...apart.observe([spike, bar('S', spike.timestamp, 10)]));
    expect(a.map((e) => e.type)).toEqual(['PRICE_SPIKE']);
    expect(a).toEqual(b);
  });

  it('checks the config against the kernels’ limits and lists every problem', async () => {
    const small = await loadKernels({ limits: { maxSymbols: 100, maxCorrelationSymbols: 10, maxPeriod: 50 } });
    try {
      new AnomalyDetector(small, { maxSymbols: 200, correlationSymbols: 20 });
      expect.unreachable();
    } catch (e) {
      expect(isBulwarkError(e, 'INVALID_OPTION')).toBe(true);
      expect((e as BulwarkError).details['problems']).toEqual([
        "maxSymbols (200) exceeds the kernels' maxSymbols 100",
        "correlationSymbols (20) exceeds the kernels' maxCorrelationSymbols 10",
        "atrLongPeriod (100) exceeds the kernels' maxPeriod 50",
      ]);
    }
    expect(() => new AnomalyDetector(k, { priceZ: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('dispose returns the kernel banks (memory reused) and later calls throw BANK_DISPOSED', async () => {
    const k2 = await loadKernels();
    new AnomalyDetector(k2, { maxSymbols: 2_000 }).dispose(); // sizes WASM memory once
    const before = k2.memoryBytes;
    for (let i = 0; i < 50; i++) {
      const d = new AnomalyDetector(k2, { maxSymbols: 2_000 });
      d.observe([bar('A', T0, 1)]);
      d.dispose();
      d.dispose(); // idempotent
      expect(d.disposed).toBe(true);
      expect(() => d.observe([bar('A', T0 + 1, 1)])).toThrow(expect.objectContaining({ code: 'BANK_DISPOSED' }));
      expect(() => d.checkStale(T0)).toThrow(expect.objectContaining({ code: 'BANK_DISPOSED' }));
    }
    expect(k2.memoryBytes).toBe(before);
  });

  it('skips and counts bars that are not valid (NaN, inconsistent OHLC) instead of corrupting state', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2, badTickZ: 1e5 });
    const history = noiseSeries('V', { bars: 80, seed: 71 });
    const last = history[79] as Bar;
    const bad: Bar[] = [
      { ...last, timestamp: last.timestamp + 1, close: Number.NaN },
      { ...last, timestamp: last.timestamp + 2, high: last.low / 2 },
      { ...last, timestamp: last.timestamp + 3, volume: -1 },
      { ...last, timestamp: last.timestamp + 4, low: 0, close: 0 },
    ];
    const events: AnomalyEvent[] = [];
    history.forEach((b, t) => {
      events.push(...d.observe(t === 40 ? [b, ...bad] : [b]));
    });
    expect(events).toEqual([]);
    expect(d.invalidBars).toBe(4);
    // the window is intact: a real spike still scores normally
    const [e] = d.observe([bar('V', last.timestamp + MINUTE, last.close * 1.05, last.close)]);
    expect(e?.type === 'PRICE_SPIKE' && Number.isFinite(e.inputs.z)).toBe(true);
  });

  it('an empty slice returns a frozen empty list and changes nothing', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1 });
    const events = d.observe([]);
    expect(events).toEqual([]);
    expect(Object.isFrozen(events)).toBe(true);
    expect(d.symbolCount).toBe(0);
  });
});
