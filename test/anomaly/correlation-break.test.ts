import { beforeAll, describe, expect, it } from 'vitest';
import { AnomalyDetector, type AnomalyEvent, type CorrelationBreakEvent } from '../../src/anomaly/index.js';
import { loadKernels, type Kernels } from '../../src/index.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { naivePearson, windowColumn } from '../helpers/naive.js';
import { gaussian, rng } from '../helpers/random.js';
import { MINUTE, T0, bar } from './bars.js';

const N = 12;
const SYMBOLS = Array.from({ length: N }, (_, i) => `C${i}`);

/** Slices of N bars: a one-factor group (r ≈ 0.92) in `correlated` bars, independent otherwise. */
function market(phases: readonly { bars: number; correlated: boolean }[], seed: number): Bar[][] {
  const next = rng(seed);
  const price = new Float64Array(N).fill(100);
  const slices: Bar[][] = [];
  for (const phase of phases) {
    for (let t = 0; t < phase.bars; t++) {
      const f = gaussian(next);
      const slice: Bar[] = [];
      for (let i = 0; i < N; i++) {
        const open = price[i] as number;
        const r = 0.01 * (phase.correlated ? f + 0.3 * gaussian(next) : gaussian(next));
        price[i] = open * Math.exp(r);
        slice.push(bar(SYMBOLS[i] as string, T0 + slices.length * MINUTE, price[i] as number, open));
      }
      slices.push(slice);
    }
  }
  return slices;
}

/** Mean naive Pearson over all pairs of the last 60 log returns ending at slice `end`. */
function naiveMean(slices: readonly Bar[][], end: number): number {
  const rows: Float64Array[] = [];
  for (let t = 1; t <= end; t++) {
    rows.push(
      Float64Array.from({ length: N }, (_, i) =>
        Math.log((slices[t]?.[i] as Bar).close / (slices[t - 1]?.[i] as Bar).close),
      ),
    );
  }
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      sum += naivePearson(windowColumn(rows, i, rows.length - 1, 60), windowColumn(rows, j, rows.length - 1, 60));
      pairs++;
    }
  }
  return sum / pairs;
}

function run(d: AnomalyDetector, slices: readonly Bar[][]): { event: CorrelationBreakEvent; at: number }[] {
  const out: { event: CorrelationBreakEvent; at: number }[] = [];
  slices.forEach((slice, at) => {
    const events: readonly AnomalyEvent[] = d.observe(slice);
    expect(events.filter((e) => e.type !== 'CORRELATION_BREAK')).toEqual([]);
    for (const e of events) if (e.type === 'CORRELATION_BREAK') out.push({ event: e, at });
  });
  return out;
}

describe('CORRELATION_BREAK', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await loadKernels();
  });

  it('a correlated group that decorrelates fires once, with the packed-kernel mean, the baseline and the change', () => {
    const slices = market(
      [
        { bars: 400, correlated: true },
        { bars: 300, correlated: false },
      ],
      50,
    );
    const d = new AnomalyDetector(k, { maxSymbols: N });
    const breaks = run(d, slices);
    expect(breaks).toHaveLength(1);
    const { event: e, at } = breaks[0] as { event: CorrelationBreakEvent; at: number };
    expect(at).toBeGreaterThanOrEqual(400);
    expect(at).toBeLessThan(460); // within one correlation window of the switch
    expect(e.timestamp).toBe(T0 + at * MINUTE);
    expect(e.symbols).toEqual(SYMBOLS);
    expect(e.severity).toBe('WARNING');
    expect(e.actions).toEqual(['REDUCE']);
    expect(e.inputs.pairs).toBe((N * (N - 1)) / 2);
    expect(e.inputs.window).toBe(60);
    expect(e.inputs.threshold).toBe(0.3);
    expect(e.inputs.meanCorrelation).toBeCloseTo(naiveMean(slices, at), 9);
    expect(e.inputs.baseline).toBeGreaterThan(0.85);
    expect(e.inputs.change).toBeCloseTo(e.inputs.meanCorrelation - e.inputs.baseline, 12);
    expect(e.inputs.change).toBeLessThanOrEqual(-0.3);
  });

  it('an independent group that starts moving together fires once with a positive change', () => {
    const slices = market(
      [
        { bars: 400, correlated: false },
        { bars: 300, correlated: true },
      ],
      51,
    );
    const breaks = run(new AnomalyDetector(k, { maxSymbols: N }), slices);
    expect(breaks).toHaveLength(1);
    expect(breaks[0]?.at).toBeGreaterThanOrEqual(400);
    expect(breaks[0]?.event.inputs.change).toBeGreaterThanOrEqual(0.3);
  });

  it('a steady group never fires, and correlationSymbols 0 turns the check off', () => {
    const steady = market([{ bars: 1_500, correlated: true }], 52);
    expect(run(new AnomalyDetector(k, { maxSymbols: N }), steady)).toEqual([]);
    const change = market(
      [
        { bars: 400, correlated: true },
        { bars: 300, correlated: false },
      ],
      50,
    );
    expect(run(new AnomalyDetector(k, { maxSymbols: N, correlationSymbols: 0 }), change)).toEqual([]);
  });

  it('only the first correlationSymbols symbols registered are watched', () => {
    const slices = market(
      [
        { bars: 400, correlated: true },
        { bars: 300, correlated: false },
      ],
      50,
    );
    const breaks = run(new AnomalyDetector(k, { maxSymbols: N, correlationSymbols: 5 }), slices);
    expect(breaks).toHaveLength(1);
    expect(breaks[0]?.event.symbols).toEqual(SYMBOLS.slice(0, 5));
    expect(breaks[0]?.event.inputs.pairs).toBe(10);
  });
});
