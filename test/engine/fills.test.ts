import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/engine/options.js';
import type { Bar } from '../../src/vocabulary/market.js';
import type { OrderRequest, ProtectiveCommand } from '../../src/vocabulary/orders.js';
import { at, bar, recorder, type Recorder } from './helpers.js';

const market = (
  id: string,
  side: 'BUY' | 'SELL',
  quantity: number,
  symbol = 'ACME',
  intent: OrderRequest['intent'] = 'ENTRY',
): OrderRequest => ({ clientOrderId: id, symbol, side, quantity, type: 'MARKET', intent });
const stop = (
  id: string,
  side: 'BUY' | 'SELL',
  quantity: number,
  stopPrice: number,
  symbol = 'ACME',
): ProtectiveCommand => ({ kind: 'PLACE_STOP', clientOrderId: id, symbol, side, quantity, stopPrice });

function setup(options: EngineOptions = {}): { engine: Engine; rec: Recorder } {
  const engine = new Engine(options);
  const rec = recorder('rec');
  engine.use(rec);
  return { engine, rec };
}

const fillsOf = (rec: Recorder): [string, string, number, number, number][] =>
  rec.fills.map((f) => [f.orderId, f.side, f.quantity, f.price, f.timestamp]);

describe('MARKET orders', () => {
  it('fill at the open of the symbol’s next bar, long and short', async () => {
    const { engine, rec } = setup();
    expect(await engine.submitOrder(market('long', 'BUY', 10))).toEqual({ allow: true });
    expect(await engine.submitOrder(market('short', 'SELL', 5, 'BETA'))).toEqual({ allow: true });
    await engine.replay([bar(0, 'ACME', 100, 102, 99, 101), bar(0, 'BETA', 50, 51, 49, 50.5)]);
    expect(fillsOf(rec)).toEqual([
      ['long', 'BUY', 10, 100, at(0)],
      ['short', 'SELL', 5, 50, at(0)],
    ]);
    expect(engine.portfolio.list()).toEqual([
      { symbol: 'ACME', side: 'LONG', quantity: 10, entryPrice: 100, openedAt: at(0) },
      { symbol: 'BETA', side: 'SHORT', quantity: 5, entryPrice: 50, openedAt: at(0) },
    ]);
  });

  it('sent during a batch, fill at the symbol’s next bar, not the one already seen (waiting out batches without it)', async () => {
    const { engine, rec } = setup();
    const strategy = async (bars: readonly Bar[], e: Engine): Promise<void> => {
      if (bars[0]?.timestamp === at(0)) await e.submitOrder(market('m', 'BUY', 1));
    };
    await engine.replay(
      [bar(0, 'ACME', 100, 101, 99, 100.5), bar(1, 'BETA', 50, 51, 49, 50), bar(2, 'ACME', 103, 104, 102, 103.5)],
      { strategy },
    );
    expect(fillsOf(rec)).toEqual([['m', 'BUY', 1, 103, at(2)]]);
  });

  it("with marketFill 'CURRENT_CLOSE', fill at the close of the bar they were sent on", async () => {
    const { engine, rec } = setup({ marketFill: 'CURRENT_CLOSE' });
    const strategy = async (bars: readonly Bar[], e: Engine): Promise<void> => {
      if (bars[0]?.timestamp === at(0)) await e.submitOrder(market('m', 'BUY', 1));
    };
    await engine.replay([bar(0, 'ACME', 100, 101, 99, 100.5), bar(1, 'ACME', 103, 104, 102, 103.5)], { strategy });
    expect(fillsOf(rec)).toEqual([['m', 'BUY', 1, 100.5, at(0)]]);
  });
});

