/**
 * The simulated Binance spot REST dialect, driven by the real ccxt client (`ccxt.binance`)
 * on loopback: signed requests verified, markets loaded offline, stops placed at tick- and
 * lot-rounded values, cancel-replace, the error table, and the ORDERS window counted as the
 * venue receives requests.
 */
import ccxt from 'ccxt';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyVenueError } from '../../src/ccxt/venue-errors.js';
import { filtersFromMarket, venueStop } from '../../src/ccxt/instrument-filters.js';
import { startSimBinance, type SimBinance, type SimBinanceOptions } from '../../src/testing/sim-binance.js';

const KEY = 'test-key';
const SECRET = 'test-secret';
const open: SimBinance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

async function venue(options: Partial<SimBinanceOptions> = {}): Promise<SimBinance> {
  const v = await startSimBinance({ apiKey: KEY, apiSecret: SECRET, ...options });
  open.push(v);
  return v;
}

/** A real ccxt Binance client pointed at the simulator, with ccxt's own throttle off. */
function client(v: SimBinance, secret = SECRET): InstanceType<typeof ccxt.binance> {
  const exchange = new ccxt.binance({
    apiKey: KEY,
    secret,
    enableRateLimit: false,
    options: { defaultType: 'spot', fetchCurrencies: false, fetchMargins: false, fetchMarkets: { types: ['spot'] } },
  });
  const api = exchange.urls['api'] as Record<string, string>;
  exchange.urls['api'] = { ...api, public: `${v.url}/api/v3`, private: `${v.url}/api/v3` };
  return exchange;
}

/** What a ccxt call threw. */
async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

describe('simulated Binance spot dialect, through the real ccxt client', () => {
  it('loads markets offline and takes a signed STOP_LOSS at tick- and lot-rounded values; the stop triggers on a fed price', async () => {
    const v = await venue();
    v.feedPrice('BTCUSDT', 62_000);
    const ex = client(v);
    const markets = await ex.loadMarkets();
    const market = markets['BTC/USDT'];
    if (market === undefined) throw new Error('BTC/USDT not loaded');
    const f = filtersFromMarket(market as Parameters<typeof filtersFromMarket>[0], ex.precisionMode);
    const stop = venueStop({ side: 'SELL', quantity: 0.123456, stopPrice: 61_234.561 }, f);
    if (!stop.ok) throw new Error(stop.message);
    const order = await ex.createOrder('BTC/USDT', stop.type, 'sell', stop.quantity, undefined, {
      stopPrice: stop.stopPrice,
      newClientOrderId: 'bw-1',
    });
    expect(order).toMatchObject({ clientOrderId: 'bw-1', status: 'open', amount: 0.12345 });
    expect(v.open('BTCUSDT')).toMatchObject([{ clientOrderId: 'bw-1', stopPrice: 61_234.57, quantity: 0.12345 }]);
    const fetched = await ex.fetchOrder('', 'BTC/USDT', { origClientOrderId: 'bw-1' });
    expect(fetched.status).toBe('open');
    v.feedPrice('BTCUSDT', 61_200);
    expect(v.executions).toMatchObject([{ clientOrderId: 'bw-1', quantity: 0.12345 }]);
    expect((await ex.fetchOrder('', 'BTC/USDT', { origClientOrderId: 'bw-1' })).status).toBe('closed');
    expect(v.authFailures).toBe(0);
  });

  it('verifies signatures: a wrong secret is refused -1022 (AUTH)', async () => {
    const v = await venue();
    const ex = client(v, 'not-the-secret');
    await ex.loadMarkets(); // public: no signature
    const e = await thrown(ex.fetchOpenOrders('BTC/USDT'));
    expect(classifyVenueError(e)).toMatchObject({ kind: 'AUTH', code: '-1022' });
    expect(v.authFailures).toBe(1);
  });

  it('moves a stop by cancel-replace (editOrder on spot): a new id, exactly one live stop', async () => {
    const v = await venue();
    v.feedPrice('BTCUSDT', 62_000);
    const ex = client(v);
    await ex.loadMarkets();
    await ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
      stopPrice: 60_000,
      newClientOrderId: 'bw-1',
    });
    const edited = await ex.editOrder('', 'BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
      stopPrice: 60_500,
      cancelOrigClientOrderId: 'bw-1',
      newClientOrderId: 'bw-2',
      cancelReplaceMode: 'STOP_ON_FAILURE',
    });
    expect(edited.clientOrderId).toBe('bw-2');
    expect(v.open('BTCUSDT').map((o) => [o.clientOrderId, o.stopPrice])).toEqual([['bw-2', 60_500]]);
    expect(v.orderTimes).toHaveLength(2); // a cancel-replace counts one new order
  });

  it('answers the error table that ccxt maps: not found, duplicate id, would trigger, filter failure, reduceOnly on spot', async () => {
    const v = await venue();
    v.feedPrice('BTCUSDT', 62_000);
    const ex = client(v);
    await ex.loadMarkets();
    const kind = async (p: Promise<unknown>) => classifyVenueError(await thrown(p)).kind;
    expect(await kind(ex.fetchOrder('', 'BTC/USDT', { origClientOrderId: 'nope' }))).toBe('NOT_FOUND');
    expect(await kind(ex.cancelOrder('', 'BTC/USDT', { origClientOrderId: 'nope' }))).toBe('NOT_FOUND');
    await ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
      stopPrice: 60_000,
      newClientOrderId: 'bw-1',
    });
    expect(
      await kind(
        ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
          stopPrice: 60_000,
          newClientOrderId: 'bw-1',
        }),
      ),
    ).toBe('DUPLICATE');
    expect(
      await kind(
        ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
          stopPrice: 63_000,
          newClientOrderId: 'bw-2',
        }),
      ),
    ).toBe('WOULD_TRIGGER');
    expect(
      await kind(
        ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.00001, undefined, {
          stopPrice: 60_000,
          newClientOrderId: 'bw-3',
        }),
      ),
    ).toBe('REJECTED'); // 0.6 USDT < 5
    expect(
      await kind(
        ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
          stopPrice: 60_000,
          newClientOrderId: 'bw-4',
          reduceOnly: true,
        }),
      ),
    ).toBe('REJECTED');
    const cancelled = await ex.cancelOrder('', 'BTC/USDT', { origClientOrderId: 'bw-1' });
    expect(cancelled.status).toBe('canceled');
    expect(v.open()).toEqual([]);
  });

  it('counts new orders in a sliding 10 s window as received: the one over the limit is -1015, HTTP 429 with Retry-After (PAUSE)', async () => {
    let t = 1_000_000;
    const v = await venue({ ordersPer10s: 3, now: () => t });
    v.feedPrice('BTCUSDT', 62_000);
    const ex = client(v);
    await ex.loadMarkets();
    for (let i = 0; i < 3; i++) {
      await ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
        stopPrice: 60_000,
        newClientOrderId: `bw-${i}`,
      });
      t += 1_000;
    }
    const e = await thrown(
      ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, { stopPrice: 60_000, newClientOrderId: 'bw-x' }),
    );
    const outcome = classifyVenueError(e, ex.last_response_headers);
    expect(outcome).toMatchObject({ kind: 'PAUSE', code: '-1015', retryAfterMs: 7_000 });
    t += 7_000; // waiting exactly Retry-After: the first order has left the window
    await ex.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
      stopPrice: 60_000,
      newClientOrderId: 'bw-y',
    });
    expect(v.orderTimes).toHaveLength(4);
  });
});
