import { beforeAll, describe, expect, it } from 'vitest';
import { AnomalyDetector, anomalyEvent, type AnomalyEvent, type StaleFeedEvent } from '../../src/anomaly/index.js';
import { loadKernels, type Kernels } from '../../src/index.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { MINUTE, bar, noiseSeries } from './bars.js';

/** Two symbols spiking in the same slice: two PRICE_SPIKE events from one call. */
function twoSpikes(d: AnomalyDetector): readonly AnomalyEvent[] {
  const a = noiseSeries('A', { bars: 80, seed: 60 });
  const b = noiseSeries('B', { bars: 80, seed: 61 });
  for (let t = 0; t < 80; t++) d.observe([a[t] as Bar, b[t] as Bar]);
  const la = a[79] as Bar;
  const lb = b[79] as Bar;
  return d.observe([
    bar('A', la.timestamp + MINUTE, la.close * 1.2, la.close),
    bar('B', lb.timestamp + MINUTE, lb.close * 1.2, lb.close),
  ]);
}

describe('anomaly events', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels();
  });

  it('are frozen all the way down, and mutation attempts throw in strict mode', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2 });
    const events = twoSpikes(d);
    expect(events.map((e) => e.type)).toEqual(['PRICE_SPIKE', 'PRICE_SPIKE']);
    expect(Object.isFrozen(events)).toBe(true);
    const e = events[0] as AnomalyEvent;
    for (const part of [e, e.symbols, e.inputs, e.actions]) expect(Object.isFrozen(part)).toBe(true);
    // ES modules are strict: writing to a frozen object throws instead of failing silently
    expect(() => {
      (e as { timestamp: number }).timestamp = 0;
    }).toThrow(TypeError);
    expect(() => (e.symbols as string[]).push('X')).toThrow(TypeError);
    expect(() => {
      (e.symbols as string[])[0] = 'X';
    }).toThrow(TypeError);
    expect(() => {
      (e.inputs as Record<string, number>)['z'] = 0;
    }).toThrow(TypeError);
    expect(() => (e.actions as string[]).push('REDUCE')).toThrow(TypeError);
    expect(() => (events as AnomalyEvent[]).pop()).toThrow(TypeError);
    expect(e.symbols).toEqual(['A']);
  });

  it('never share arrays or inputs: not with each other, not with the config', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2 });
    const [a, b] = twoSpikes(d) as [AnomalyEvent, AnomalyEvent];
    expect(a.actions).toEqual(['QUARANTINE']);
    expect(b.actions).toEqual(['QUARANTINE']);
    expect(a.actions).not.toBe(b.actions);
    expect(a.symbols).not.toBe(b.symbols);
    expect(a.inputs).not.toBe(b.inputs);
    expect(a.actions).not.toBe(d.config.actions.PRICE_SPIKE);
    expect(b.actions).not.toBe(d.config.actions.PRICE_SPIKE);
    const stale1 = d.checkStale(Number.MAX_SAFE_INTEGER);
    expect(stale1).toHaveLength(2);
    expect(stale1[0]?.actions).not.toBe(stale1[1]?.actions); // both empty, still distinct
    const t1 = d.badTick('X', 1, 'NON_FINITE_VALUE');
    const t2 = d.badTick('X', 1, 'NON_FINITE_VALUE');
    expect(t1).toEqual(t2);
    expect(t1.actions).not.toBe(t2.actions);
    expect(t1.inputs).not.toBe(t2.inputs);
  });

  it('anomalyEvent copies what it is given: later changes to the caller’s arrays do not leak in', () => {
    const symbols = ['AAPL'];
    const inputs = { lastTimestamp: 1, ageMs: 2, staleAfterMs: 3 };
    const e = anomalyEvent<StaleFeedEvent>({
      type: 'STALE_FEED',
      severity: 'INFO',
      symbols,
      timestamp: 3,
      inputs,
      actions: [],
    });
    symbols.push('MSFT');
    inputs.ageMs = 99;
    expect(e.symbols).toEqual(['AAPL']);
    expect(e.inputs.ageMs).toBe(2);
  });

  it('are plain objects: JSON.stringify is the serialisation (no toJSON, no deep copy)', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 2 });
    const [e] = twoSpikes(d) as [AnomalyEvent];
    expect(Object.getPrototypeOf(e)).toBe(Object.prototype);
    expect('toJSON' in e).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });

  it('badTick: a BAD_TICK for a record the validator rejected, with the caller’s reason and inputs', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1, actions: { BAD_TICK: ['TIGHTEN_STOPS'] } });
    const inputs = { price: -3 };
    const e = d.badTick('AAPL', 1_700_000_000_000, 'NON_POSITIVE_PRICE', inputs);
    expect(e).toEqual({
      type: 'BAD_TICK',
      severity: 'WARNING',
      symbols: ['AAPL'],
      timestamp: 1_700_000_000_000,
      inputs: { price: -3 },
      actions: ['TIGHTEN_STOPS'],
      reason: 'NON_POSITIVE_PRICE',
    });
    expect(e.inputs).not.toBe(inputs);
    expect(Object.isFrozen(e.inputs)).toBe(true);
    expect(d.hasSymbol('AAPL')).toBe(false); // a rejected record does not register its symbol
    expect(() => d.badTick('AAPL', Number.NaN, 'X')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT_TYPE' }));
  });
});
