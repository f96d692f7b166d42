import type { Kernels } from '../src/index.js';
import { measure, nsPerUnit, table, verdict, type Row } from './harness.js';
import { PlainCorrelation } from './peers/plain-correlation.js';

function returns(symbols: number, bars: number): Float64Array[] {
  let seed = 99;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  return Array.from({ length: bars }, () => Float64Array.from({ length: symbols }, () => 0.02 * (next() - 0.5)));
}

/** Rolling correlation of `symbols` symbols, window 64, in steady state (window full). */
export async function correlation(k: Kernels, symbols: number): Promise<{ text: string; rows: Row[] }> {
  const window = 64;
  const bars = symbols >= 1000 ? 16 : 400;
  const pairs = (symbols * (symbols - 1)) / 2;
  const data = returns(symbols, window + bars);
  const scalar = await (await import('../src/index.js')).loadKernels({ build: 'scalar' });
  const banks = [k, scalar].map((kk) => kk.correlationBank({ symbols, window }));
  const plain = new PlainCorrelation(symbols, window);
  for (let t = 0; t < window; t++) {
    for (const b of banks) b.update(data[t] as Float64Array);
    plain.update(data[t] as Float64Array);
  }
  const run = (update: (r: Float64Array) => void) => () => {
    for (let t = window; t < window + bars; t++) update(data[t] as Float64Array);
  };
  const [simd, scal] = banks as [NonNullable<(typeof banks)[0]>, NonNullable<(typeof banks)[1]>];
  const rows = await measure(
    [
      { name: 'Bulwark CorrelationBank.update (SIMD)', units: pairs * bars, fn: run((r) => simd.update(r)) },
      { name: 'Bulwark CorrelationBank.update (scalar build)', units: pairs * bars, fn: run((r) => scal.update(r)) },
      { name: 'plain JS rolling sums', units: pairs * bars, fn: run((r) => plain.update(r)) },
    ],
    2_000,
    3,
  );
  for (const b of banks) b.dispose();
  const [bulwark, , js] = rows as [Row, Row, Row];
  const ns = nsPerUnit(bulwark);
  const ratio = nsPerUnit(js) / ns;
  const lines = [
    table(
      `Rolling correlation, ${symbols} symbols (${pairs.toLocaleString('en')} pairs), window ${window}`,
      'pair per bar',
      rows,
    ),
    '',
  ];
  if (symbols >= 1000) lines.push(`- ${ns.toFixed(3)} ns per pair per bar (target ≤ 0.5): ${verdict(ns, 0.5)}`);
  lines.push(`- vs plain JS: ${ratio.toFixed(1)}x faster (target ≥ 4x): ${verdict(ratio, 4, true)}`);
  return { text: lines.join('\n'), rows };
}
