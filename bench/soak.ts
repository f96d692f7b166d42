/**
 * `npm run soak`: 1000 symbols × 24 hours of one-minute bars (accelerated: generated as fast as
 * they are processed) through the whole path — the reference engine, the risk plugin with its
 * stops resting at the embedded simulated broker (BROKER mode), the egress with its journal and
 * dead-letter queue, execution reports back into the engine. After each simulated hour it
 * collects garbage and samples the heap and RSS; it fails (exit 1) if the retained heap grows
 * after warm-up by more than the allowance. The review's system needed ~100 GB for this run.
 *
 *     npm run soak            # or: node --expose-gc --import tsx bench/soak.ts [--symbols N] [--hours H]
 */
import { parseArgs } from 'node:util';
import { runReplay } from '../src/cli/replay.js';
import { mulberry32 } from '../src/util/prng.js';

const { values } = parseArgs({ options: { symbols: { type: 'string' }, hours: { type: 'string' } } });
const SYMBOLS = Number(values.symbols ?? 1_000);
const HOURS = Number(values.hours ?? 24);
const WARMUP_HOURS = Math.min(4, Math.floor(HOURS / 3));
/** Retained heap may grow this much from the warm-up level to the end. */
const ALLOWANCE_MB = 5;
const T0 = Date.parse('2026-03-02T00:00:00Z');
const MINUTE = 60_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with --expose-gc (npm run soak does)');
  process.exit(2);
}

/** A seeded random walk per symbol; a 1-in-2000 bar per symbol is a 20 % gap (stops fire). */
function* market(): Generator<Record<string, unknown>> {
  const random = mulberry32(20261126);
  const price = Array.from({ length: SYMBOLS }, () => 20 + 180 * random());
  const names = Array.from({ length: SYMBOLS }, (_, s) => `SK${s.toString().padStart(4, '0')}`);
  for (let m = 0; m < HOURS * 60; m++) {
    for (let s = 0; s < SYMBOLS; s++) {
      const open = price[s] as number;
      const gap = random() < 0.0005 ? (random() < 0.5 ? 0.8 : 1.2) : 1;
      const close = open * gap * (1 + 0.002 * (random() - 0.5));
      price[s] = close;
      const high = Math.max(open, close) * (1 + 0.001 * random());
      const low = Math.min(open, close) * (1 - 0.001 * random());
      yield {
        timestamp: T0 + m * MINUTE,
        symbol: names[s],
        open,
        high,
        low,
        close,
        volume: Math.round(1_000 + 500 * random()),
      };
    }
  }
}

interface Sample {
  readonly hour: number;
  readonly heapMb: number;
  readonly rssMb: number;
}
const samples: Sample[] = [];
let batches = 0;
const started = performance.now();
const mb = (bytes: number) => bytes / 2 ** 20;

const report = await runReplay({
  data: market(),
  ordersPerSecond: 5_000,
  print: () => {},
  afterBatch: () => {
    if (++batches % 60 !== 0) return;
    gc();
    const m = process.memoryUsage();
    const s = { hour: batches / 60, heapMb: mb(m.heapUsed), rssMb: mb(m.rss) };
    samples.push(s);
    console.log(
      `hour ${String(s.hour).padStart(2)}: heap ${s.heapMb.toFixed(1)} MB, rss ${s.rssMb.toFixed(1)} MB (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  },
});

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const afterWarmup = samples.filter((s) => s.hour > WARMUP_HOURS);
const base = median(afterWarmup.slice(0, 4).map((s) => s.heapMb));
const end = median(afterWarmup.slice(-4).map((s) => s.heapMb));
const growth = end - base;
const s = report.summary;
console.log(
  `\nsoak: ${SYMBOLS} symbols × ${HOURS} h = ${s.barsAccepted.toLocaleString('en')} bars in ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
    `stops placed ${report.plugin.stops.placed}, moved ${report.plugin.stops.moved}, triggered ${report.plugin.stops.triggered}; ` +
    `broker executions ${report.brokerExecutions}, fills booked ${report.brokerFills}, dead letters ${report.deadLetters}`,
);
console.log(
  `retained heap after warm-up (hour ${WARMUP_HOURS + 1}-${WARMUP_HOURS + 4} median) ${base.toFixed(1)} MB → end (last 4 h median) ${end.toFixed(1)} MB: ` +
    `growth ${growth.toFixed(1)} MB (allowance ${ALLOWANCE_MB} MB); peak RSS ${Math.max(...samples.map((x) => x.rssMb)).toFixed(0)} MB`,
);
if (!(growth <= ALLOWANCE_MB)) {
  console.error('FAIL: retained memory grows after warm-up');
  process.exit(1);
}
console.log('PASS');
