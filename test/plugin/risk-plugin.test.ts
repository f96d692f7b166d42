import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRiskPlugin, isBulwarkError, loadKernels } from '../../src/index.js';
import type { RiskEvent } from '../../src/plugin/risk-events.js';
import { CLIENT_ORDER_ID } from '../../src/egress/client-order-id.js';
import { bar, fakeContext, MIN, order, T0 } from './helpers.js';

afterEach(() => vi.useRealTimers());

async function started(
  config: Parameters<typeof createRiskPlugin>[0] = {},
  ctxOpts: Parameters<typeof fakeContext>[0] = {},
) {
  const plugin = createRiskPlugin(config);
  const { context, sent } = fakeContext(ctxOpts);
  await plugin.onInit(context);
  const events: RiskEvent[] = [];
  plugin.subscribe((e) => events.push(e));
  return { plugin, sent, events };
}

describe('createRiskPlugin config', () => {
  it('throws one INVALID_CONFIG error listing every problem', () => {
    try {
      createRiskPlugin({
        limits: { maxSymbols: 0, chunkSize: 1.5 },
        stops: { mode: 'NOPE' as never, policy: { rules: [{ kind: 'PERCENT', percent: 200 }] } },
        drawdown: { haltAt: 0.01 },
        bogus: 1,
      } as never);
      expect.unreachable();
    } catch (e) {
      expect(isBulwarkError(e, 'INVALID_CONFIG')).toBe(true);
      const problems = (e as { details: { problems: string[] } }).details.problems;
      expect(problems.length).toBeGreaterThanOrEqual(6);
      for (const part of [
        'limits.maxSymbols',
        'limits.chunkSize',
        'stops.mode',
        'rules[0].percent',
        'thresholds',
        'bogus',
      ]) {
        expect(
          problems.some((p) => p.includes(part)),
          part,
        ).toBe(true);
      }
    }
  });

  it('freezes the resolved config, defaults included', () => {
    const plugin = createRiskPlugin({ stops: { policy: { rules: [{ kind: 'PERCENT', percent: 2 }] } } });
    expect(Object.isFrozen(plugin.config)).toBe(true);
    expect(Object.isFrozen(plugin.config.stops.policy.rules[0])).toBe(true);
    expect(plugin.config.limits.maxSymbols).toBe(10_000);
  });

  it('fails closed before onInit', () => {
    const plugin = createRiskPlugin();
    const d = plugin.beforeOrder(order());
    expect(d.allow).toBe(false);
    expect(!d.allow && d.code).toBe('PLUGIN_ERROR');
    expect(() => plugin.onBars([])).toThrow(/NOT_INITIALIZED/);
  });
});

describe('RiskPlugin input validation', () => {
  it('rejects bad bars one by one with codes; the rest of the batch proceeds', async () => {
    const { plugin } = await started();
    await plugin.onBars([
      bar('AAA', T0, 100),
      { ...bar('BBB', T0, 50), high: 40 }, // high < close
      { ...bar('CCC', T0, 20), close: Number.NaN },
      { ...bar('DDD', T0, 20), volume: -1 },
      { ...bar('EEE', T0, 20), symbol: 'bad symbol!' },
      { ...bar('FFF', T0, 20), timestamp: 'yesterday' } as never,
      null as never,
      bar('GGG', T0, 10),
    ]);
    await plugin.onBars([bar('AAA', T0, 101)]); // same timestamp again: not after the last
    const s = plugin.stats();
    expect(s.bars).toMatchObject({ received: 9, accepted: 2, rejected: 7 });
    expect(s.rejections).toEqual({
      INCONSISTENT_OHLC: 1,
      NON_FINITE_VALUE: 1,
      NEGATIVE_VOLUME: 1,
      INVALID_SYMBOL: 1,
      INVALID_TIMESTAMP: 1,
      MALFORMED_RECORD: 1,
      NON_MONOTONIC_TIMESTAMP: 1,
    });
  });

  it('refuses symbols beyond maxSymbols with SYMBOL_LIMIT', async () => {
    const { plugin } = await started({ limits: { maxSymbols: 2 } });
    await plugin.onBars([bar('A', T0, 1), bar('B', T0, 1), bar('C', T0, 1)]);
    expect(plugin.stats().rejections).toEqual({ SYMBOL_LIMIT: 1 });
    expect(plugin.stats().symbols).toBe(2);
  });

  it('rejects bad fills and snapshots with codes, keeping the good positions of a snapshot', async () => {
    const { plugin } = await started();
    plugin.onFill({
      fillId: 'f1',
      orderId: 'o',
      symbol: 'AAA',
      side: 'BUY',
      quantity: -1,
      price: 1,
      timestamp: T0,
    });
    plugin.onPortfolio({ timestamp: T0, equity: Number.NaN, positions: [] });
    plugin.onPortfolio({
      timestamp: T0 + 1,
      equity: 1_000,
      positions: [
        { symbol: 'AAA', side: 'LONG', quantity: 1, entryPrice: 10, openedAt: T0 },
        { symbol: 'BBB', side: 'SIDEWAYS' as never, quantity: 1, entryPrice: 10, openedAt: T0 },
      ],
    });
    expect(plugin.stats().rejections).toEqual({ INVALID_QUANTITY: 1, NON_FINITE_VALUE: 1, INVALID_SIDE: 1 });
    expect(plugin.stats().positions).toBe(1);
  });
});

