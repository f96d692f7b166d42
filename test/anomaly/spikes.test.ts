import { beforeAll, describe, expect, it } from 'vitest';
import {
  AnomalyDetector,
  type AnomalyEvent,
  type PriceSpikeEvent,
  type VolumeSpikeEvent,
} from '../../src/anomaly/index.js';
import { loadKernels, type Kernels } from '../../src/index.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { gaussian, rng } from '../helpers/random.js';
import { MINUTE, T0, bar, naiveRobust, noiseSeries } from './bars.js';

function feed(d: AnomalyDetector, bars: readonly Bar[]): AnomalyEvent[] {
  const events: AnomalyEvent[] = [];
  for (const b of bars) events.push(...d.observe([b]));
  return events;
}

function finiteInputs(e: AnomalyEvent): boolean {
  return Object.values(e.inputs).every((v) => Number.isFinite(v));
}

describe('PRICE_SPIKE and VOLUME_SPIKE', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels();
  });

  it('a price spike fires PRICE_SPIKE with the robust z of its log return and the inputs it used', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 4, badTickZ: 1e5 });
    const history = noiseSeries('AAA', { bars: 120, seed: 1 });
    expect(feed(d, history)).toEqual([]);
    const last = history[history.length - 1] as Bar;
    const spike = bar('AAA', last.timestamp + MINUTE, last.close * Math.exp(0.02), last.close);
    const events = d.observe([spike]);
    expect(events).toHaveLength(1);
    const e = events[0] as PriceSpikeEvent;

    const returns = history.slice(1).map((b, i) => Math.log(b.close / (history[i] as Bar).close));
    const want = naiveRobust(returns.slice(-60));
    const r = Math.log(spike.close / last.close);
    expect(e.type).toBe('PRICE_SPIKE');
    expect(e.severity).toBe('WARNING');
    expect(e.symbols).toEqual(['AAA']);
    expect(e.timestamp).toBe(spike.timestamp);
    expect(e.actions).toEqual([]); // QUARANTINE is configured, but this spike is under badTickZ
    expect(e.inputs.value).toBe(r);
    expect(e.inputs.median).toBe(want.median);
    expect(e.inputs.mad).toBe(want.mad);
    expect(e.inputs.scale).toBeCloseTo(want.scale, 15);
    expect(e.inputs.z).toBeCloseTo((r - want.median) / want.scale, 9);
    expect(e.inputs.z).toBeGreaterThan(8);
    expect(e.inputs).toMatchObject({
      threshold: 8,
      samples: 60,
      close: spike.close,
      previousClose: last.close,
      badTickThreshold: 1e5,
    });
    expect(d.isQuarantined('AAA')).toBe(false);
  });

  it('a downward spike fires too (|z|), with a negative z', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1, badTickZ: 1e5 });
    const history = noiseSeries('DN', { bars: 80, seed: 2 });
    feed(d, history);
    const last = history[history.length - 1] as Bar;
    const [e] = d.observe([bar('DN', last.timestamp + MINUTE, last.close * Math.exp(-0.03), last.close)]);
    expect(e?.type).toBe('PRICE_SPIKE');
    expect((e as PriceSpikeEvent).inputs.z).toBeLessThan(-8);
  });

  it('no spike fires before minSamples returns are in the window', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1, minSamples: 30 });
    const history = noiseSeries('NEW', { bars: 30, seed: 3 }); // 29 returns, 30 volumes
    feed(d, history);
    const last = history[history.length - 1] as Bar;
    expect(d.observe([bar('NEW', last.timestamp + MINUTE, last.close * 1.5, last.close, 0.001, last.volume)])).toEqual(
      [],
    );
    const again = bar('NEW', last.timestamp + 2 * MINUTE, last.close * 3, last.close * 1.5, 0.001, last.volume);
    expect(d.observe([again]).map((e) => e.type)).toEqual(['PRICE_SPIKE']); // 30 returns now
  });

  it('a volume spike fires VOLUME_SPIKE (INFO) with the robust z of log(1 + volume)', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1 });
    const history = noiseSeries('VOL', { bars: 100, seed: 4, volumeSigma: 0.2 });
    expect(feed(d, history)).toEqual([]);
    const last = history[history.length - 1] as Bar;
    const spike = bar('VOL', last.timestamp + MINUTE, last.close, last.close, 0.001, 100 * last.volume);
    const events = d.observe([spike]);
    expect(events.map((e) => e.type)).toEqual(['VOLUME_SPIKE']);
    const e = events[0] as VolumeSpikeEvent;
    const want = naiveRobust(history.slice(-60).map((b) => Math.log1p(b.volume)));
    expect(e.severity).toBe('INFO');
    expect(e.inputs.volume).toBe(spike.volume);
    expect(e.inputs.value).toBe(Math.log1p(spike.volume));
    expect(e.inputs.median).toBe(want.median);
    expect(e.inputs.mad).toBe(want.mad);
    expect(e.inputs.z).toBeCloseTo((Math.log1p(spike.volume) - want.median) / want.scale, 9);
    expect(e.inputs.z).toBeGreaterThanOrEqual(8);
  });

  it('a volume drop is not a spike, and a feed without volumes (median 0) is never scored', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2 });
    const history = noiseSeries('VOL', { bars: 80, seed: 5 });
    feed(d, history);
    const last = history[history.length - 1] as Bar;
    expect(d.observe([bar('VOL', last.timestamp + MINUTE, last.close, last.close, 0.001, 0)])).toEqual([]);
    const fx = Array.from({ length: 80 }, (_, t) => bar('FX', T0 + t * MINUTE, 1.1, 1.1, 0.0001, 0));
    expect(feed(d, fx)).toEqual([]);
    expect(d.observe([bar('FX', T0 + 80 * MINUTE, 1.1, 1.1, 0.0001, 5_000)])).toEqual([]);
  });

  it('MAD = 0 (constant prices): no events while flat, then a finite z (scale = floor), never Infinity or NaN', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1 });
    const flat = Array.from({ length: 80 }, (_, t) => bar('FLAT', T0 + t * MINUTE, 100));
    expect(feed(d, flat)).toEqual([]);
    const [e, ...rest] = d.observe([bar('FLAT', T0 + 80 * MINUTE, 105, 100)]);
    expect(rest).toEqual([]);
    const spike = e as PriceSpikeEvent;
    expect(spike.type).toBe('PRICE_SPIKE');
    expect(spike.inputs.mad).toBe(0);
    expect(spike.inputs.scale).toBe(1e-4);
    expect(spike.inputs.z).toBeCloseTo(Math.log(1.05) / 1e-4, 6);
    expect(finiteInputs(spike)).toBe(true);
  });

  it('a quiet instrument whose price mostly does not move is not flagged on each one-tick move', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1 });
    const next = rng(6);
    let price = 10;
    const events: AnomalyEvent[] = [];
    for (let t = 0; t < 2_000; t++) {
      const u = next();
      const open = price;
      if (u < 0.15)
        price = Math.round((price + 0.01) * 100) / 100; // 10 bp ticks, 70% of bars unchanged
      else if (u < 0.3) price = Math.round((price - 0.01) * 100) / 100;
      events.push(...d.observe([bar('ILLQ', T0 + t * MINUTE, price, open, 0.0005)]));
    }
    expect(events.filter((e) => e.type === 'PRICE_SPIKE')).toEqual([]);
  });

  it('normal noise fires nothing: 20 symbols × 5 000 bars at the default thresholds', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 20 });
    const symbols = Array.from({ length: 20 }, (_, i) => `N${i}`);
    const next = rng(2024);
    const price = new Float64Array(20).fill(100);
    const events: AnomalyEvent[] = [];
    let checked = 0;
    for (let t = 0; t < 5_000; t++) {
      const slice: Bar[] = [];
      for (let i = 0; i < 20; i++) {
        const open = price[i] as number;
        const close = open * Math.exp(0.01 * gaussian(next));
        price[i] = close;
        const volume = 1_000 * Math.exp(0.3 * gaussian(next));
        slice.push(bar(symbols[i] as string, T0 + t * MINUTE, close, open, 0.002 * next(), volume));
        checked++;
      }
      events.push(...d.observe(slice));
    }
    expect(checked).toBe(100_000);
    expect(events).toEqual([]);
  });
});
