/**
 * `npm run bench`: Bulwark's kernels beside their peers, then the risk plugin's `onBars` hot
 * path and snapshot, and its live-feed latency (one bar per call), in one run. Prints markdown tables
 * (ns per unit of work and ratios) and rewrites the figures block of README.md, stamped with
 * the machine they came from. `--no-readme` only prints.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { loadKernels, type Kernels } from '../src/index.js';
import { batchAtr, streamingAtr } from './atr.bench.js';
import { correlation } from './correlation.bench.js';
import { drawdownHistory } from './drawdown.bench.js';
import { egressLatency } from './egress.bench.js';
import { venueLatency } from './venue.bench.js';
import { beforeOrderCost } from './limits.bench.js';
import { pluginOnBars } from './plugin.bench.js';
import { liveLatency } from './latency.bench.js';
import { loggingCost } from './logging.bench.js';
import { calibrationSeconds } from './harness.js';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/**
 * A fixed CPU-bound loop, timed before each benchmark: on a shared virtual machine it shows
 * how fast the CPU was for that section (seen here from 0.44 s to 0.92 s; lower is faster),
 * so a slow section can be told from a slow machine.
 */
function calibration(): string {
  return `_Calibration loop before this section: ${calibrationSeconds().toFixed(2)} s._`;
}

function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  const date = new Date().toISOString().slice(0, 10);
  return `Measured ${date} on ${model}, ${cpus.length} vCPU, ${gib} GiB, ${os.type()} ${os.release()}, Node ${process.version}. The machine is shared: figures move by ±15–50% between runs, so each section starts with a fixed calibration loop (lower is faster).`;
}

const k = await loadKernels();
const runs: Array<(k: Kernels) => Promise<{ text: string }>> = [
  streamingAtr,
  batchAtr,
  (kk) => correlation(kk, 1000),
  (kk) => correlation(kk, 100),
  drawdownHistory,
  egressLatency,
  venueLatency,
  beforeOrderCost,
  pluginOnBars,
  liveLatency,
  loggingCost,
];
const sections = [machine()];
console.log(`${sections[0]}\n`);
// Each benchmark starts on a collected heap, so none pays for the garbage of the one before
// (the ATR benchmark alone leaves millions of candle objects behind).
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
for (const run of runs) {
  collect();
  const cal = calibration();
  const { text: body } = await run(k);
  const text = `${cal}\n\n${body}`;
  console.log(`${text}\n`);
  sections.push(text);
}

if (!process.argv.includes('--no-readme')) {
  const url = new URL('../README.md', import.meta.url);
  const readme = await readFile(url, 'utf8');
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) {
    console.log('README.md has no bench markers; figures not recorded.');
  } else {
    const block = `${START}\n${sections.join('\n\n')}\n${END}`;
    await writeFile(url, readme.slice(0, from) + block + readme.slice(to + END.length));
    console.log('Figures recorded in README.md.');
  }
}