describe('RiskPlugin stops on the kernel ATR', () => {
  it.each([
    ['its own ATR bank', {}],
    ["the detector's short ATR (same period, shared)", { atrShortPeriod: 3 }],
  ] as const)(
    'trails a chandelier stop for a long and a short with the streaming ATR (%s), and fires it',
    async (_, anomaly) => {
      const { plugin, sent } = await started({
        stops: { atrPeriod: 3, policy: { rules: [{ kind: 'CHANDELIER', multiple: 2 }] } },
        anomaly,
      });
      plugin.onPortfolio({
        timestamp: T0,
        equity: 10_000,
        positions: [
          { symbol: 'L', side: 'LONG', quantity: 10, entryPrice: 100, openedAt: T0 },
          { symbol: 'S', side: 'SHORT', quantity: 10, entryPrice: 100, openedAt: T0 },
        ],
      });
      const closes = [100, 101, 102, 103, 104];
      const bars = closes.map((c, i) => [bar('L', T0 + (i + 1) * MIN, c), bar('S', T0 + (i + 1) * MIN, 200 - c)]);
      for (const b of bars) await plugin.onBars(b);
      // Reference: the same ATR from the batch kernel, the chandelier from the highest high.
      const k = await loadKernels();
      const l = bars.map((b) => b[0]!);
      const s = bars.map((b) => b[1]!);
      const atrL = k.atr(
        l.map((b) => b.high),
        l.map((b) => b.low),
        l.map((b) => b.close),
        3,
      );
      const atrS = k.atr(
        s.map((b) => b.high),
        s.map((b) => b.low),
        s.map((b) => b.close),
        3,
      );
      const expectedL = Math.max(
        ...l.slice(2).map((b, i) => Math.max(...l.slice(0, i + 3).map((x) => x.high)) - 2 * atrL[i + 2]!),
      );
      const expectedS = Math.min(
        ...s.slice(2).map((b, i) => Math.min(...s.slice(0, i + 3).map((x) => x.low)) + 2 * atrS[i + 2]!),
      );
      expect(plugin.stopOf('L')?.stop).toBeCloseTo(expectedL, 9);
      expect(plugin.stopOf('S')?.stop).toBeCloseTo(expectedS, 9);
      await plugin.onBars([bar('L', T0 + 10 * MIN, 90), bar('S', T0 + 10 * MIN, 110)]);
      await plugin.onDispose();
      expect(sent.map((c) => [c.kind, c.symbol])).toEqual([
        ['CLOSE_POSITION', 'L'],
        ['CLOSE_POSITION', 'S'],
      ]);
      expect(plugin.stats().stops.triggered).toBe(2);
      expect(sent.every((c) => CLIENT_ORDER_ID.test(c.clientOrderId))).toBe(true); // the broker protocol's id format
      expect(new Set(sent.map((c) => c.clientOrderId)).size).toBe(2);
    },
  );
});

