/**
 * Live-feed latency: what one call costs when a host feeds bars as they arrive, one at a
 * time (`onBar`), and what its pre-trade check and fill intake cost, as percentiles of single
 * calls timed with `performance.now()`. Beside them, in the same run, the floor: the same ATR +
 * chandelier update written by hand in plain JavaScript, timed the same way (so the timer's
 * own cost is in both).
 */
import { performance } from 'node:perf_hooks';
import { createRiskPlugin, type Kernels } from '../src/index.js';
import type { AnomalyConfigInput } from '../src/anomaly/config.js';
import type { Bar } from '../src/vocabulary/market.js';
import { verdict } from './harness.js';
import { Market, startRig, WARMUP_BARS as WARMUP_SLICES, type Rig } from './plugin.bench.js';

const T0 = Date.parse('2026-03-02T14:30:00Z');
const MINUTE = 60_000;
/** Single calls timed per scenario. */
const SAMPLES = Number(process.env['BULWARK_LATENCY_SAMPLES'] ?? 30_000);

/** Percentiles of a sample of durations (µs). */
export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly n: number;
  /** Calls that took over 2 ms. */
  readonly over2ms: number;
}

export function percentiles(us: Float64Array | number[]): Percentiles {
  const s = Float64Array.from(us).sort();
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  let over2ms = 0;
  for (let i = s.length - 1; i >= 0 && (s[i] as number) > 2_000; i--) over2ms++;
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: s[s.length - 1] ?? Number.NaN, n: s.length, over2ms };
}

/** A plugin with one open position per symbol of a `symbols`-wide universe, warmed up (see {@link startRig}). */
function liveRig(symbols: number, anomaly: AnomalyConfigInput, singleWarmup = false): Promise<Rig> {
  return startRig({ name: 'live', anomaly }, createRiskPlugin, { symbols, singleWarmup });
}

/** `onBar` one bar at a time over whole slices, `samples` calls timed. */
async function onBarLatency(rig: Rig, samples: number): Promise<Percentiles> {
  const us: number[] = [];
  // A few untimed slices on the single-bar path first (its code warms up like the batch's).
  for (let w = 0; us.length < samples; w++) {
    for (const bar of rig.next()) {
      const start = performance.now();
      await rig.plugin.onBar(bar);
      const end = performance.now();
      if (w >= 3) us.push((end - start) * 1000);
    }
    await rig.reopen();
  }
  return percentiles(us.slice(0, samples));
}

/**
 * A 24-hour replay of `symbols` symbols (1 440 one-minute slices), one bar per `onBar`, every
 * call timed: the worst calls show any stall (a full rebuild of the correlation sums, a scan
 * of every symbol) that percentiles of a shorter run would hide.
 */
async function dayReplay(symbols: number, anomaly: AnomalyConfigInput): Promise<Percentiles> {
  const rig = await liveRig(symbols, anomaly, true);
  const slices = 1_440 - WARMUP_SLICES;
  const us = new Float64Array(slices * symbols);
  let n = 0;
  for (let w = 0; w < slices; w++) {
    for (const bar of rig.next()) {
      const start = performance.now();
      await rig.plugin.onBar(bar);
      us[n++] = (performance.now() - start) * 1000;
    }
    await rig.reopen();
  }
  await rig.plugin.onDispose();
  return percentiles(us.subarray(0, n));
}

/**
 * {@link dayReplay} `runs` times: a single worst call on a shared machine can be one
 * preemption by the OS, so the run whose worst call is the median of the runs' is reported,
 * with every run's worst call beside it.
 */
async function dayReplays(
  symbols: number,
  anomaly: AnomalyConfigInput,
  runs = 3,
): Promise<{ run: Percentiles; maxima: number[] }> {
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const all: Percentiles[] = [];
  for (let r = 0; r < runs; r++) {
    collect();
    all.push(await dayReplay(symbols, anomaly));
  }
  const sorted = [...all].sort((a, b) => a.max - b.max);
  return { run: sorted[sorted.length >> 1] as Percentiles, maxima: all.map((p) => p.max) };
}

