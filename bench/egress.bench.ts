import { startSimBroker } from '../src/testing/sim-broker.js';
import { WsBrokerClient } from '../src/broker/ws-broker-client.js';
import { OrderEgress } from '../src/egress/order-egress.js';
import { SlidingWindowRateLimiter } from '../src/egress/rate-limiter.js';
import { VenueGuard } from '../src/egress/venue-guard.js';
import type { Kernels } from '../src/index.js';
import type { Row } from './harness.js';

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;

/**
 * Protective latency under a flood: 3 000 normal orders are queued against a broker that
 * allows 200 orders a second, then a protective stop is sent every 25 ms; each stop's time
 * from `send` to its answer is measured (queue wait + the rate limiter + one round trip over
 * loopback WebSocket to the simulated broker).
 */
export async function egressLatency(_k: Kernels): Promise<{ text: string; rows: Row[] }> {
  const broker = await startSimBroker({ apiKey: 'bench', apiSecret: 'bench', ordersPerSecond: 200 });
  let limit = 0;
  const client = new WsBrokerClient({
    url: broker.url,
    apiKey: 'bench',
    apiSecret: 'bench',
    onRateLimit: (l) => (limit = l),
  });
  await client.connect();
  const egress = new OrderEgress({
    client,
    limiter: new SlidingWindowRateLimiter({ limit, safety: 0.9 }),
    venue: new VenueGuard(),
    maxInFlight: 8,
  });
  const flood = Array.from({ length: 3_000 }, (_, i) =>
    egress.send(
      { kind: 'PLACE_STOP', clientOrderId: `n${i}`, symbol: 'FLOOD', side: 'SELL', quantity: 1, stopPrice: 1 },
      'NORMAL',
    ),
  );
  const waits: number[] = [];
  for (let i = 0; i < 80; i++) {
    await new Promise((r) => setTimeout(r, 25));
    const t0 = performance.now();
    const r = await egress.send({
      kind: 'PLACE_STOP',
      clientOrderId: `p${i}`,
      symbol: 'SAFE',
      side: 'SELL',
      quantity: 1,
      stopPrice: 1,
    });
    if (r.ok) waits.push(performance.now() - t0);
  }
  const normalQueued = egress.queued;
  egress.close();
  client.close();
  await broker.close();
  await Promise.allSettled(flood);
  waits.sort((a, b) => a - b);
  const p50 = quantile(waits, 0.5);
  const p99 = quantile(waits, 0.99);
  const text = [
    `**Protective order latency while a flood of normal orders is rate-limited** (broker limit ${limit}/s, egress at 90% of it, ${normalQueued} normal orders still queued at the end)`,
    '',
    '| protective orders | p50 | p99 | max |',
    '|---|---:|---:|---:|',
    `| ${waits.length} stops, one every 25 ms | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${(waits[waits.length - 1] as number).toFixed(1)} ms |`,
    '',
    `- Normal orders may use at most 80% of the egress rate; the rest is kept for protective orders, so a stop waits for at most one rate-limit slot (1000/${Math.floor(limit * 0.9)} ≈ ${(1000 / Math.floor(limit * 0.9)).toFixed(1)} ms) and one loopback round trip, never behind the ${3_000} queued normal orders.`,
  ].join('\n');
  return { text, rows: [] };
}