describe('STOP orders', () => {
  it('a SELL stop under a long fills at the stop when a bar trades through it, at the open when it gaps through', async () => {
    const { engine, rec } = setup();
    await engine.submitOrder(market('entry', 'BUY', 10));
    await engine.submitOrder(market('entry2', 'BUY', 10, 'BETA'));
    await engine.orders.send(stop('s1', 'SELL', 10, 95));
    await engine.orders.send(stop('s2', 'SELL', 10, 45, 'BETA'));
    await engine.replay([
      bar(0, 'ACME', 100, 101, 96, 97), // low 96 > 95: no trigger
      bar(0, 'BETA', 50, 51, 48, 49),
      bar(1, 'ACME', 97, 98, 94, 95.5), // low 94 ≤ 95: fills at 95
      bar(1, 'BETA', 42, 43, 41, 42.5), // opened at 42 < 45: gap, fills at the open
    ]);
    expect(fillsOf(rec)).toEqual([
      ['entry', 'BUY', 10, 100, at(0)],
      ['entry2', 'BUY', 10, 50, at(0)],
      ['s1', 'SELL', 10, 95, at(1)],
      ['s2', 'SELL', 10, 42, at(1)],
    ]);
    expect(engine.portfolio.list()).toEqual([]);
    expect(engine.portfolio.realisedPnl).toBeCloseTo(10 * (95 - 100) + 10 * (42 - 50), 10);
  });

  it('a BUY stop over a short fills at the stop when high ≥ stop, at the open on a gap up', async () => {
    const { engine, rec } = setup();
    await engine.submitOrder(market('entry', 'SELL', 10));
    await engine.submitOrder(market('entry2', 'SELL', 10, 'BETA'));
    await engine.orders.send(stop('s1', 'BUY', 10, 105));
    await engine.orders.send(stop('s2', 'BUY', 10, 55, 'BETA'));
    await engine.replay([
      bar(0, 'ACME', 100, 104, 99, 103), // high 104 < 105
      bar(0, 'BETA', 50, 51, 49, 50),
      bar(1, 'ACME', 103, 106, 102, 104), // high 106 ≥ 105: at 105
      bar(1, 'BETA', 58, 59, 57, 58), // opened at 58 > 55: at 58
    ]);
    expect(fillsOf(rec).slice(2)).toEqual([
      ['s1', 'BUY', 10, 105, at(1)],
      ['s2', 'BUY', 10, 58, at(1)],
    ]);
    expect(engine.portfolio.realisedPnl).toBeCloseTo(-10 * 5 - 10 * 8, 10);
  });

  it('a stop placed while a batch is processed is not tested against that batch’s bar (no look-ahead)', async () => {
    const engine = new Engine();
    const rec = recorder('rec');
    engine.use({
      name: 'placer',
      onInit(ctx) {
        this.onBars = async (bars) => {
          if (bars[0]?.timestamp === at(1)) await ctx.orders.send(stop('s', 'SELL', 10, 95));
        };
      },
    });
    engine.use(rec);
    await engine.submitOrder(market('entry', 'BUY', 10));
    await engine.replay([
      bar(0, 'ACME', 100, 101, 99, 100),
      bar(1, 'ACME', 100, 100, 90, 96),
      bar(2, 'ACME', 96, 97, 94, 95),
    ]);
    expect(fillsOf(rec)).toEqual([
      ['entry', 'BUY', 10, 100, at(0)],
      ['s', 'SELL', 10, 95, at(2)],
    ]);
  });

  it('a reduce-only stop with nothing to reduce is cancelled, not filled (NOTHING_TO_REDUCE)', async () => {
    const { engine, rec } = setup();
    await engine.orders.send(stop('s', 'SELL', 10, 95));
    const s = await engine.replay([bar(0, 'ACME', 100, 100, 90, 92)]);
    expect(rec.fills).toEqual([]);
    expect(s.cancelledByReason).toEqual({ NOTHING_TO_REDUCE: 1 });
    expect(await engine.orders.openOrders()).toEqual([]);
  });
});

