/**
 * Writes `data/demo-day.csv`: one synthetic trading day of 1-minute OHLCV bars for 50
 * fictional symbols, deterministic (seeded mulberry32 PRNG), for the replay demo and tests.
 *
 *     npx tsx src/testing/generate-demo-data.ts      # rewrites data/demo-day.csv
 *
 * Format: header `timestamp,symbol,open,high,low,close,volume`, ISO-8601 UTC timestamps
 * (`2026-03-02T14:30:00Z` … `2026-03-02T20:59:00Z`, 390 minutes), prices to the cent, rows
 * ordered by minute, then by symbol in {@link DEMO_SYMBOLS} order.
 *
 * Model: a geometric random walk per symbol, r = β·market + idiosyncratic noise, with β in
 * [0.6, 1.4], per-minute idiosyncratic volatility 0.06–0.15 % and market volatility 0.06 %.
 *
 * Scenario (all exported below, minutes counted from 14:30Z):
 * - Crash ({@link DEMO_CRASH}): minutes 200–209 (17:50Z–17:59Z) the market factor drops 0.6 %
 *   a minute, about −6 % market-wide (−3.6 % to −8.4 % by β), on 4× volume; minutes 210–239
 *   (18:00Z–18:29Z) it recovers 0.1 % a minute, about half of the drop.
 * - Bad tick ({@link DEMO_BAD_TICK}): HALO at minute 120 (16:30Z) prints a close 10× its
 *   previous close (high = close). The row is structurally valid, so only anomaly detection
 *   can catch it; the next bar opens back at the true price.
 * - Invalid row ({@link DEMO_INVALID_ROW}): PIKE at minute 150 (17:00Z) has high < low;
 *   validation rejects it (`INCONSISTENT_OHLC`). It is the file's only invalid row.
 * - Stale symbol ({@link DEMO_STALE}): MOSS has no bars for minutes 260–289 (18:50Z–19:19Z,
 *   30 minutes) and resumes at 19:20Z at wherever its walk went meanwhile.
 *
 * So the file has 50 × 390 − 30 = 19 470 data rows, of which 1 is rejected, and every
 * minute has bars, i.e. 390 batches ({@link DEMO_EXPECTED}).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mulberry32 } from '../util/prng.js';
import { at } from '../util/indexed.js';

const MINUTE = 60_000;

/** PRNG seed of the demo day. */
export const DEMO_SEED = 20_260_302;

/** First bar's timestamp (ISO-8601) and epoch ms. */
export const DEMO_START_ISO = '2026-03-02T14:30:00Z';
export const DEMO_START = Date.parse(DEMO_START_ISO);

/** One-minute bars per symbol (one US equity session). */
export const DEMO_MINUTES = 390;

/** The 50 fictional symbols, in row order within each minute. */
export const DEMO_SYMBOLS: readonly string[] = Object.freeze([
  'ACME',
  'BOLT',
  'CRUX',
  'DYNA',
  'ECHO',
  'FLUX',
  'GLOW',
  'HALO',
  'IRIS',
  'JADE',
  'KITE',
  'LUMA',
  'MESA',
  'NOVA',
  'ONYX',
  'PIKE',
  'QUAD',
  'RIFT',
  'SAGE',
  'TIDE',
  'UMBR',
  'VOLT',
  'WISP',
  'XENO',
  'YARD',
  'ZEST',
  'AXIS',
  'BRIO',
  'CORE',
  'DUNE',
  'EMBR',
  'FERN',
  'GRIT',
  'HIVE',
  'IONS',
  'JOLT',
  'KELP',
  'LYNX',
  'MOSS',
  'NEON',
  'OPAL',
  'PEAK',
  'QUIL',
  'REEF',
  'SILO',
  'TORQ',
  'UNIT',
  'VALE',
  'WAVE',
  'ZINC',
]);

/** Epoch ms of minute `m` (0-based) of the demo day. */
export function demoMinute(m: number): number {
  return DEMO_START + m * MINUTE;
}

/** The market-wide crash and its partial recovery (minutes inclusive). */
export const DEMO_CRASH = Object.freeze({
  fromMinute: 200,
  toMinute: 209,
  from: demoMinute(200),
  to: demoMinute(209),
  /** Added to the market factor's log return each crash minute. */
  perMinute: -0.006,
  recoveryFromMinute: 210,
  recoveryToMinute: 239,
  recoveryTo: demoMinute(239),
  recoveryPerMinute: 0.001,
  volumeMultiple: 4,
});

/** The structurally valid but absurd print. */
export const DEMO_BAD_TICK = Object.freeze({ symbol: 'HALO', minute: 120, timestamp: demoMinute(120), factor: 10 });

/** The one row validation must reject. */
export const DEMO_INVALID_ROW = Object.freeze({
  symbol: 'PIKE',
  minute: 150,
  timestamp: demoMinute(150),
  code: 'INCONSISTENT_OHLC' as const,
});