/**
 * The floor: Wilder ATR(14) and a 3-ATR chandelier stop per symbol, hand-written over typed
 * arrays indexed through a Map, one bar at a time, timed per call as `onBar` is.
 */
function floorLatency(market: Market, samples: number): Percentiles {
  const n = market.symbols.length;
  const slot = new Map(market.symbols.map((s, i) => [s, i]));
  const prevClose = new Float64Array(n).fill(Number.NaN);
  const atr = new Float64Array(n);
  const count = new Float64Array(n);
  const best = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const stop = new Float64Array(n);
  const period = 14;
  const update = (bar: Bar): void => {
    const i = slot.get(bar.symbol) as number;
    const pc = prevClose[i] as number;
    const tr = pc === pc ? Math.max(bar.high, pc) - Math.min(bar.low, pc) : bar.high - bar.low;
    const c = (count[i] as number) + 1;
    count[i] = c;
    atr[i] = c <= period ? ((atr[i] as number) * (c - 1) + tr) / c : ((atr[i] as number) * (period - 1) + tr) / period;
    prevClose[i] = bar.close;
    if (bar.high > (best[i] as number)) best[i] = bar.high;
    const candidate = (best[i] as number) - 3 * atr[i];
    if (candidate > (stop[i] as number)) stop[i] = candidate;
  };
  let t = T0 + 1_000 * MINUTE;
  const us: number[] = [];
  for (let w = 0; us.length < samples; w++) {
    for (const bar of market.batch((t += MINUTE))) {
      const start = performance.now();
      update(bar);
      const end = performance.now();
      if (w >= 3) us.push((end - start) * 1000);
    }
  }
  return percentiles(us.slice(0, samples));
}

/** `beforeOrder` (an entry in a held symbol) and `onFill` (one lot in, one lot out) with every position open. */
function checkAndFillLatency(rig: Rig, samples: number): { beforeOrder: Percentiles; onFill: Percentiles } {
  const { plugin, market } = rig;
  const n = market.symbols.length;
  const before: number[] = [];
  const fill: number[] = [];
  let seq = 0;
  for (let i = 0; i < samples + 1_000; i++) {
    const s = (i * 7919) % n;
    const symbol = market.symbols[s] as string;
    const side: 'BUY' | 'SELL' = s % 2 === 0 ? 'BUY' : 'SELL';
    const price = market.price[s] as number;
    let start = performance.now();
    plugin.beforeOrder({ clientOrderId: `o${i}`, symbol, side, quantity: 1, type: 'MARKET', intent: 'ENTRY' });
    let end = performance.now();
    if (i >= 1_000) before.push((end - start) * 1000);
    // One lot added and, next call, taken away again: the book stays as it was.
    const f = { fillId: `x${++seq}`, orderId: `f${seq}`, symbol, side, quantity: 1, price, timestamp: rig.clock.now };
    start = performance.now();
    plugin.onFill(f);
    end = performance.now();
    if (i >= 1_000) fill.push((end - start) * 1000);
    plugin.onFill({ ...f, fillId: `x${++seq}`, orderId: `f${seq}`, side: side === 'BUY' ? 'SELL' : 'BUY' });
  }
  const rejected = plugin.stats().rejections;
  if (Object.keys(rejected).length > 0) throw new Error(`rejections: ${JSON.stringify(rejected)}`);
  return { beforeOrder: percentiles(before), onFill: percentiles(fill) };
}

const fmt = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const row = (name: string, p: Percentiles) =>
  `| ${name} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${fmt(p.p999)} | ${fmt(p.max)} | ${p.n} |`;

/**
 * The latency table: single-bar `onBar` at 100 and 10 000 symbols (defaults, one open
 * position per symbol), `beforeOrder` and `onFill` with 10 000 positions, the plain-JS floor;
 * then a verdict per goal of issue 16.
 */