describe('LIMIT orders', () => {
  it('a BUY limit fills at the limit when low ≤ limit, or at a better open; a SELL limit when high ≥ limit', async () => {
    const { engine, rec } = setup();
    const limit = (id: string, side: 'BUY' | 'SELL', price: number, symbol: string): OrderRequest => ({
      clientOrderId: id,
      symbol,
      side,
      quantity: 1,
      type: 'LIMIT',
      price,
      intent: 'ENTRY',
    });
    await engine.submitOrder(limit('b1', 'BUY', 98, 'ACME'));
    await engine.submitOrder(limit('b2', 'BUY', 98, 'BETA'));
    await engine.submitOrder(limit('s1', 'SELL', 102, 'GAMA'));
    await engine.submitOrder(limit('s2', 'SELL', 102, 'DELT'));
    await engine.replay([
      bar(0, 'ACME', 100, 101, 97, 99), // trades down to 98: at 98
      bar(0, 'BETA', 96, 97, 95, 96), // opens below 98: at 96
      bar(0, 'GAMA', 100, 101, 99, 100), // never reaches 102: no fill
      bar(0, 'DELT', 104, 105, 103, 104), // opens above 102: at 104
    ]);
    expect(fillsOf(rec).map(([id, , , price]) => [id, price])).toEqual([
      ['b1', 98],
      ['b2', 96],
      ['s2', 104],
    ]);
    expect((await engine.orders.openOrders()).map((o) => [o.clientOrderId, o.type, o.price, o.intent])).toEqual([
      ['s1', 'LIMIT', 102, 'ENTRY'],
    ]);
    // A working entry can be cancelled like any other order (what a HALTED risk plugin does).
    expect(await engine.orders.send({ kind: 'CANCEL', clientOrderId: 's1', symbol: 'GAMA' })).toMatchObject({
      ok: true,
      clientOrderId: 's1',
    });
    await engine.replay([bar(1, 'GAMA', 103, 104, 102, 103)]);
    expect(rec.fills).toHaveLength(3);
  });
});

describe('AMEND_STOP', () => {
  it('applies a newer version and ignores one ≤ the last applied (answered ok, counted)', async () => {
    const { engine } = setup();
    await engine.orders.send(stop('s', 'SELL', 10, 90));
    const amend = (stopPrice: number, version: number): Promise<unknown> =>
      engine.orders.send({ kind: 'AMEND_STOP', clientOrderId: 's', symbol: 'ACME', stopPrice, version });
    expect(await amend(92, 0)).toMatchObject({ ok: true, clientOrderId: 's' }); // the first amend applies whatever its version
    expect(await amend(95, 2)).toMatchObject({ ok: true, clientOrderId: 's' });
    expect(await amend(93, 1)).toMatchObject({ ok: true, clientOrderId: 's' }); // late, lower version: ignored
    expect(await amend(94, 2)).toMatchObject({ ok: true, clientOrderId: 's' }); // same version: ignored
    expect(await amend(91, 3)).toMatchObject({ ok: true, clientOrderId: 's' }); // loosening is not checked
    expect((await engine.orders.openOrders()).map((o) => o.price)).toEqual([91]);
    expect(engine.stats()).toMatchObject({ amendsIgnored: 2, commands: { PLACE_STOP: 1, AMEND_STOP: 5 } });
  });

  it('refuses an unknown order, another symbol, a non-stop, or a bad price with a code', async () => {
    const { engine } = setup();
    await engine.submitOrder({
      clientOrderId: 'lim',
      symbol: 'ACME',
      side: 'BUY',
      quantity: 1,
      type: 'LIMIT',
      price: 90,
      intent: 'ENTRY',
    });
    await engine.orders.send(stop('s', 'SELL', 10, 90));
    const send = (c: Partial<Extract<ProtectiveCommand, { kind: 'AMEND_STOP' }>>): Promise<unknown> =>
      engine.orders.send({ kind: 'AMEND_STOP', clientOrderId: 's', symbol: 'ACME', stopPrice: 91, version: 1, ...c });
    expect(await send({ clientOrderId: 'nope' })).toMatchObject({ ok: false, code: 'UNKNOWN_ORDER' });
    expect(await send({ symbol: 'BETA' })).toMatchObject({ ok: false, code: 'SYMBOL_MISMATCH' });
    expect(await send({ clientOrderId: 'lim' })).toMatchObject({ ok: false, code: 'NOT_A_STOP' });
    expect(await send({ stopPrice: Number.NaN })).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
    expect(await send({ stopPrice: -1 })).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
    expect(engine.stats().commandFailures).toEqual({
      UNKNOWN_ORDER: 1,
      SYMBOL_MISMATCH: 1,
      NOT_A_STOP: 1,
      INVALID_COMMAND: 2,
    });
  });

  it('sent while a batch is processed, moves the stop from the next bar: that batch’s bar is tested against the old price', async () => {
    const engine = new Engine();
    const rec = recorder('rec');
    let version = 0;
    engine.use({
      name: 'trailer',
      onInit(ctx) {
        // Tightens the stop to 1 below each close, as a trailing stop would.
        this.onBars = async (bars) => {
          const b = bars[0] as Bar;
          await ctx.orders.send({
            kind: 'AMEND_STOP',
            clientOrderId: 's',
            symbol: 'ACME',
            stopPrice: b.close - 1,
            version: ++version,
          });
        };
      },
    });
    engine.use(rec);
    await engine.submitOrder(market('entry', 'BUY', 10));
    await engine.orders.send(stop('s', 'SELL', 10, 90));
    await engine.replay([
      bar(0, 'ACME', 100, 105, 99, 104), // stop 90 in force; then trailed to 103
      bar(1, 'ACME', 104, 108, 103.5, 107), // low 103.5 > 103: holds; trailed to 106
      bar(2, 'ACME', 107, 107, 105, 105.5), // low 105 ≤ 106: fills at 106
    ]);
    expect(fillsOf(rec)).toEqual([
      ['entry', 'BUY', 10, 100, at(0)],
      ['s', 'SELL', 10, 106, at(2)],
    ]);
  });
});

