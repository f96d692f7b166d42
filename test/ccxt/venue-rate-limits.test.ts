/**
 * The venue's announced limits, read through the real ccxt client from the simulated
 * Binance, become the limiter's windows; and the limiter then keeps every window the venue
 * counts (judged by the venue's own receive times).
 */
import ccxt from 'ccxt';
import { afterEach, describe, expect, it } from 'vitest';
import { venueRateWindows } from '../../src/ccxt/venue-rate-limits.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { startSimBinance, type SimBinance } from '../../src/testing/sim-binance.js';

const venues: SimBinance[] = [];
afterEach(async () => {
  await Promise.all(venues.splice(0).map((v) => v.close()));
});

describe('venueRateWindows', () => {
  it('reads ORDERS and REQUEST_WEIGHT windows from exchangeInfo fetched by ccxt', async () => {
    const v = await startSimBinance({
      apiKey: 'k',
      apiSecret: 's',
      ordersPer10s: 7,
      ordersPerDay: 1_000,
      weightPerMinute: 1_200,
    });
    venues.push(v);
    const exchange = new ccxt.binance({ enableRateLimit: false });
    const api = exchange.urls['api'] as Record<string, string>;
    exchange.urls['api'] = { ...api, public: `${v.url}/api/v3` };
    const info = (await exchange.publicGetExchangeInfo()) as { rateLimits: unknown };
    expect(venueRateWindows(info.rateLimits)).toEqual({
      orders: [
        { limit: 7, windowMs: 10_000 },
        { limit: 1_000, windowMs: 86_400_000 },
      ],
      weight: [{ limit: 1_200, windowMs: 60_000 }],
    });
  });

  it('leaves out what it cannot read instead of guessing', () => {
    expect(
      venueRateWindows([
        { rateLimitType: 'ORDERS', interval: 'FORTNIGHT', intervalNum: 1, limit: 5 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 0, limit: 5 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 1, limit: -1 },
        { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61_000 },
        null,
        'x',
      ]),
    ).toEqual({ orders: [], weight: [] });
    expect(venueRateWindows(undefined)).toEqual({ orders: [], weight: [] });
  });

  it('a limiter built from them keeps every window as the venue counts: no -1015 from a burst', async () => {
    let t = 0;
    const v = await startSimBinance({ apiKey: 'k', apiSecret: 's', ordersPer10s: 4, ordersPerDay: 10, now: () => t });
    venues.push(v);
    v.feedPrice('BTCUSDT', 62_000);
    const exchange = new ccxt.binance({
      apiKey: 'k',
      secret: 's',
      enableRateLimit: false,
      options: { defaultType: 'spot', fetchCurrencies: false, fetchMargins: false, fetchMarkets: { types: ['spot'] } },
    });
    const api = exchange.urls['api'] as Record<string, string>;
    exchange.urls['api'] = { ...api, public: `${v.url}/api/v3`, private: `${v.url}/api/v3` };
    const info = (await exchange.publicGetExchangeInfo()) as { rateLimits: unknown };
    const [first, ...rest] = venueRateWindows(info.rateLimits).orders;
    if (first === undefined) throw new Error('no ORDERS window announced');
    const limiter = new SlidingWindowRateLimiter({ ...first, windows: rest, safety: 1, jitterMs: 0, now: () => t });
    let sent = 0;
    for (let step = 0; step < 400 && sent < 10; step++) {
      t += 250; // a strategy trying every 250 ms
      if (!limiter.tryAcquire()) continue;
      await exchange.createOrder('BTC/USDT', 'STOP_LOSS', 'sell', 0.01, undefined, {
        stopPrice: 60_000,
        newClientOrderId: `bw-${sent++}`,
      });
    }
    expect(sent).toBe(10); // the day's limit, reached without a single refusal
    expect(limiter.tryAcquire()).toBe(false); // and not one more
    const times = v.orderTimes;
    for (const at of times) expect(times.filter((u) => u > at - 10_000 && u <= at).length).toBeLessThanOrEqual(4);
  });
});