describe('RiskPlugin trading state and the veto', () => {
  it('REDUCING denies new exposure but lets exits, reduce-only and protective orders against a held position through', async () => {
    vi.useFakeTimers({ now: T0 });
    const { plugin, events } = await started();
    const positions = [{ symbol: 'AAA', side: 'LONG' as const, quantity: 1, entryPrice: 10, openedAt: T0 }];
    plugin.onPortfolio({ timestamp: T0, equity: 1_000, positions });
    plugin.onPortfolio({ timestamp: T0 + MIN, equity: 880, positions });
    expect(plugin.state).toBe('REDUCING');
    const d = plugin.beforeOrder(order());
    expect(!d.allow && d.code).toBe('REDUCING_NEW_EXPOSURE');
    expect(plugin.beforeOrder(order({ intent: 'EXIT', side: 'SELL' })).allow).toBe(true);
    expect(plugin.beforeOrder(order({ reduceOnly: true, side: 'SELL' })).allow).toBe(true);
    expect(plugin.beforeOrder(order({ intent: 'PROTECTIVE', side: 'SELL', type: 'STOP', price: 9 })).allow).toBe(true);
    expect(events.filter((e) => e.kind === 'STATE_CHANGED').map((e) => e.kind === 'STATE_CHANGED' && e.to)).toEqual([
      'REDUCING',
    ]);
    expect(events.some((e) => e.kind === 'ORDER_DENIED' && e.code === 'REDUCING_NEW_EXPOSURE')).toBe(true);
  });

  it('HALTED denies entries, allows exits, and resumes after recovery and the cooldown', async () => {
    vi.useFakeTimers({ now: T0 });
    const { plugin } = await started({ drawdown: { cooldownMs: 10 * MIN } });
    const positions = [{ symbol: 'AAA', side: 'LONG' as const, quantity: 1, entryPrice: 10, openedAt: T0 }];
    plugin.onPortfolio({ timestamp: T0, equity: 1_000, positions });
    plugin.onPortfolio({ timestamp: T0 + MIN, equity: 800, positions });
    expect(plugin.state).toBe('HALTED');
    const d = plugin.beforeOrder(order());
    expect(!d.allow && d.code).toBe('TRADING_HALTED');
    expect(plugin.beforeOrder(order({ intent: 'EXIT', side: 'SELL' })).allow).toBe(true);
    plugin.onPortfolio({ timestamp: T0 + 2 * MIN, equity: 990, positions: [] });
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(plugin.beforeOrder(order()).allow).toBe(true);
    expect(plugin.state).toBe('ACTIVE');
  });

  it('manual reset returns to ACTIVE', async () => {
    vi.useFakeTimers({ now: T0 });
    const { plugin } = await started();
    plugin.onPortfolio({ timestamp: T0, equity: 1_000, positions: [] });
    plugin.onPortfolio({ timestamp: T0 + MIN, equity: 700, positions: [] });
    plugin.reset();
    expect(plugin.state).toBe('ACTIVE');
  });

  it('denies an entry that would open a position beyond maxPositions, and invalid orders', async () => {
    const { plugin } = await started({ limits: { maxPositions: 1 } });
    plugin.onPortfolio({
      timestamp: T0,
      equity: 1_000,
      positions: [{ symbol: 'AAA', side: 'LONG', quantity: 1, entryPrice: 10, openedAt: T0 }],
    });
    expect(plugin.beforeOrder(order({ symbol: 'AAA' })).allow).toBe(true); // adds to the existing position
    const d = plugin.beforeOrder(order({ symbol: 'BBB' }));
    expect(!d.allow && d.code).toBe('POSITION_LIMIT');
    const bad = plugin.beforeOrder(order({ quantity: Number.NaN }));
    expect(!bad.allow && bad.code).toBe('INVALID_ORDER');
    expect(plugin.stats().orders.denied).toEqual({ POSITION_LIMIT: 1, INVALID_ORDER: 1 });
  });
});

