import { beforeAll, describe, expect, it } from 'vitest';
import { AnomalyDetector, type AnomalyEvent, type VolatilityRegimeEvent } from '../../src/anomaly/index.js';
import { loadKernels, type Kernels } from '../../src/index.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { MINUTE, T0, noiseSeries } from './bars.js';

/** calm → burst → calm → burst, one symbol. */
function regimes(): Bar[] {
  const parts: [number, number, number][] = [
    [300, 0.001, 0.0005],
    [100, 0.01, 0.005],
    [600, 0.001, 0.0005],
    [100, 0.01, 0.005],
  ];
  const bars: Bar[] = [];
  let start = 100;
  parts.forEach(([n, sigma, spread], p) => {
    const from = T0 + bars.length * MINUTE;
    const seg = noiseSeries('VIX', { bars: n, seed: 30 + p, sigma, spread, start, from });
    bars.push(...seg);
    start = (seg[seg.length - 1] as Bar).close;
  });
  return bars;
}

describe('VOLATILITY_REGIME', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels();
  });

  it('fires once per crossing of ATR(14)/ATR(100) above 2, re-arming below 1.5, with the kernel ratio as input', () => {
    const bars = regimes();
    // PRICE_SPIKE without QUARANTINE: every bar reaches the ATR, as in the batch reference
    const d = new AnomalyDetector(k, { maxSymbols: 1, actions: { PRICE_SPIKE: [] } });
    const events: AnomalyEvent[] = [];
    for (const b of bars) events.push(...d.observe([b]));
    const regime = events.filter((e): e is VolatilityRegimeEvent => e.type === 'VOLATILITY_REGIME');

    // Independent reference: batch ATR over the same bars, hysteresis applied here.
    const high = Float64Array.from(bars, (b) => b.high);
    const low = Float64Array.from(bars, (b) => b.low);
    const close = Float64Array.from(bars, (b) => b.close);
    const short = k.atr(high, low, close, 14);
    const long = k.atr(high, low, close, 100);
    const ratio = (t: number) => (short[t] as number) / (long[t] as number);
    const crossings: number[] = [];
    let elevated = false;
    let barsAbove = 0;
    for (let t = 99; t < bars.length; t++) {
      if (ratio(t) >= 2) barsAbove++;
      if (elevated && ratio(t) < 1.5) elevated = false;
      else if (!elevated && ratio(t) >= 2) {
        elevated = true;
        crossings.push(t);
      }
    }
    expect(crossings).toHaveLength(2);
    expect(crossings[0]).toBeGreaterThanOrEqual(300);
    expect(crossings[0]).toBeLessThan(400);
    expect(crossings[1]).toBeGreaterThanOrEqual(1000);
    expect(barsAbove).toBeGreaterThan(20); // a level trigger would have fired on each of these

    expect(regime).toHaveLength(2);
    regime.forEach((e, i) => {
      const t = crossings[i] as number;
      expect(e.timestamp).toBe((bars[t] as Bar).timestamp);
      expect(e.symbols).toEqual(['VIX']);
      expect(e.severity).toBe('WARNING');
      expect(e.actions).toEqual(['TIGHTEN_STOPS']);
      expect(e.inputs.ratio).toBeCloseTo(ratio(t), 9);
      expect(e.inputs.atrShort).toBeCloseTo(short[t] as number, 12);
      expect(e.inputs.atrLong).toBeCloseTo(long[t] as number, 12);
      expect(e.inputs).toMatchObject({ threshold: 2, rearm: 1.5, shortPeriod: 14, longPeriod: 100 });
    });
  });

  it('nothing fires before ATR(long) is seeded, nor for a symbol with no range at all', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2, actions: { PRICE_SPIKE: [] } });
    const burst = noiseSeries('NEW', { bars: 99, seed: 40, sigma: 0.05, spread: 0.05 });
    const events: AnomalyEvent[] = [];
    for (const b of burst) events.push(...d.observe([b]));
    for (let t = 0; t < 200; t++) {
      events.push(
        ...d.observe([{ symbol: 'PEG', timestamp: T0 + t * MINUTE, open: 1, high: 1, low: 1, close: 1, volume: 10 }]),
      );
    }
    expect(events.filter((e) => e.type === 'VOLATILITY_REGIME')).toEqual([]);
  });
});
