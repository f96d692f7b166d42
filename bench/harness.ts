import { Bench } from 'tinybench';

/** One measured contender: mean milliseconds per iteration of its task. */
export interface Row {
  readonly name: string;
  readonly msPerIteration: number;
  /** Units of work (symbol-updates, pair-updates, bars) one iteration performs. */
  readonly units: number;
}

/** Runs each task for about `timeMs` (at least `iterations` times) and returns its mean. */
export async function measure(
  tasks: ReadonlyArray<{ name: string; units: number; fn: () => void }>,
  timeMs = 1_500,
  iterations = 5,
): Promise<Row[]> {
  const bench = new Bench({ time: timeMs, iterations, warmupTime: 300, warmupIterations: 2, throws: true });
  for (const t of tasks) bench.add(t.name, t.fn);
  await bench.run();
  return tasks.map((t, i) => {
    const task = bench.tasks[i];
    const result = task?.result;
    if (result === undefined || !('latency' in result)) throw new Error(`no result for ${t.name}`);
    return { name: t.name, msPerIteration: result.latency.mean, units: t.units };
  });
}

/** ns per unit of work. */
export function nsPerUnit(row: Row): number {
  return (row.msPerIteration * 1e6) / row.units;
}

/** A markdown table: ns per unit and how many times slower than the first row each is. */
export function table(title: string, unit: string, rows: readonly Row[]): string {
  const base = nsPerUnit(rows[0] as Row);
  const lines = [`**${title}**`, '', `| contender | ns per ${unit} | vs ${(rows[0] as Row).name} |`, '|---|---:|---:|'];
  for (const r of rows) {
    const ns = nsPerUnit(r);
    lines.push(`| ${r.name} | ${ns < 10 ? ns.toFixed(2) : ns.toFixed(1)} | ${(ns / base).toFixed(1)}x |`);
  }
  return lines.join('\n');
}

/** "met" or "missed by N x" for a target of at most `limit` (or at least, for `atLeast`). */
export function verdict(value: number, limit: number, atLeast = false): string {
  const ok = atLeast ? value >= limit : value <= limit;
  if (ok) return 'met';
  return `missed by ${(atLeast ? limit / value : value / limit).toFixed(2)}x`;
}

/**
 * Seconds a fixed CPU-bound loop takes now: on a shared virtual machine it shows how fast the
 * CPU is at the moment (lower is faster), so a slow measurement can be told from slow code.
 * `iterations` 3×10⁸ is the loop each bench section starts with (seen here from 0.4 to 0.9 s).
 */
export function calibrationSeconds(iterations = 3e8): number {
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < iterations; i++) x += i % 7;
  if (x < 0) console.log(x);
  return (performance.now() - t0) / 1000;
}
