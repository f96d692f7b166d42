import { describe, expect, it, vi } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { isEngineError } from '../../src/engine/errors.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { deny } from '../../src/vocabulary/orders.js';
import type { PluginContext } from '../../src/vocabulary/services.js';
import { at, bar, recorder } from './helpers.js';

describe('Engine.replay', () => {
  it('replays an async generator of raw records (ISO strings, epoch ms, and bad records counted)', async () => {
    async function* feed(): AsyncGenerator<unknown> {
      yield { timestamp: '2026-03-02T14:30:00Z', symbol: 'ACME', open: 10, high: 11, low: 9, close: 10.5, volume: 100 };
      await new Promise((r) => setTimeout(r, 1));
      yield { timestamp: at(0), symbol: 'BETA', open: 20, high: 21, low: 19, close: 20.5, volume: 100 };
      yield 'junk';
      yield {
        timestamp: at(1),
        symbol: 'ACME',
        open: 10,
        high: 11,
        low: 9,
        close: Number.POSITIVE_INFINITY,
        volume: 1,
      };
      yield { timestamp: at(1), symbol: 'ACME', open: 10.5, high: 12, low: 10, close: 11, volume: 100 };
    }
    const engine = new Engine();
    const r = recorder('r');
    engine.use(r);
    const s = await engine.replay(feed());
    expect(s).toMatchObject({
      barsRead: 5,
      barsAccepted: 3,
      barsRejected: 2,
      rejectedByCode: { MALFORMED_RECORD: 1, NON_FINITE_VALUE: 1 },
      batches: 2,
    });
    expect(r.batches.map((b) => b.map((x) => `${x.symbol}@${x.timestamp - at(0)}`))).toEqual([
      ['ACME@0', 'BETA@0'],
      ['ACME@60000'],
    ]);
  });

  it('runs each batch as: plugins see the bars → strategy → fills → onFill → onPortfolio, with ctx.now() at the batch time', async () => {
    const engine = new Engine({ startingCash: 10_000 });
    const log: string[] = [];
    let ctx: PluginContext | undefined;
    const clock = (): string => `@${((ctx as PluginContext).now() - at(0)) / 60_000}`;
    engine.use({
      name: 'p',
      onInit: (c) => void (ctx = c),
      onBars: (bars) => void log.push(`bars ${bars.length} ${clock()}`),
      beforeOrder: (o) => (log.push(`order ${o.clientOrderId} ${clock()}`), { allow: true }),
      onFill: (f) => void log.push(`fill ${f.orderId} ${f.price} ${clock()}`),
      onPortfolio: (s) => void log.push(`portfolio ${s.equity} ${s.positions.length} ${clock()}`),
    });
    const strategy = async (bars: readonly Bar[], e: Engine): Promise<void> => {
      log.push('strategy');
      if (bars[0]?.timestamp === at(0))
        await e.submitOrder({
          clientOrderId: 'e1',
          symbol: 'ACME',
          side: 'BUY',
          quantity: 10,
          type: 'MARKET',
          intent: 'ENTRY',
        });
    };
    await engine.replay([bar(0, 'ACME', 100, 101, 99, 100), bar(1, 'ACME', 101, 103, 100, 102)], { strategy });
    expect(log).toEqual([
      'bars 1 @0',
      'strategy',
      'order e1 @0',
      'portfolio 10000 0 @0',
      'bars 1 @1',
      'strategy',
      'fill e1 101 @1',
      'portfolio 10010 1 @1',
    ]);
  });

  it('summarises orders submitted, denied by code and filled, fills, commands and final equity — per replay', async () => {
    const engine = new Engine({ startingCash: 100_000 });
    engine.use({
      name: 'no-beta',
      beforeOrder: (o) => (o.symbol === 'BETA' ? deny('SYMBOL_QUARANTINED', 'BETA is quarantined') : { allow: true }),
    });
    engine.use({
      name: 'protector',
      onInit(ctx) {
        this.onFill = async (f) => {
          if (f.orderId.startsWith('e'))
            await ctx.orders.send({
              kind: 'PLACE_STOP',
              clientOrderId: `stop-${f.orderId}`,
              symbol: f.symbol,
              side: 'SELL',
              quantity: f.quantity,
              stopPrice: f.price - 5,
            });
        };
      },
    });
    let n = 0;
    const strategy = async (bars: readonly Bar[], e: Engine): Promise<void> => {
      if (bars[0]?.timestamp !== at(0)) return;
      for (const b of bars)
        await e.submitOrder({
          clientOrderId: `e${++n}`,
          symbol: b.symbol,
          side: 'BUY',
          quantity: 10,
          type: 'MARKET',
          intent: 'ENTRY',
        });
    };
    const s = await engine.replay(
      [
        bar(0, 'ACME', 100, 101, 99, 100),
        bar(0, 'BETA', 50, 51, 49, 50),
        bar(1, 'ACME', 100, 102, 99, 101), // entry fills at 100, stop at 95 placed
        bar(2, 'ACME', 96, 97, 90, 92), // stop fills at 95
      ],
      { strategy },
    );
    expect(s).toMatchObject({
      barsAccepted: 4,
      batches: 3,
      ordersSubmitted: 2,
      ordersDenied: 1,
      deniedByCode: { SYMBOL_QUARANTINED: 1 },
      ordersFilled: 1,
      fills: 2,
      commands: { PLACE_STOP: 1 },
      finalEquity: 100_000 - 50,
      finalCash: 100_000 - 50,
      realisedPnl: -50,
      firstTimestamp: at(0),
      lastTimestamp: at(2),
    });
    const again = await engine.replay([bar(3, 'ACME', 92, 93, 91, 92)]);
    expect(again).toMatchObject({
      ordersSubmitted: 0,
      ordersDenied: 0,
      deniedByCode: {},
      fills: 0,
      commands: {},
      finalEquity: 100_000 - 50,
    });
    expect(engine.stats()).toMatchObject({ ordersSubmitted: 2, fills: 2 });
  });

  it('replays a plain iterable, and an empty source gives an empty summary', async () => {
    const engine = new Engine();
    expect((await engine.replay(new Set([bar(0, 'ACME', 1, 1, 1, 1)]))).batches).toBe(1);
    expect(await engine.replay([])).toMatchObject({
      barsRead: 0,
      batches: 0,
      firstTimestamp: undefined,
      lastTimestamp: undefined,
      finalEquity: 1_000_000,
    });
  });

  it('refuses a second replay while one runs (REPLAY_IN_PROGRESS), then accepts one after', async () => {
    const engine = new Engine();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<unknown> {
      await gate;
      yield bar(0, 'ACME', 1, 1, 1, 1);
    }
    const first = engine.replay(slow());
    await expect(engine.replay([])).rejects.toSatisfy((e) => isEngineError(e, 'REPLAY_IN_PROGRESS'));
    release();
    expect((await first).batches).toBe(1);
    expect((await engine.replay([bar(1, 'ACME', 1, 1, 1, 1)])).batches).toBe(1);
  });

  it('stop() ends a replay after its batch; until then the engine is still busy (a new replay is refused), afterwards it is free', async () => {
    const engine = new Engine();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let strategyCalls = 0;
    const strategy = async (): Promise<void> => {
      strategyCalls++;
      await gate; // the batch is in progress while stop() is called
    };
    const first = engine.replay([bar(0, 'ACME', 1, 1, 1, 1), bar(60_000, 'ACME', 1, 1, 1, 1)], { strategy });
    await vi.waitFor(() => expect(strategyCalls).toBe(1));
    engine.stop();
    await expect(engine.replay([])).rejects.toSatisfy((e) => isEngineError(e, 'REPLAY_IN_PROGRESS'));
    release();
    expect((await first).batches).toBe(1); // the second bar's batch never ran
    expect(strategyCalls).toBe(1);
    expect((await engine.replay([bar(120_000, 'ACME', 1, 1, 1, 1)])).batches).toBe(1);
  });

  it('propagates an error thrown by the strategy (user code, not a plugin) and frees the engine', async () => {
    const engine = new Engine();
    const strategy = (): void => {
      throw new Error('strategy bug');
    };
    await expect(engine.replay([bar(0, 'ACME', 1, 1, 1, 1)], { strategy })).rejects.toThrow('strategy bug');
    expect((await engine.replay([bar(1, 'ACME', 1, 1, 1, 1)])).batches).toBe(1);
  });
});

describe('EngineOptions', () => {
  it('are validated up front, every problem reported at once (INVALID_ENGINE_OPTION)', () => {
    try {
      new Engine({ startingCash: -1, marketFill: 'LATER' as never, maxSymbols: 0, limits: { maxPrice: Number.NaN } });
      expect.unreachable();
    } catch (e) {
      expect(isEngineError(e, 'INVALID_ENGINE_OPTION')).toBe(true);
      expect((e as { details: { problems: string[] } }).details.problems).toHaveLength(4);
    }
  });

  it('default to 1 000 000 starting cash', () => {
    expect(new Engine().portfolio.equity()).toBe(1_000_000);
  });
});
