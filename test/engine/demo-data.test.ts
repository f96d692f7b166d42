import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_BAD_TICK,
  DEMO_CRASH,
  DEMO_CSV_PATH,
  DEMO_EXPECTED,
  DEMO_INVALID_ROW,
  DEMO_MINUTES,
  DEMO_STALE,
  DEMO_START,
  DEMO_SYMBOLS,
  demoCsvLines,
  demoMinute,
} from '../../src/testing/generate-demo-data.js';
import { Engine, type BarRejected } from '../../src/engine/engine.js';
import type { Bar } from '../../src/vocabulary/market.js';

// One replay of the checked-in file, shared by the scenario checks below.
interface DemoReplay {
  readonly bars: Map<string, Bar[]>;
  readonly rejected: BarRejected[];
  readonly summary: Awaited<ReturnType<Engine['replay']>>;
}

async function replayDemo(): Promise<DemoReplay> {
  const engine = new Engine();
  const bars = new Map<string, Bar[]>(DEMO_SYMBOLS.map((s) => [s, []]));
  engine.use({ name: 'collect', onBars: (batch) => batch.forEach((b) => bars.get(b.symbol)?.push(b)) });
  const rejected: BarRejected[] = [];
  const summary = await engine.replay(DEMO_CSV_PATH, { onReject: (e) => rejected.push(e) });
  return { bars, rejected, summary };
}

const closeAt = (series: readonly Bar[], t: number): number => (series.find((b) => b.timestamp === t) as Bar).close;
const meanReturn = (bars: Map<string, Bar[]>, from: number, to: number): number =>
  DEMO_SYMBOLS.reduce(
    (sum, s) => sum + closeAt(bars.get(s) as Bar[], to) / closeAt(bars.get(s) as Bar[], from) - 1,
    0,
  ) / DEMO_SYMBOLS.length;

describe('data/demo-day.csv', () => {
  let demo: DemoReplay;
  beforeAll(async () => {
    demo = await replayDemo();
  });

  it('is what the generator produces (deterministic) and stays under 2 MB', () => {
    const text = readFileSync(DEMO_CSV_PATH, 'utf8');
    expect(text).toBe(`${demoCsvLines().join('\n')}\n`);
    expect(Buffer.byteLength(text)).toBeLessThan(2 * 1024 * 1024);
  });

  it('replays with exactly the documented rejections and one batch per minute', async () => {
    const { summary, rejected } = demo;
    expect(summary).toMatchObject({
      barsRead: DEMO_EXPECTED.rows,
      barsAccepted: DEMO_EXPECTED.accepted,
      barsRejected: DEMO_EXPECTED.rejected,
      rejectedByCode: DEMO_EXPECTED.rejectedByCode,
      batches: DEMO_EXPECTED.batches,
      firstTimestamp: DEMO_START,
      lastTimestamp: demoMinute(DEMO_MINUTES - 1),
    });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.rejection.code).toBe(DEMO_INVALID_ROW.code);
    expect(rejected[0]?.raw).toMatchObject({
      symbol: DEMO_INVALID_ROW.symbol,
      timestamp: new Date(DEMO_INVALID_ROW.timestamp).toISOString().replace('.000Z', 'Z'),
    });
  });

  it('has 50 symbols with 390 one-minute bars each, except the stale and the invalid one', async () => {
    const { bars } = demo;
    expect(DEMO_SYMBOLS).toHaveLength(50);
    for (const s of DEMO_SYMBOLS) {
      const expected =
        DEMO_MINUTES - (s === DEMO_STALE.symbol ? DEMO_STALE.minutes : 0) - (s === DEMO_INVALID_ROW.symbol ? 1 : 0);
      expect(bars.get(s), s).toHaveLength(expected);
    }
  });

  it('has a market-wide crash of several percent in ten minutes, partly recovered', async () => {
    const { bars } = demo;
    const before = demoMinute(DEMO_CRASH.fromMinute - 1);
    const drop = meanReturn(bars, before, DEMO_CRASH.to);
    const recovered = meanReturn(bars, DEMO_CRASH.to, DEMO_CRASH.recoveryTo);
    expect(drop).toBeLessThan(-0.04);
    expect(drop).toBeGreaterThan(-0.09);
    const fell = DEMO_SYMBOLS.filter(
      (s) => closeAt(bars.get(s) as Bar[], DEMO_CRASH.to) < closeAt(bars.get(s) as Bar[], before),
    );
    expect(fell).toHaveLength(50);
    expect(recovered).toBeGreaterThan(0.01);
    expect(meanReturn(bars, before, DEMO_CRASH.recoveryTo)).toBeLessThan(-0.01); // only partly recovered
  });

  it('has one structurally valid bad tick: a close 10× the previous that reverts on the next bar', async () => {
    const { bars } = demo;
    const series = bars.get(DEMO_BAD_TICK.symbol) as Bar[];
    const i = series.findIndex((b) => b.timestamp === DEMO_BAD_TICK.timestamp);
    const [prev, tick, after] = [series[i - 1], series[i], series[i + 1]] as [Bar, Bar, Bar];
    expect(tick.close / prev.close).toBeCloseTo(DEMO_BAD_TICK.factor, 2);
    expect(Math.abs(after.open / prev.close - 1)).toBeLessThan(0.01);
    expect(Math.abs(after.close / prev.close - 1)).toBeLessThan(0.02);
    // Nowhere else does any symbol move more than 20% in one minute.
    for (const s of DEMO_SYMBOLS) {
      const b = bars.get(s) as Bar[];
      for (let k = 1; k < b.length; k++) {
        const t = (b[k] as Bar).timestamp;
        if (s === DEMO_BAD_TICK.symbol && (t === DEMO_BAD_TICK.timestamp || t === demoMinute(DEMO_BAD_TICK.minute + 1)))
          continue;
        expect(Math.abs((b[k] as Bar).close / (b[k - 1] as Bar).close - 1), `${s} at ${t}`).toBeLessThan(0.2);
      }
    }
  });

  it('has one stale symbol that stops ticking for 30 minutes and then resumes', async () => {
    const { bars } = demo;
    const series = bars.get(DEMO_STALE.symbol) as Bar[];
    const times = series.map((b) => b.timestamp);
    expect(times.filter((t) => t >= DEMO_STALE.from && t <= DEMO_STALE.to)).toEqual([]);
    expect(times).toContain(DEMO_STALE.from - 60_000);
    expect(times).toContain(DEMO_STALE.resumes);
    const gaps = times
      .slice(1)
      .map((t, k) => t - (times[k] as number))
      .filter((g) => g > 60_000);
    expect(gaps).toEqual([(DEMO_STALE.minutes + 1) * 60_000]);
  });
});