describe('RiskPlugin backpressure', () => {
  it('works through 10^4 positions in bounded chunks, yielding to the event loop between them', async () => {
    const n = 10_000;
    const { plugin } = await started({
      limits: { chunkSize: 1_000 },
      stops: { policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } },
    });
    const symbols = Array.from({ length: n }, (_, i) => `S${i}`);
    plugin.onPortfolio({
      timestamp: T0,
      equity: 1e9,
      positions: symbols.map((symbol) => ({ symbol, side: 'LONG', quantity: 1, entryPrice: 100, openedAt: T0 })),
    });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    let immediates = 0;
    const count = () => {
      immediates++;
      if (immediates < 1_000) setImmediate(count);
    };
    setImmediate(count);
    await plugin.onBars(symbols.map((s) => bar(s, T0 + MIN, 100)));
    clearInterval(ticker);
    expect(immediates).toBeGreaterThanOrEqual(9); // the event loop ran between the 10 chunks
    expect(plugin.stats().bars.accepted).toBe(n);
    expect(plugin.stats().positions).toBe(n);
  });

  it('bars that arrive mid-batch wait in a bounded mailbox, latest per symbol, beyond it QUEUE_FULL', async () => {
    const { plugin } = await started({ limits: { chunkSize: 10, maxPendingBars: 3 } });
    const first = plugin.onBars(Array.from({ length: 50 }, (_, i) => bar(`S${i}`, T0, 100)));
    const second = plugin.onBars([bar('S1', T0 + MIN, 101), bar('S2', T0 + MIN, 101)]);
    const third = plugin.onBars([bar('S1', T0 + 2 * MIN, 102), bar('S3', T0 + MIN, 101), bar('S4', T0 + MIN, 101)]);
    await Promise.all([first, second, third]);
    const s = plugin.stats();
    expect(s.bars.coalesced).toBe(1); // S1 at +1 min replaced by S1 at +2 min
    expect(s.rejections).toEqual({ QUEUE_FULL: 1 }); // S4: a fourth symbol
    // The refused bar left no trace: sent again once there is room, it is accepted.
    const accepted = s.bars.accepted;
    await plugin.onBars([bar('S4', T0 + MIN, 101)]);
    expect(plugin.stats().bars.accepted).toBe(accepted + 1);
    expect(plugin.stats().rejections).toEqual({ QUEUE_FULL: 1 });
  });
});

describe("RiskPlugin keeps none of the caller's bars", () => {
  it('a host that reuses or changes its bar objects once onBars returns changes nothing, mid-chunk or queued', async () => {
    // Two plugins see the same bars: one gets fresh objects it may keep, the other a host that
    // overwrites each bar object with garbage as soon as the call returns (a reused buffer).
    const config = {
      limits: { chunkSize: 7 },
      stops: {
        mode: 'LOCAL' as const,
        atrPeriod: 3,
        policy: {
          rules: [
            { kind: 'ATR' as const, multiple: 2 },
            { kind: 'CHANDELIER' as const, multiple: 2 },
          ],
        },
      },
    };
    const clean = await started(config);
    const reused = await started(config);
    const symbols = Array.from({ length: 40 }, (_, i) => `S${i}`);
    const positions = symbols.map((symbol, i) => ({
      symbol,
      side: i % 2 === 0 ? ('LONG' as const) : ('SHORT' as const),
      quantity: 1,
      entryPrice: 100,
      openedAt: T0,
    }));
    for (const p of [clean.plugin, reused.plugin]) p.onPortfolio({ timestamp: T0, equity: 1e6, positions });
    const pending: Promise<void>[] = [];
    for (let t = 1; t <= 30; t++) {
      const bars = symbols.map((s, i) => bar(s, T0 + t * MIN, 100 * (1 + 0.002 * Math.sin(t + i)), 0.004));
      pending.push(clean.plugin.onBars(bars.map((b) => ({ ...b }))));
      pending.push(reused.plugin.onBars(bars)); // while busy these are queued: the mailbox must copy them
      for (const b of bars)
        Object.assign(b, { symbol: 'ZZZ', timestamp: 0, open: 1e9, high: 1e9, low: 1, close: 5e8, volume: 1e12 });
      if (t % 3 === 0) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await Promise.all([clean.plugin.settled(), reused.plugin.settled()]);
    expect(reused.plugin.stats()).toEqual(clean.plugin.stats());
    expect(reused.plugin.toJSON().stops).toEqual(clean.plugin.toJSON().stops);
    expect(reused.plugin.stats().bars.coalesced).toBeGreaterThan(0); // the mailbox was in play
    expect(reused.plugin.stats().stops.moved).toBeGreaterThan(0);
  });
});

describe('RiskPlugin snapshot', () => {
  it('toJSON gives the stats and one small frozen view per stop', async () => {
    const { plugin } = await started({ stops: { policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } } });
    plugin.onPortfolio({
      timestamp: T0,
      equity: 1e6,
      positions: [{ symbol: 'AAA', side: 'SHORT', quantity: 3, entryPrice: 10, openedAt: T0 }],
    });
    const snap = plugin.toJSON();
    expect(snap.stops).toEqual([
      { symbol: 'AAA', side: 'SHORT', quantity: 3, entryPrice: 10, stop: 10.5, version: 1, status: 'OPEN' },
    ]);
    expect(Object.isFrozen(snap.stops[0])).toBe(true);
    expect(JSON.parse(JSON.stringify(snap)).stats.positions).toBe(1);
  });
});