export async function liveLatency(_k: Kernels): Promise<{ text: string }> {
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
  collect();
  const small = await liveRig(100, {});
  const bar100 = await onBarLatency(small, SAMPLES);
  const floor = floorLatency(small.market, SAMPLES);
  await small.plugin.onDispose();
  collect();
  const big = await liveRig(10_000, {});
  const bar10k = await onBarLatency(big, SAMPLES);
  const { beforeOrder, onFill } = checkAndFillLatency(big, SAMPLES);
  await big.plugin.onDispose();
  const { run: day, maxima } = await dayReplays(1_000, {});
  const { run: dayWide, maxima: maximaWide } = await dayReplays(1_000, { correlationSymbols: 1_000 });
  const dayFloor = floorLatency(new Market(1_000, 20260302), day.n);
  const list = (m: number[]) => m.map((x) => fmt(x)).join(', ');
  const lines = [
    '**Live feed: one call at a time, µs per call (`performance.now()` around each call)**',
    '',
    '| call | p50 | p99 | p99.9 | max | calls |',
    '|---|---:|---:|---:|---:|---:|',
    row('onBar, 100 symbols (100 positions), defaults', bar100),
    row('onBar, 10 000 symbols (10 000 positions), defaults', bar10k),
    row('beforeOrder, 10 000 positions', beforeOrder),
    row('onFill, 10 000 positions', onFill),
    row('plain JS floor: ATR + chandelier by hand', floor),
    row('24-hour replay, 1 000 symbols, onBar, defaults', day),
    row('24-hour replay, 1 000 symbols, onBar, correlationSymbols 1 000', dayWide),
    row('24-hour replay, 1 000 symbols, plain JS floor', dayFloor),
    '',
    `- onBar at 10 000 symbols: p50 ≤ 2 µs ${verdict(bar10k.p50, 2)}, p99 ≤ 20 µs ${verdict(bar10k.p99, 20)}; ` +
      `at 100 symbols: p50 ≤ 2 µs ${verdict(bar100.p50, 2)}, p99 ≤ 20 µs ${verdict(bar100.p99, 20)}; ` +
      `p50 at 10 000 vs 100 symbols ${(bar10k.p50 / bar100.p50).toFixed(2)}× (≤ 1.5×: ${verdict(bar10k.p50 / bar100.p50, 1.5)}); ` +
      `onBar p50 is ${(bar10k.p50 / floor.p50).toFixed(0)}× the floor's (which does no validation, anomaly detection or order path).`,
    `- No stall: worst single onBar over the 24-hour replay (1 320 slices timed after 120 of warm-up; three replays, the median one in the table) ` +
      `${fmt(day.max)} µs at defaults (< 2 ms: ${verdict(day.max, 2_000)}; the three: ${list(maxima)} µs) and ${fmt(dayWide.max)} µs ` +
      `with all 1 000 symbols in the correlation watch-list (${verdict(dayWide.max, 2_000)}; the three: ${list(maximaWide)} µs; there the bar that ` +
      `completes a slice pays its O(n²) correlation update, p99.9 ${fmt(dayWide.p999)} µs; the rolling rebuild of the sums is spread over every update). ` +
      `Calls over 2 ms in those replays: ${day.over2ms} and ${dayWide.over2ms}. The plain-JS floor, timed the same way over as many calls, ` +
      `had ${dayFloor.over2ms} over 2 ms and a worst call of ${fmt(dayFloor.max)} µs: what this shared machine's scheduling alone costs.`,
  ];
  return { text: lines.join('\n') };
}

if (process.env['DAY'] !== undefined) {
  console.log(await dayReplay(1_000, JSON.parse(process.env['DAY']) as AnomalyConfigInput));
} else if (process.argv[1]?.endsWith('latency.bench.ts')) {
  const { loadKernels } = await import('../src/index.js');
  console.log((await liveLatency(await loadKernels())).text);
}