/** The symbol whose feed goes silent (minutes inclusive; `resumes` is its next bar). */
export const DEMO_STALE = Object.freeze({
  symbol: 'MOSS',
  fromMinute: 260,
  toMinute: 289,
  from: demoMinute(260),
  to: demoMinute(289),
  resumes: demoMinute(290),
  minutes: 30,
});

/** What replaying the file must report. */
export const DEMO_EXPECTED = Object.freeze({
  rows: DEMO_SYMBOLS.length * DEMO_MINUTES - DEMO_STALE.minutes,
  rejected: 1,
  rejectedByCode: Object.freeze({ INCONSISTENT_OHLC: 1 }),
  accepted: DEMO_SYMBOLS.length * DEMO_MINUTES - DEMO_STALE.minutes - 1,
  batches: DEMO_MINUTES,
});

/** Where the file goes: `data/demo-day.csv` at the repository root. */
export const DEMO_CSV_PATH = fileURLToPath(new URL('../../data/demo-day.csv', import.meta.url));

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

const cents = (x: number): number => Math.round(x * 100) / 100;
const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/**
 * The lines of the demo CSV (header first), generated afresh each call; identical every time.
 *
 * @example
 * ```ts
 * const [header, first] = demoCsvLines();
 * // 'timestamp,symbol,open,high,low,close,volume', '2026-03-02T14:30:00Z,ACME,…'
 * ```
 */
export function demoCsvLines(): string[] {
  const next = mulberry32(DEMO_SEED);
  const n = DEMO_SYMBOLS.length;
  const beta = Array.from({ length: n }, () => 0.6 + 0.8 * next());
  const vol = Array.from({ length: n }, () => 0.0006 + 0.0009 * next());
  const price = Array.from({ length: n }, () => Math.exp(Math.log(15) + (Math.log(400) - Math.log(15)) * next()));
  const baseVolume = Array.from({ length: n }, () => 2_000 + 48_000 * next());
  const lines = ['timestamp,symbol,open,high,low,close,volume'];
  for (let m = 0; m < DEMO_MINUTES; m++) {
    let market = 0.0006 * gaussian(next);
    const crash = m >= DEMO_CRASH.fromMinute && m <= DEMO_CRASH.toMinute;
    if (crash) market += DEMO_CRASH.perMinute;
    if (m >= DEMO_CRASH.recoveryFromMinute && m <= DEMO_CRASH.recoveryToMinute) market += DEMO_CRASH.recoveryPerMinute;
    const ts = iso(demoMinute(m));
    for (let s = 0; s < n; s++) {
      const symbol = at(DEMO_SYMBOLS, s);
      const sigma = at(vol, s);
      const open = cents(at(price, s));
      const exact = at(price, s) * Math.exp(at(beta, s) * market + sigma * gaussian(next));
      price[s] = exact;
      const close = cents(exact);
      let high = Math.max(cents(Math.max(open, close) * Math.exp(0.5 * sigma * Math.abs(gaussian(next)))), open, close);
      const low = Math.min(
        cents(Math.min(open, close) * Math.exp(-0.5 * sigma * Math.abs(gaussian(next)))),
        open,
        close,
      );
      if (high - low < 0.02) high = cents(low + 0.02);
      const volume = Math.round(
        at(baseVolume, s) * Math.exp(0.3 * gaussian(next)) * (crash ? DEMO_CRASH.volumeMultiple : 1),
      );
      if (symbol === DEMO_STALE.symbol && m >= DEMO_STALE.fromMinute && m <= DEMO_STALE.toMinute) continue;
      if (symbol === DEMO_BAD_TICK.symbol && m === DEMO_BAD_TICK.minute) {
        const bad = cents(open * DEMO_BAD_TICK.factor);
        lines.push(`${ts},${symbol},${open},${bad},${low},${bad},${volume}`);
      } else if (symbol === DEMO_INVALID_ROW.symbol && m === DEMO_INVALID_ROW.minute) {
        lines.push(`${ts},${symbol},${open},${low},${high},${close},${volume}`); // high < low
      } else {
        lines.push(`${ts},${symbol},${open},${high},${low},${close},${volume}`);
      }
    }
  }
  return lines;
}

/**
 * Writes the demo CSV to `path` (default {@link DEMO_CSV_PATH}); returns rows and bytes.
 *
 * @example
 * ```ts
 * writeDemoCsv('/tmp/demo.csv'); // { rows: 19470, bytes: … }
 * ```
 */
export function writeDemoCsv(path: string = DEMO_CSV_PATH): { readonly rows: number; readonly bytes: number } {
  const text = `${demoCsvLines().join('\n')}\n`;
  writeFileSync(path, text);
  return { rows: text.split('\n').length - 2, bytes: Buffer.byteLength(text) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { rows, bytes } = writeDemoCsv();
  console.log(`wrote ${DEMO_CSV_PATH}: ${rows} rows, ${(bytes / 1024).toFixed(0)} KiB`);
}