describe('CANCEL', () => {
  it('stops a working order at once; again is ok; unknown and filled orders are refused', async () => {
    const { engine, rec } = setup();
    await engine.submitOrder(market('entry', 'BUY', 10));
    await engine.orders.send(stop('s', 'SELL', 10, 95));
    expect(await engine.orders.send({ kind: 'CANCEL', clientOrderId: 's', symbol: 'ACME' })).toMatchObject({
      ok: true,
      clientOrderId: 's',
    });
    expect(await engine.orders.send({ kind: 'CANCEL', clientOrderId: 's', symbol: 'ACME' })).toMatchObject({
      ok: true,
      clientOrderId: 's',
    });
    expect(await engine.orders.openOrders()).toMatchObject([{ clientOrderId: 'entry' }]);
    await engine.replay([bar(0, 'ACME', 100, 100, 90, 91)]);
    expect(fillsOf(rec).map(([id]) => id)).toEqual(['entry']);
    expect(await engine.orders.send({ kind: 'CANCEL', clientOrderId: 'entry', symbol: 'ACME' })).toMatchObject({
      ok: false,
      code: 'ORDER_CLOSED',
    });
    expect(await engine.orders.send({ kind: 'CANCEL', clientOrderId: 'nope', symbol: 'ACME' })).toMatchObject({
      ok: false,
      code: 'UNKNOWN_ORDER',
    });
    expect(engine.stats().cancelledByReason).toEqual({ CANCEL_COMMAND: 1 });
  });
});