describe('RiskPlugin anomaly actions', () => {
  it('a spike whose actions are TIGHTEN_STOPS and REDUCE tightens every stop and holds REDUCING for anomalyReduceMs', async () => {
    let now = T0;
    const plugin = createRiskPlugin({
      stops: { policy: { rules: [{ kind: 'PERCENT', percent: 10 }] }, tightenFraction: 0.5 },
      anomaly: { actions: { PRICE_SPIKE: ['TIGHTEN_STOPS', 'REDUCE'] }, correlationSymbols: 0 },
      anomalyReduceMs: 15 * MIN,
    });
    const { context } = fakeContext({ now: () => now });
    await plugin.onInit(context);
    plugin.onPortfolio({
      timestamp: T0,
      equity: 1e6,
      positions: [
        { symbol: 'L', side: 'LONG', quantity: 1, entryPrice: 100, openedAt: T0 },
        { symbol: 'S', side: 'SHORT', quantity: 1, entryPrice: 100, openedAt: T0 },
      ],
    });
    const wobble = (m: number) => 100 * (1 + 0.0005 * Math.sin(m * 1.7));
    for (let m = 1; m <= 60; m++) {
      now = T0 + m * MIN;
      await plugin.onBars([bar('L', now, wobble(m), 0.001), bar('S', now, wobble(m + 3), 0.001)]);
    }
    expect(plugin.stopOf('L')?.stop).toBeCloseTo(90, 9);
    expect(plugin.stopOf('S')?.stop).toBeCloseTo(110, 9);
    now = T0 + 61 * MIN;
    await plugin.onBars([bar('L', now, wobble(61) * 1.01, 0.001), bar('S', now, wobble(64), 0.001)]); // +1%: z ≈ 20 on L
    expect(plugin.stats().anomalies.PRICE_SPIKE).toBe(1);
    expect(plugin.state).toBe('REDUCING');
    const lStop = plugin.stopOf('L')?.stop ?? Number.NaN;
    const sStop = plugin.stopOf('S')?.stop ?? Number.NaN;
    // Halfway towards each symbol's last close before the event: the spike bar itself is not trusted.
    expect(lStop).toBeCloseTo(90 + (wobble(60) - 90) / 2, 9);
    expect(sStop).toBeCloseTo(110 + (wobble(63) - 110) / 2, 9);
    expect(!plugin.beforeOrder(order({ symbol: 'L' })).allow).toBe(true);
    now = T0 + 77 * MIN; // past anomalyReduceMs
    await plugin.onBars([bar('L', now, wobble(61) * 1.01, 0.001), bar('S', now, wobble(65), 0.001)]);
    expect(plugin.state).toBe('ACTIVE');
    expect(plugin.beforeOrder(order({ symbol: 'L' })).allow).toBe(true);
    await plugin.onDispose();
  });

  it('bounds the work of one call: bars beyond limits.maxBatchBars are rejected BATCH_LIMIT and counted', async () => {
    const { plugin } = await started({ limits: { maxBatchBars: 3 } });
    await plugin.onBars(['A', 'B', 'C', 'D', 'E'].map((s) => bar(s, T0 + MIN, 10)));
    const st = plugin.stats();
    expect(st.bars).toMatchObject({ received: 5, accepted: 3, rejected: 2 });
    expect(st.rejections).toEqual({ BATCH_LIMIT: 2 });
    expect(plugin.stats().symbols).toBe(3);
  });
});
