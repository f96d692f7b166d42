import type { Kernels } from '../src/index.js';
import { measure, nsPerUnit, table, verdict, type Row } from './harness.js';

/** Drawdown update cost after 10^3 and after 10^7 points of history. */
export async function drawdownHistory(k: Kernels): Promise<{ text: string; rows: Row[] }> {
  const series = 100;
  const steps = 10_000;
  let seed = 5;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const rowsIn = Array.from({ length: 1_000 }, () =>
    Float64Array.from({ length: series }, () => 1_000 * (1 + 0.2 * (next() - 0.5))),
  );
  const tasks: Array<{ name: string; units: number; fn: () => void }> = [];
  const banks = [];
  for (const window of [0, 1_440]) {
    for (const history of [1_000, 10_000_000]) {
      const bank = k.drawdownBank({ series, window });
      for (let t = 0; t < history; t++) bank.update(rowsIn[t % rowsIn.length] as Float64Array);
      banks.push(bank);
      let t = 0;
      tasks.push({
        name: `window ${window === 0 ? '0 (inception)' : window}, after ${history.toExponential(0).replace('+', '')} points`,
        units: steps * series,
        fn: () => {
          for (let s = 0; s < steps; s++) bank.update(rowsIn[t++ % rowsIn.length] as Float64Array);
        },
      });
    }
  }
  const rows = await measure(tasks, 1_000, 5);
  for (const b of banks) b.dispose();
  const lines = [table(`Drawdown update, ${series} series`, 'series-update', rows), ''];
  for (let i = 0; i < rows.length; i += 2) {
    const a = nsPerUnit(rows[i] as Row);
    const b = nsPerUnit(rows[i + 1] as Row);
    const diff = Math.abs(b - a) / a;
    lines.push(
      `- ${(rows[i] as Row).name.split(',')[0]}: 10^7 vs 10^3 history differ by ${(100 * diff).toFixed(1)}% (target ≤ 20%): ${verdict(diff, 0.2)}`,
    );
  }
  return { text: lines.join('\n'), rows };
}