describe('CLOSE_POSITION', () => {
  it('closes at the next open, reduce-only (clipped to the position), and cancels the now orphaned stop', async () => {
    const { engine, rec } = setup();
    await engine.submitOrder(market('entry', 'BUY', 10));
    await engine.orders.send(stop('s', 'SELL', 10, 80));
    await engine.replay([bar(0, 'ACME', 100, 101, 99, 100)]);
    const close: ProtectiveCommand = {
      kind: 'CLOSE_POSITION',
      clientOrderId: 'flat',
      symbol: 'ACME',
      side: 'SELL',
      quantity: 25,
    };
    expect(await engine.orders.send(close)).toMatchObject({ ok: true, clientOrderId: 'flat' });
    expect((await engine.orders.openOrders()).map((o) => [o.clientOrderId, o.type, o.intent])).toEqual([
      ['s', 'STOP', 'PROTECTIVE'],
      ['flat', 'MARKET', 'PROTECTIVE'],
    ]);
    const s = await engine.replay([bar(1, 'ACME', 102, 103, 70, 75)]);
    expect(fillsOf(rec).slice(1)).toEqual([['flat', 'SELL', 10, 102, at(1)]]);
    expect(engine.portfolio.list()).toEqual([]);
    expect(s.cancelledByReason).toEqual({ POSITION_CLOSED: 1 });
    expect(await engine.orders.openOrders()).toEqual([]);
    expect(engine.portfolio.realisedPnl).toBe(20);
    // A retry of the same command is answered ok and does nothing more.
    expect(await engine.orders.send(close)).toMatchObject({ ok: true, clientOrderId: 'flat' });
  });

  it('is refused NO_POSITION without a position its side would reduce', async () => {
    const { engine } = setup();
    expect(
      await engine.orders.send({
        kind: 'CLOSE_POSITION',
        clientOrderId: 'c1',
        symbol: 'ACME',
        side: 'SELL',
        quantity: 1,
      }),
    ).toMatchObject({ ok: false, code: 'NO_POSITION' });
    await engine.submitOrder(market('entry', 'BUY', 10));
    await engine.replay([bar(0, 'ACME', 100, 101, 99, 100)]);
    expect(
      await engine.orders.send({
        kind: 'CLOSE_POSITION',
        clientOrderId: 'c2',
        symbol: 'ACME',
        side: 'BUY',
        quantity: 1,
      }),
    ).toMatchObject({ ok: false, code: 'NO_POSITION' });
  });
});

describe('command and order bookkeeping', () => {
  it('a resent PLACE_STOP is an idempotent retry; the same id with other terms is DUPLICATE_CLIENT_ORDER_ID', async () => {
    const { engine } = setup();
    expect(await engine.orders.send(stop('s', 'SELL', 10, 95))).toMatchObject({ ok: true, clientOrderId: 's' });
    expect(await engine.orders.send(stop('s', 'SELL', 10, 95))).toMatchObject({ ok: true, clientOrderId: 's' });
    expect(await engine.orders.send(stop('s', 'SELL', 10, 96))).toMatchObject({
      ok: false,
      code: 'DUPLICATE_CLIENT_ORDER_ID',
    });
    expect(await engine.orders.openOrders()).toHaveLength(1);
    expect(engine.stats().commands).toEqual({ PLACE_STOP: 3 });
  });

  it('an invalid command is INVALID_COMMAND and never throws', async () => {
    const { engine } = setup();
    expect(await engine.orders.send({ kind: 'EXPLODE' } as never)).toMatchObject({
      ok: false,
      code: 'INVALID_COMMAND',
    });
    expect(await engine.orders.send(null as never)).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
    expect(await engine.orders.send(stop('s', 'SELL', -1, 95))).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
    expect(await engine.orders.send(stop('s', 'UP' as never, 1, 95))).toMatchObject({
      ok: false,
      code: 'INVALID_COMMAND',
    });
  });

  it('submitOrder denies INVALID_ORDER for a malformed order, a reused client id, or too many working orders', async () => {
    const { engine } = setup({ maxWorkingOrders: 2 });
    expect(await engine.submitOrder({ ...market('bad', 'BUY', 1), quantity: Number.NaN })).toMatchObject({
      allow: false,
      code: 'INVALID_ORDER',
    });
    expect(await engine.submitOrder({ ...market('stp', 'BUY', 1), type: 'STOP' })).toMatchObject({
      allow: false,
      code: 'INVALID_ORDER',
    });
    expect(await engine.submitOrder(market('a', 'BUY', 1))).toEqual({ allow: true });
    expect(await engine.submitOrder(market('a', 'BUY', 1))).toMatchObject({ allow: false, code: 'INVALID_ORDER' });
    expect(await engine.submitOrder(market('b', 'BUY', 1))).toEqual({ allow: true });
    expect(await engine.submitOrder(market('c', 'BUY', 1))).toMatchObject({ allow: false, code: 'INVALID_ORDER' });
    expect(await engine.orders.send(stop('s', 'SELL', 1, 90))).toMatchObject({ ok: false, code: 'ORDER_LIMIT' });
    expect(engine.stats()).toMatchObject({ ordersSubmitted: 6, ordersDenied: 4, deniedByCode: { INVALID_ORDER: 4 } });
  });
});
