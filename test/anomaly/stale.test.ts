import { beforeAll, describe, expect, it } from 'vitest';
import { AnomalyDetector } from '../../src/anomaly/index.js';
import { loadKernels, type Kernels } from '../../src/index.js';
import { MINUTE, T0, bar } from './bars.js';

describe('STALE_FEED', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels();
  });

  it('fires once per stale episode, and re-arms when the symbol ticks again', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 4 }); // staleAfterMs 5 minutes
    d.observe([bar('A', T0, 100), bar('B', T0, 50)]);
    d.observe([bar('B', T0 + 4 * MINUTE, 50)]);

    expect(d.checkStale(T0 + 5 * MINUTE)).toEqual([]); // exactly 5 minutes is not older
    const first = d.checkStale(T0 + 5 * MINUTE + 1);
    expect(first).toHaveLength(1);
    expect(first[0]).toEqual({
      type: 'STALE_FEED',
      severity: 'WARNING',
      symbols: ['A'],
      timestamp: T0 + 5 * MINUTE + 1,
      inputs: { lastTimestamp: T0, ageMs: 5 * MINUTE + 1, staleAfterMs: 5 * MINUTE },
      actions: [],
    });
    expect(d.checkStale(T0 + 6 * MINUTE)).toEqual([]); // A already reported
    expect(d.checkStale(T0 + 9 * MINUTE + 1).map((e) => e.symbols)).toEqual([['B']]);

    d.observe([bar('A', T0 + 10 * MINUTE, 100)]); // A ticks: re-armed
    expect(d.checkStale(T0 + 10 * MINUTE + 1)).toEqual([]);
    const again = d.checkStale(T0 + 15 * MINUTE + 2);
    expect(again.map((e) => e.symbols)).toEqual([['A']]); // B is still in its reported episode
    expect(again[0]?.inputs.ageMs).toBe(5 * MINUTE + 2);
    expect(Object.isFrozen(again)).toBe(true);
  });

  it('staleAfterMs and STALE_FEED actions are configurable', () => {
    const d = new AnomalyDetector(k, { maxSymbols: 1, staleAfterMs: 1_000, actions: { STALE_FEED: ['REDUCE'] } });
    d.observe([bar('A', T0, 100)]);
    const [e] = d.checkStale(T0 + 1_001);
    expect(e?.actions).toEqual(['REDUCE']);
    expect(e?.inputs.staleAfterMs).toBe(1_000);
  });
});
