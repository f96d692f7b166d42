/**
 * One plugin `onBars` scenario (anomaly detection at its defaults, or the config floor with
 * `--floor`), for A/B comparisons between builds run alternately on this noisy machine:
 * prints ns per position-update and the calibration loop's time just before.
 *
 *     node --expose-gc --import tsx bench/plugin-ab.ts [--floor]
 */
import { nsPerUnit } from './harness.js';
import { run } from './plugin.bench.js';

const floor = process.argv.includes('--floor');
const t0 = performance.now();
let x = 0;
for (let i = 0; i < 1e8; i++) x += i % 7;
const cal = performance.now() - t0;
const m = await run({
  name: floor ? 'floor' : 'defaults',
  anomaly: floor ? { correlationSymbols: 0, spikeWindow: 3, minSamples: 3, priceZ: 1e6, badTickZ: 1e6, volumeZ: 1e6 } : {},
});
await m.plugin.onDispose();
console.log(JSON.stringify({ ns: Math.round(nsPerUnit(m.row)), medianMs: m.medianMs, calibrationMs: Math.round(cal), x: x > 0 }));
