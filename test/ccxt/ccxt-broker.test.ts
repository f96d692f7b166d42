/**
 * The ccxt adapter (internal, issue 14 in progress) with the real ccxt client against the
 * simulated Binance spot API: Bulwark's protocol requests become venue orders at the venue's
 * grid, answers become the protocol's order objects, venue errors the protocol's errors; and
 * the order egress (limiter, journal) places and cancels a stop through it, judged by the
 * venue's own record.
 */
import ccxt from 'ccxt';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCcxtBroker, type CcxtBroker, type CcxtExchangeLike } from '../../src/ccxt/ccxt-broker.js';
import { BrokerRequestError } from '../../src/egress/venue-guard.js';
import { observedOrderOf } from '../../src/egress/protocol.js';
import { OrderEgress } from '../../src/egress/order-egress.js';
import { OrderJournal } from '../../src/egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { VenueGuard } from '../../src/egress/venue-guard.js';
import { startSimBinance, type SimBinanceOptions } from '../../src/testing/sim-binance.js';
import { BrokerOrderService } from '../../src/broker/broker-order-service.js';
import { StopReconciler } from '../../src/protection/stop-reconciler.js';

const KEY = 'k';
const SECRET = 's';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(options: Partial<SimBinanceOptions> = {}, secret = SECRET, now?: () => number) {
  const venue = await startSimBinance({ apiKey: KEY, apiSecret: SECRET, ...options });
  cleanup.push(() => venue.close());
  venue.feedPrice('BTCUSDT', 62_000);
  const exchange = new ccxt.binance({
    apiKey: KEY,
    secret,
    options: { defaultType: 'spot', fetchCurrencies: false, fetchMargins: false, fetchMarkets: { types: ['spot'] } },
  });
  const api = exchange.urls['api'] as Record<string, string>;
  exchange.urls['api'] = { ...api, public: `${venue.url}/api/v3`, private: `${venue.url}/api/v3` };
  const broker = createCcxtBroker(exchange as unknown as CcxtExchangeLike, now === undefined ? {} : { now });
  return { venue, exchange, broker };
}

/** The order path over `broker` (journal in a fresh folder, limiter, egress, order service), released after the test. */
async function orderPath(
  broker: CcxtBroker,
  o: { limiter?: { limit: number; windowMs: number }; venue?: { initialDelayMs: number; maxDelayMs: number } } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-ccxt-'));
  const journal = await OrderJournal.open(join(dir, 'journal.jsonl'));
  cleanup.push(() => journal.close());
  const limiter = new SlidingWindowRateLimiter(o.limiter ?? { limit: 5, windowMs: 1_000 });
  cleanup.push(() => limiter.dispose());
  const egress = new OrderEgress({ client: broker, limiter, venue: new VenueGuard(o.venue), journal });
  cleanup.push(() => egress.close());
  const orders = new BrokerOrderService({ egress, broker, journal, onFill: () => {}, now: Date.now });
  return { journal, egress, orders };
}

async function rejection(p: Promise<unknown>): Promise<BrokerRequestError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BrokerRequestError) return e;
    throw e;
  }
  throw new Error('expected a BrokerRequestError');
}

const place = (id: string, stopPrice: string | number, quantity: string | number = '0.0123456') => ({
  symbol: 'BTCUSDT',
  side: 'SELL',
  type: 'STOP_MARKET',
  quantity: String(quantity),
  stopPrice: String(stopPrice),
  reduceOnly: true,
  newClientOrderId: id,
});

