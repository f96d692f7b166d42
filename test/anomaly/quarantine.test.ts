import { beforeAll, describe, expect, it } from 'vitest';
import {
  AnomalyDetector,
  type AnomalyEvent,
  type BadTickEvent,
  type PriceSpikeEvent,
} from '../../src/anomaly/index.js';
import { loadKernels, type Kernels } from '../../src/index.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { MINUTE, bar, noiseSeries } from './bars.js';

function feed(d: AnomalyDetector, bars: readonly Bar[]): AnomalyEvent[] {
  const events: AnomalyEvent[] = [];
  for (const b of bars) events.push(...d.observe([b]));
  return events;
}

describe('bad-tick quarantine', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels();
  });

  // 150 quiet bars (σ 0.1%): enough to seed ATR(100), so a bad tick reaching the ATR kernels
  // would show as a VOLATILITY_REGIME event.
  const history = noiseSeries('BT', { bars: 150, seed: 11 });
  const last = history[history.length - 1] as Bar;
  const t = (i: number) => last.timestamp + i * MINUTE;
  const spike = bar('BT', t(1), last.close * 1.1, last.close);

  it('spike then revert: PRICE_SPIKE (CRITICAL, QUARANTINE), quarantined for one bar, then BAD_TICK and lifted', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2 });
    expect(feed(d, history)).toEqual([]);
    expect(d.isQuarantined('BT')).toBe(false);

    const [e, ...more] = d.observe([spike]);
    expect(more).toEqual([]); // in particular no VOLATILITY_REGIME: the held bar is not in the ATR
    const s = e as PriceSpikeEvent;
    expect(s.type).toBe('PRICE_SPIKE');
    expect(s.severity).toBe('CRITICAL');
    expect(s.actions).toEqual(['QUARANTINE']);
    expect(s.inputs.z).toBeGreaterThanOrEqual(12);
    expect(d.isQuarantined('BT')).toBe(true);

    const revert = bar('BT', t(2), last.close * 1.0005, last.close);
    const events = d.observe([revert]);
    expect(events.map((x) => x.type)).toEqual(['BAD_TICK']); // the revert itself is not a spike
    const b = events[0] as BadTickEvent;
    expect(b.reason).toBe('REVERTED');
    expect(b.symbols).toEqual(['BT']);
    expect(b.timestamp).toBe(spike.timestamp); // the spike bar is the bad one
    expect(b.inputs['spikeClose']).toBe(spike.close);
    expect(b.inputs['previousClose']).toBe(last.close);
    expect(b.inputs['close']).toBe(revert.close);
    expect(b.inputs['retrace']).toBeCloseTo(1 - Math.log(1.0005) / Math.log(1.1), 12);
    expect(b.inputs['z']).toBe(s.inputs.z);
    expect(d.isQuarantined('BT')).toBe(false);
  });

  it('a reverted bad tick leaves no trace: afterwards a twin that never saw it reports the same events', () => {
    const withTick = new AnomalyDetector(k, { maxSymbols: 1 });
    const twin = new AnomalyDetector(k, { maxSymbols: 1 });
    feed(withTick, history);
    feed(twin, history);
    withTick.observe([spike]);
    const after = noiseSeries('BT', { bars: 200, seed: 12, start: last.close, from: t(2), sigma: 0.001 });
    // then a real volatility burst, so both must agree on regime (ATR) and price windows
    const burst = noiseSeries('BT', {
      bars: 60,
      seed: 13,
      start: (after[199] as Bar).close,
      from: t(202),
      sigma: 0.02,
      spread: 0.01,
    });
    const a = feed(withTick, [...after, ...burst]);
    const b = feed(twin, [...after, ...burst]);
    expect(a[0]?.type).toBe('BAD_TICK');
    expect(a.slice(1)).toEqual(b);
    expect(b.some((e) => e.type === 'VOLATILITY_REGIME')).toBe(true);
    expect(b.some((e) => e.type === 'PRICE_SPIKE')).toBe(true);
  });

  it('spike then confirm: no BAD_TICK, quarantine lifted, and the held bar reaches the ATR (regime fires)', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1 });
    feed(d, history);
    expect(d.observe([spike]).map((e) => e.type)).toEqual(['PRICE_SPIKE']);
    expect(d.isQuarantined('BT')).toBe(true);
    const confirm = bar('BT', t(2), spike.close * 0.999, spike.close);
    const events = d.observe([confirm]);
    expect(events.map((e) => e.type)).toEqual(['VOLATILITY_REGIME']);
    expect(d.isQuarantined('BT')).toBe(false);
    // the move is now the reference: a bar at the new level is quiet
    expect(d.observe([bar('BT', t(3), spike.close, confirm.close)])).toEqual([]);
  });

  it('a partial revert: under revertFraction confirms the spike, at or over it makes it a BAD_TICK', () => {
    // Either way the partial move is itself a ±4% bar against a 0.1% window, so it is a new
    // spike, measured from the confirmed spike close or from the pre-spike close respectively.
    for (const [kept, want] of [
      [0.6, ['PRICE_SPIKE']],
      [0.4, ['BAD_TICK', 'PRICE_SPIKE']],
    ] as const) {
      const d = new AnomalyDetector(k, { maxSymbols: 1, revertFraction: 0.5 });
      feed(d, history);
      d.observe([spike]);
      const close = last.close * Math.exp(kept * Math.log(1.1)); // keeps `kept` of the log move
      const events = d.observe([bar('BT', t(2), close, close)]);
      expect(events.map((e) => e.type)).toEqual(want);
      const partial = events[events.length - 1] as PriceSpikeEvent;
      expect(partial.inputs.previousClose).toBe(kept === 0.6 ? spike.close : last.close);
      expect(Math.abs(partial.inputs.value)).toBeCloseTo(0.4 * Math.log(1.1), 12);
    }
  });

  it('without QUARANTINE in PRICE_SPIKE actions, a huge spike is only reported', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1, actions: { PRICE_SPIKE: ['TIGHTEN_STOPS'] } });
    feed(d, history);
    const [e] = d.observe([spike]);
    expect(e?.type).toBe('PRICE_SPIKE');
    expect(e?.actions).toEqual(['TIGHTEN_STOPS']);
    expect(e?.severity).toBe('WARNING');
    expect(d.isQuarantined('BT')).toBe(false);
  });

  it('quarantine is per symbol: another symbol in the same slice is unaffected', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2 });
    const other = noiseSeries('OK', { bars: 150, seed: 14 });
    for (let i = 0; i < 150; i++) d.observe([history[i] as Bar, other[i] as Bar]);
    const o = other[149] as Bar;
    d.observe([spike, bar('OK', t(1), o.close * 1.0002, o.close)]);
    expect(d.isQuarantined('BT')).toBe(true);
    expect(d.isQuarantined('OK')).toBe(false);
    expect(d.isQuarantined('UNKNOWN')).toBe(false);
  });
});
