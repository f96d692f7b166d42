import { describe, expect, it } from 'vitest';
import { DEMO_BAD_TICK, DEMO_STALE } from '../../src/testing/generate-demo-data.js';
import { createRiskPlugin, type RiskEvent } from '../../src/index.js';
import { Engine } from '../../src/engine/engine.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { bar, MIN, T0 } from './helpers.js';

const DATA = new URL('../../data/demo-day.csv', import.meta.url);

describe('risk plugin hosted by the reference engine', () => {
  it('replays the demo day: invalid row rejected, bad tick and stale symbol detected, no plugin errors', async () => {
    const engine = new Engine();
    const plugin = createRiskPlugin();
    const events: RiskEvent[] = [];
    plugin.subscribe((e) => events.push(e));
    engine.use(plugin);
    let first = true;
    const summary = await engine.replay(DATA, {
      strategy: async (bars, e) => {
        if (!first) return;
        first = false;
        for (const b of bars) {
          await e.submitOrder({
            clientOrderId: `in-${b.symbol}`,
            symbol: b.symbol,
            side: 'BUY',
            quantity: 10,
            type: 'MARKET',
            intent: 'ENTRY',
          });
        }
      },
    });
    expect(summary.rejectedByCode).toEqual({ INCONSISTENT_OHLC: 1 });
    expect(engine.stats().pluginErrors).toBe(0);
    const anomalies = events.flatMap((e) => (e.kind === 'ANOMALY_DETECTED' ? [e.anomaly] : []));
    expect(anomalies.some((a) => a.type === 'BAD_TICK' && a.symbols[0] === DEMO_BAD_TICK.symbol)).toBe(true);
    expect(anomalies.some((a) => a.type === 'STALE_FEED' && a.symbols[0] === DEMO_STALE.symbol)).toBe(true);
    const s = plugin.stats();
    expect(s.bars.accepted).toBe(summary.barsAccepted);
    expect(s.stops.placed).toBe(50);
    expect(s.stops.triggered).toBe(summary.commands.CLOSE_POSITION ?? 0);
    await engine.dispose();
  });

  it('a short’s stop does not fire on a quarantined bad tick; the reverting bar proves it bad', async () => {
    const engine = new Engine({ marketFill: 'CURRENT_CLOSE' });
    const plugin = createRiskPlugin({ stops: { policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } } });
    const events: RiskEvent[] = [];
    plugin.subscribe((e) => events.push(e));
    engine.use(plugin);
    const quiet = (m: number, close: number): Bar =>
      bar('XYZ', T0 + m * MIN, close * (1 + 0.0005 * Math.sin(m)), 0.001);
    function* feed(): Generator<Bar> {
      for (let m = 0; m < 80; m++) yield quiet(m, 100);
      yield { ...quiet(80, 100), high: 1_000, close: 1_000 }; // bad tick: 10×
      for (let m = 81; m < 90; m++) yield quiet(m, 100);
    }
    await engine.replay(feed(), {
      strategy: async (bars, e) => {
        if (bars[0]?.timestamp !== T0) return;
        await e.submitOrder({
          clientOrderId: 'short-1',
          symbol: 'XYZ',
          side: 'SELL',
          quantity: 100,
          type: 'MARKET',
          intent: 'ENTRY',
        });
      },
    });
    expect(plugin.stats().stops.suppressed).toBe(1);
    expect(plugin.stats().stops.triggered).toBe(0);
    expect(engine.portfolio.position('XYZ')?.side).toBe('SHORT');
    expect(events.some((e) => e.kind === 'ANOMALY_DETECTED' && e.anomaly.type === 'BAD_TICK')).toBe(true);
    expect(plugin.stats().snapshots.deferred).toBe(1); // equity marked to the bad tick never reached the ladder
    expect(plugin.state).toBe('ACTIVE');
    await engine.dispose();
  });

  it('a quarantine that never resolves holds equity back for at most three snapshots', async () => {
    const engine = new Engine({ marketFill: 'CURRENT_CLOSE' });
    const plugin = createRiskPlugin();
    engine.use(plugin);
    const quiet = (symbol: string, m: number): Bar =>
      bar(symbol, T0 + m * MIN, 100 * (1 + 0.0005 * Math.sin(m)), 0.001);
    function* feed(): Generator<Bar> {
      for (let m = 0; m < 80; m++) {
        yield quiet('XYZ', m);
        yield quiet('ABC', m);
      }
      yield { ...quiet('XYZ', 80), high: 1_000, close: 1_000 }; // bad tick, and XYZ never ticks again
      yield quiet('ABC', 80);
      for (let m = 81; m < 90; m++) yield quiet('ABC', m);
    }
    await engine.replay(feed(), {
      strategy: async (bars, e) => {
        if (bars[0]?.timestamp !== T0) return;
        await e.submitOrder({
          clientOrderId: 'long-1',
          symbol: 'XYZ',
          side: 'BUY',
          quantity: 10,
          type: 'MARKET',
          intent: 'ENTRY',
        });
      },
    });
    expect(plugin.stats().snapshots.deferred).toBe(3);
    await engine.dispose();
  });
});
