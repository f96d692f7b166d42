/**
 * A/B of the plugin's `onBars` hot path, robust to this machine's noise: two plugins (this
 * tree's and, with `--against DIR`, another checkout's; or two configs) run in one process,
 * alternating timed batches, so that both see the same noise at the same moments. Prints the
 * median ns per position-update of each and the median of the per-pair ratios B/A.
 *
 *     node --expose-gc --import tsx bench/plugin-ab.ts [--against /tmp/base] [--floor] [--pairs N]
 *
 * `ANOMALY='{"spikeWindow":3}'` (JSON) overrides the anomaly config of both (B only with
 * `ANOMALY_B`). Without `--against`, A and B are this tree's plugin.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnomalyConfigInput } from '../src/anomaly/config.js';
import { createRiskPlugin } from '../src/index.js';
import { startRig } from './plugin.bench.js';

const FLOOR: AnomalyConfigInput = {
  correlationSymbols: 0,
  spikeWindow: 3,
  minSamples: 3,
  priceZ: 1e6,
  badTickZ: 1e6,
  volumeZ: 1e6,
};
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const against = flag('--against');
const pairs = Number(flag('--pairs') ?? 60);
const base: AnomalyConfigInput = process.env['ANOMALY']
  ? (JSON.parse(process.env['ANOMALY']) as AnomalyConfigInput)
  : args.includes('--floor')
    ? FLOOR
    : {};
const configB: AnomalyConfigInput = process.env['ANOMALY_B']
  ? (JSON.parse(process.env['ANOMALY_B']) as AnomalyConfigInput)
  : base;

const createA: typeof createRiskPlugin =
  against === undefined
    ? createRiskPlugin
    : (
        (await import(pathToFileURL(resolve(against, 'src/index.ts')).href)) as {
          createRiskPlugin: typeof createRiskPlugin;
        }
      ).createRiskPlugin;
const a = await startRig({ name: 'A', anomaly: base }, createA);
const b = await startRig({ name: 'B', anomaly: configB });
const ta: number[] = [];
const tb: number[] = [];
const ratio: number[] = [];
for (let i = 0; i < pairs; i++) {
  // Alternate which goes first, so neither always runs on a cache the other has just churned.
  let x: number;
  let y: number;
  if (i % 2 === 0) {
    x = await a.step();
    y = await b.step();
  } else {
    y = await b.step();
    x = await a.step();
  }
  ta.push(x);
  tb.push(y);
  ratio.push(y / x);
}
const median = (v: number[]): number => [...v].sort((p, q) => p - q)[v.length >> 1] as number;
const ns = (ms: number): number => Math.round((ms * 1e6) / 10_000);
console.log(JSON.stringify({ A: ns(median(ta)), B: ns(median(tb)), ratioBA: Number(median(ratio).toFixed(3)), pairs }));
await a.plugin.onDispose();
await b.plugin.onDispose();
