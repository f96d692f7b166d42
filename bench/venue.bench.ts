import ccxt from 'ccxt';
import { WsBrokerClient } from '../src/broker/ws-broker-client.js';
import { createCcxtBroker, type CcxtExchangeLike } from '../src/ccxt/ccxt-broker.js';
import { OrderEgress, type BrokerClient } from '../src/egress/order-egress.js';
import { SlidingWindowRateLimiter } from '../src/egress/rate-limiter.js';
import { VenueGuard } from '../src/egress/venue-guard.js';
import type { Kernels } from '../src/index.js';
import { startSimBinance } from '../src/testing/sim-binance.js';
import { startSimBroker } from '../src/testing/sim-broker.js';
import type { ProtectiveCommand } from '../src/vocabulary/orders.js';
import type { Row } from './harness.js';

const ROUNDS = 200;

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/** Times `ROUNDS` placements and as many moves of one stop through `client` (sequential: the idle path). */
async function placeAndMove(
  client: BrokerClient,
  symbol: string,
  price: number,
  move: (id: string, next: string, stopPrice: number) => ProtectiveCommand,
): Promise<{ place: number[]; move: number[] }> {
  const egress = new OrderEgress({
    client,
    limiter: new SlidingWindowRateLimiter({ limit: 100_000, windowMs: 1_000 }),
    venue: new VenueGuard(),
  });
  const place: number[] = [];
  const moves: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const id = `bw-p${i}`;
    let t0 = performance.now();
    const placed = await egress.send({
      kind: 'PLACE_STOP',
      clientOrderId: id,
      symbol,
      side: 'SELL',
      quantity: 1,
      stopPrice: price * 0.9,
    });
    if (placed.ok) place.push(performance.now() - t0);
    let live = id;
    const next = `bw-m${i}`;
    t0 = performance.now();
    const moved = await egress.send(move(live, next, price * 0.9 + 0.01 * (i + 1)));
    if (moved.ok) moves.push(performance.now() - t0);
    if (moved.ok && moved.clientOrderId === next) live = next;
    await egress.send({ kind: 'CANCEL', clientOrderId: live, symbol });
  }
  egress.close();
  return { place: place.sort((a, b) => a - b), move: moves.sort((a, b) => a - b) };
}

/**
 * Protective latency of one stop, placed and moved, from `send` to the answer: over the
 * WebSocket adapter to the simulated broker (a move is an in-place amend), and through ccxt
 * (the real package, REST) to the simulated Binance spot API (a move is a cancel-replace),
 * both on loopback with no load and no faults: what the adapters themselves cost.
 */
export async function venueLatency(_k: Kernels): Promise<{ text: string; rows: Row[] }> {
  const broker = await startSimBroker({ apiKey: 'bench', apiSecret: 'bench', ordersPerSecond: 100_000 });
  const ws = new WsBrokerClient({ url: broker.url, apiKey: 'bench', apiSecret: 'bench' });
  await ws.connect();
  broker.feedPrice('BENCH', 100);
  const viaWs = await placeAndMove(ws, 'BENCH', 100, (id, _next, stopPrice) => ({
    kind: 'AMEND_STOP',
    clientOrderId: id,
    symbol: 'BENCH',
    stopPrice,
    version: Date.now(),
  }));
  ws.close();
  await broker.close();

  const venue = await startSimBinance({ apiKey: 'bench', apiSecret: 'bench', ordersPer10s: 100_000 });
  venue.feedPrice('BTCUSDT', 62_000);
  const exchange = new ccxt.binance({
    apiKey: 'bench',
    secret: 'bench',
    options: { defaultType: 'spot', fetchCurrencies: false, fetchMargins: false, fetchMarkets: { types: ['spot'] } },
  });
  const api = exchange.urls['api'] as Record<string, string>;
  exchange.urls['api'] = { ...api, public: `${venue.url}/api/v3`, private: `${venue.url}/api/v3` };
  const viaCcxt = await placeAndMove(
    createCcxtBroker(exchange as unknown as CcxtExchangeLike),
    'BTCUSDT',
    62_000,
    (id, next, stopPrice) => ({
      kind: 'REPLACE_STOP',
      clientOrderId: next,
      replaces: id,
      symbol: 'BTCUSDT',
      side: 'SELL',
      quantity: 1,
      stopPrice,
    }),
  );
  await venue.close();

  const row = (name: string, op: string, xs: readonly number[], base: readonly number[]) =>
    `| ${name} | ${op} | ${quantile(xs, 0.5).toFixed(2)} ms | ${quantile(xs, 0.99).toFixed(2)} ms | ${(quantile(xs, 0.5) / quantile(base, 0.5)).toFixed(1)}× |`;
  const text = [
    `**Protective latency per adapter** (${ROUNDS} stops placed, each moved once, one at a time; loopback, no load, no faults; send → answer through the egress)`,
    '',
    '| adapter (simulated venue) | operation | p50 | p99 | p50 vs WebSocket |',
    '|---|---|---:|---:|---:|',
    row('WebSocket protocol (sim broker)', 'place', viaWs.place, viaWs.place),
    row('WebSocket protocol (sim broker)', 'move (amend in place)', viaWs.move, viaWs.move),
    row('ccxt REST (sim Binance spot)', 'place', viaCcxt.place, viaWs.place),
    row('ccxt REST (sim Binance spot)', 'move (cancel-replace)', viaCcxt.move, viaWs.move),
    '',
    '- The ccxt path is one signed HTTP request per command (ccxt builds, signs and parses it); the WebSocket path one frame on an open connection. Against a real venue the network round trip dominates both.',
  ].join('\n');
  return { text, rows: [] };
}