describe('createCcxtBroker over the real ccxt client and the simulated Binance', () => {
  it('turns ccxt’s own throttle off: Bulwark’s limiter is the only one', async () => {
    const { exchange } = await setup();
    expect(exchange.enableRateLimit).toBe(false);
  });

  it('places a protocol stop as STOP_LOSS on the grid (no reduceOnly on spot) and answers protocol order objects', async () => {
    const { venue, broker } = await setup();
    const placed = await broker.request('order.place', place('bw-1', '61234.561'));
    expect(venue.open('BTCUSDT')).toMatchObject([{ clientOrderId: 'bw-1', stopPrice: 61_234.57, quantity: 0.01234 }]);
    expect(observedOrderOf(placed)).toEqual({
      clientOrderId: 'bw-1',
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'STOP',
      quantity: 0.01234,
      executedQty: 0,
      price: 61_234.57,
      status: 'NEW',
    });
    const open = await broker.request('openOrders.status', {});
    expect(
      (open['orders'] as unknown[]).map((o) => observedOrderOf(o as Record<string, unknown>)?.clientOrderId),
    ).toEqual(['bw-1']);
    venue.feedPrice('BTCUSDT', 61_000);
    const status = await broker.request('order.status', { symbol: 'BTCUSDT', origClientOrderId: 'bw-1' });
    expect(observedOrderOf(status)).toMatchObject({ status: 'FILLED', executedQty: 0.01234 });
    expect(venue.executions).toHaveLength(1);
  });

  it('maps venue errors to the protocol’s actions', async () => {
    const { venue, broker } = await setup();
    expect(
      (await rejection(broker.request('order.status', { symbol: 'BTCUSDT', origClientOrderId: 'nope' }))).action,
    ).toBe('NOT_FOUND');
    expect(
      (await rejection(broker.request('order.cancel', { symbol: 'BTCUSDT', origClientOrderId: 'nope' }))).action,
    ).toBe('QUERY_STATUS');
    await broker.request('order.place', place('bw-1', 60_000));
    expect((await rejection(broker.request('order.place', place('bw-1', 60_000)))).action).toBe('DUPLICATE');
    expect((await rejection(broker.request('order.place', place('bw-2', 63_000)))).action).toBe('REJECT'); // would trigger
    expect(
      (await rejection(broker.request('order.place', { ...place('bw-3', 60_000), symbol: 'DOGEUSDT' }))).brokerCode,
    ).toBe(-1121);
    // Below the minimum notional: refused here, nothing sent (the venue counted one order only).
    const small = await rejection(broker.request('order.place', place('bw-4', 60_000, '0.00005')));
    expect([small.action, small.message]).toEqual(['REJECT', expect.stringMatching(/BELOW_MIN_NOTIONAL/)]);
    expect(venue.orderTimes).toHaveLength(1);
    expect(
      (await rejection(broker.request('order.amend', { symbol: 'BTCUSDT', origClientOrderId: 'bw-1' }))).action,
    ).toBe('REJECT');
  });

  it('a rate-limited order is RATE_LIMITED with the venue’s Retry-After', async () => {
    let t = 5_000_000;
    const { broker } = await setup({ ordersPer10s: 1, now: () => t }, SECRET, () => t);
    await broker.request('order.place', place('bw-1', 60_000));
    t += 4_000;
    const e = await rejection(broker.request('order.place', place('bw-2', 60_000)));
    expect([e.action, e.brokerCode, e.retryAfter]).toEqual(['RATE_LIMITED', -1015, t + 6_000]); // a time, as the protocol's
  });

  it('bad credentials are RELOGON', async () => {
    const { broker } = await setup({}, 'wrong');
    expect(
      (await rejection(broker.request('order.status', { symbol: 'BTCUSDT', origClientOrderId: 'x' }))).action,
    ).toBe('RELOGON');
  });

  it('the order egress places and cancels a stop through it; the venue’s record shows exactly that', async () => {
    const { venue, broker } = await setup();
    const { journal, egress } = await orderPath(broker);
    const placed = await egress.send({
      kind: 'PLACE_STOP',
      clientOrderId: 'bw-9',
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: 0.5,
      stopPrice: 59_999.995,
    });
    expect(placed.ok).toBe(true);
    expect(venue.open()).toMatchObject([{ clientOrderId: 'bw-9', stopPrice: 60_000, quantity: 0.5 }]);
    const cancelled = await egress.send({ kind: 'CANCEL', clientOrderId: 'bw-9', symbol: 'BTCUSDT' });
    expect(cancelled.ok).toBe(true);
    expect(venue.open()).toEqual([]);
    expect(journal.inDoubt()).toEqual([]);
  });

  it('order.replace is the venue’s cancel-replace: a new id and one live stop; nothing placed when the old stop is gone; the old stop stays cancelled when the new one is refused', async () => {
    const { venue, broker } = await setup();
    expect(broker.amend).toBe('cancel-replace');
    await broker.request('order.place', place('bw-1', 60_000));
    const moved = await broker.request('order.replace', {
      ...place('bw-2', '60500.004'),
      cancelOrigClientOrderId: 'bw-1',
    });
    expect(observedOrderOf(moved)).toMatchObject({ clientOrderId: 'bw-2', price: 60_500.01, status: 'NEW' });
    expect(venue.open().map((o) => [o.clientOrderId, o.stopPrice])).toEqual([['bw-2', 60_500.01]]);
    expect(venue.orderTimes).toHaveLength(2); // one new order each
    // The old link is gone: the cancel fails, nothing is placed, the caller is told to ask.
    const gone = await rejection(
      broker.request('order.replace', { ...place('bw-3', 60_600), cancelOrigClientOrderId: 'bw-1' }),
    );
    expect([gone.action, gone.brokerCode]).toEqual(['QUERY_STATUS', -2022]);
    expect(venue.open().map((o) => o.clientOrderId)).toEqual(['bw-2']);
    // The new stop would trigger at once: the venue has cancelled the old one and refuses the new.
    const through = await rejection(
      broker.request('order.replace', { ...place('bw-4', 63_000), cancelOrigClientOrderId: 'bw-2' }),
    );
    expect([through.action, through.brokerCode, through.message]).toEqual([
      'REJECT',
      -1013,
      expect.stringMatching(/STOP_WOULD_TRIGGER/),
    ]);
    expect(venue.open()).toEqual([]);
  });

  it('the stop reconciler trails a stop by cancel-replace through the egress: a new client id per move, one live stop at the venue at the last price, the chain’s last link journaled live', async () => {
    const { venue, broker } = await setup();
    const { journal, orders } = await orderPath(broker);
    let n = 0;
    const reconciler = new StopReconciler({
      orders,
      nextId: () => `bw-${++n}`,
      isOurs: (id) => id.startsWith('bw-'),
      tickSize: () => 0.01,
      lotSize: () => 0.00001,
    });
    cleanup.push(() => reconciler.dispose());
    await reconciler.start();
    const prices = [60_000, 60_100.004, 60_250, 60_400.5];
    for (const stopPrice of prices) {
      reconciler.setDesired('BTCUSDT', { side: 'SELL', quantity: 0.25, stopPrice });
      await reconciler.whenConverged();
      await reconciler.idle();
      // After each step, by the venue's record: exactly one live stop, at the desired price on the grid.
      expect(venue.open().map((o) => [o.symbol, o.side, o.quantity, o.stopPrice])).toEqual([
        ['BTCUSDT', 'SELL', 0.25, Math.ceil(stopPrice * 100 - 1e-6) / 100],
      ]);
    }
    // The venue's answer carries the cancelled link: no status read was needed to know it gone.
    expect(reconciler.sent).toMatchObject({ place: 1, amend: 0, replace: 3, cancel: 0, status: 0 });
    expect(venue.open().map((o) => o.clientOrderId)).toEqual(['bw-4']);
    expect(venue.orderTimes).toHaveLength(4);
    expect(journal.liveStops().map((c) => c.clientOrderId)).toEqual(['bw-4']);
    expect(journal.inDoubt()).toEqual([]);
  });

  it('through seeded venue faults (-1007 executed and not, dropped answers), a stop trailed 30 times by cancel-replace ends as exactly one live stop at the last price; nothing in doubt, no id used twice', async () => {
    const { venue, broker } = await setup({
      faults: { unknownExecuted: 0.15, unknownNotExecuted: 0.1, dropReply: 0.1 },
      seed: 42,
    });
    const { journal, orders } = await orderPath(broker, {
      limiter: { limit: 40, windowMs: 10_000 },
      venue: { initialDelayMs: 1, maxDelayMs: 5 },
    });
    let n = 0;
    const ids: string[] = [];
    const reconciler = new StopReconciler({
      orders,
      nextId: () => {
        ids.push(`bw-${++n}`);
        return `bw-${n}`;
      },
      isOurs: (id) => id.startsWith('bw-'),
      tickSize: () => 0.01,
      lotSize: () => 0.00001,
      initialBackoffMs: 1,
      maxBackoffMs: 10,
    });
    cleanup.push(() => reconciler.dispose());
    await reconciler.start();
    let stopPrice = 60_000;
    for (let move = 0; move < 30; move++) {
      stopPrice += 7.003;
      reconciler.setDesired('BTCUSDT', { side: 'SELL', quantity: 0.25, stopPrice });
      await reconciler.whenConverged();
      await reconciler.idle();
      expect(venue.open().length, `move ${move}`).toBe(1);
    }
    // By the venue's record: one live stop, at the last price on the grid, for the size.
    expect(venue.open().map((o) => [o.side, o.quantity, o.stopPrice])).toEqual([
      ['SELL', 0.25, Math.ceil(stopPrice * 100 - 1e-6) / 100],
    ]);
    expect(venue.executions).toEqual([]);
    // Each of the 30 moves (one placement, 29 cancel-replaces) reached the venue's matching
    // exactly once, however often it was sent; faults did hit (status reads resolved them).
    expect(venue.orderTimes).toHaveLength(30);
    expect(reconciler.sent.status).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(journal.inDoubt()).toEqual([]);
    expect(journal.liveStops().map((c) => c.clientOrderId)).toEqual(venue.open().map((o) => o.clientOrderId));
  }, 60_000);

  it('a key the venue refuses (-2015) makes the position UNPROTECTED with the venue’s code in the reason, nothing placed', async () => {
    const venue = await startSimBinance({ apiKey: KEY, apiSecret: SECRET });
    cleanup.push(() => venue.close());
    venue.feedPrice('BTCUSDT', 62_000);
    const exchange = new ccxt.binance({
      apiKey: 'revoked-key',
      secret: SECRET,
      options: { defaultType: 'spot', fetchCurrencies: false, fetchMargins: false, fetchMarkets: { types: ['spot'] } },
    });
    const api = exchange.urls['api'] as Record<string, string>;
    exchange.urls['api'] = { ...api, public: `${venue.url}/api/v3`, private: `${venue.url}/api/v3` };
    const broker = createCcxtBroker(exchange as unknown as CcxtExchangeLike);
    const { orders } = await orderPath(broker);
    const changes: { to: string; code?: string; message?: string }[] = [];
    const reconciler = new StopReconciler({
      orders,
      nextId: () => 'bw-1',
      isOurs: (id) => id.startsWith('bw-'),
      tickSize: () => 0.01,
      lotSize: () => 0.00001,
      onChange: (c) => changes.push(c),
    });
    cleanup.push(() => reconciler.dispose());
    reconciler.setDesired('BTCUSDT', { side: 'SELL', quantity: 0.25, stopPrice: 60_000 });
    await new Promise<void>((resolve) => {
      const poll = () => (reconciler.stateOf('BTCUSDT') === 'UNPROTECTED' ? resolve() : setTimeout(poll, 5));
      poll();
    });
    expect(changes.at(-1)).toMatchObject({
      to: 'UNPROTECTED',
      code: 'STOP_REJECTED',
      message: expect.stringMatching(/-2015/),
    });
    expect(venue.open()).toEqual([]);
    expect(venue.authFailures).toBeGreaterThan(0);
  });
});
