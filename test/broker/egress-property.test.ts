import fc from 'fast-check';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSimBroker } from '../../src/testing/sim-broker.js';
import { WsBrokerClient } from '../../src/broker/ws-broker-client.js';
import { DeadLetterQueue } from '../../src/egress/dead-letter-queue.js';
import { OrderEgress } from '../../src/egress/order-egress.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { VenueGuard } from '../../src/egress/venue-guard.js';

const ORDERS = 10_000;

describe('egress under random fault schedules (property)', () => {
  it(`${ORDERS} protective orders: each executes at most once at the broker, each answered OK is held by the broker, each other answer carries a code, and no second exceeds the announced limit`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          busy: fc.double({ min: 0, max: 0.1, noNaN: true }),
          unknownExecuted: fc.double({ min: 0, max: 0.03, noNaN: true }),
          unknownNotExecuted: fc.double({ min: 0, max: 0.03, noNaN: true }),
          dropReply: fc.double({ min: 0, max: 0.02, noNaN: true }),
          duplicateReports: fc.double({ min: 0, max: 0.2, noNaN: true }),
          // Disconnects mid-order: every request in flight on that connection is in doubt.
          disconnectExecuted: fc.double({ min: 0, max: 0.001, noNaN: true }),
          disconnectNotExecuted: fc.double({ min: 0, max: 0.001, noNaN: true }),
          lostReports: fc.double({ min: 0, max: 0.05, noNaN: true }),
          outOfOrderReports: fc.double({ min: 0, max: 0.05, noNaN: true }),
        }),
        async ({ seed, ...faults }) => {
          const broker = await startSimBroker({
            apiKey: 'k',
            apiSecret: 's',
            ordersPerSecond: 6_000,
            seed,
            faults: { ...faults, latencyMs: [0, 2] },
          });
          let limit = 0;
          let logons = 0;
          const client = new WsBrokerClient({
            url: broker.url,
            apiKey: 'k',
            apiSecret: 's',
            requestTimeoutMs: 150,
            reconnectDelayMs: 20,
            onRateLimit: (l) => (limit = l),
            onReconcile: (why) => void (why === 'LOGON' && logons++),
          });
          try {
            await client.connect();
            const deadLetters = await DeadLetterQueue.open(
              join(await mkdtemp(join(tmpdir(), 'bulwark-prop-')), 'dlq.jsonl'),
              { maxEntries: ORDERS },
            );
            const egress = new OrderEgress({
              client,
              limiter: new SlidingWindowRateLimiter({ limit, safety: 0.9 }),
              venue: new VenueGuard({ initialDelayMs: 5, maxDelayMs: 50, breakAfter: 1_000 }),
              deadLetters,
              maxInFlight: 32,
            });
            const ids = Array.from({ length: ORDERS }, (_, i) => `p${seed.toString(36)}-${i}`);
            // Stop placements are not dead-lettered: a failed one goes back to the stop reconciler
            // (which asks the broker and places again); here each answer is checked against the broker.
            const results = await Promise.all(
              ids.map((id) =>
                egress.send({
                  kind: 'PLACE_STOP',
                  clientOrderId: id,
                  symbol: 'AAA',
                  side: 'SELL',
                  quantity: 1,
                  stopPrice: 90,
                }),
              ),
            );
            broker.feedPrice('AAA', 80);
            const executed = new Map<string, number>();
            for (const e of broker.executions) executed.set(e.clientOrderId, (executed.get(e.clientOrderId) ?? 0) + 1);
            const dead = new Set(deadLetters.list().map((d) => d.command.clientOrderId));
            // A retry never mints a new id: everything the broker executed is one of our intents.
            const intents = new Set(ids);
            expect(broker.executions.every((e) => intents.has(e.clientOrderId))).toBe(true);
            ids.forEach((id, i) => {
              const r = results[i];
              expect(executed.get(id) ?? 0).toBeLessThanOrEqual(1);
              // An OK answer is never taken on faith: the broker has the order (now FILLED by the fall).
              if (r?.ok === true) expect(broker.book.get(id)?.status, id).toBe('FILLED');
              else expect(r !== undefined && !r.ok && /^(-?\d+|[A-Z_]+)$/.test(r.code), id).toBe(true);
              expect(dead.has(id)).toBe(false);
            });
            // Most go through despite the faults.
            expect(results.filter((r) => r.ok).length).toBeGreaterThan(ORDERS * 0.8);
            expect(broker.maxInAnyWindow(1_000)).toBeLessThanOrEqual(limit); // sliding, on receipt: as the broker counts
            // The schedules really do cut connections mid-order (~10 per 10 000 requests at 0.001).
            if (faults.disconnectExecuted + faults.disconnectNotExecuted >= 0.001) expect(logons).toBeGreaterThan(1);
            await deadLetters.close();
          } finally {
            client.close();
            await broker.close();
          }
        },
      ),
      {
        seed: 2026,
        numRuns: 3,
        // One schedule with every fault well present, besides the random ones.
        examples: [
          [
            {
              seed: 7,
              busy: 0.05,
              unknownExecuted: 0.02,
              unknownNotExecuted: 0.02,
              dropReply: 0.01,
              duplicateReports: 0.1,
              disconnectExecuted: 0.001,
              disconnectNotExecuted: 0.001,
              lostReports: 0.05,
              outOfOrderReports: 0.05,
            },
          ],
        ],
      },
    );
  }, 240_000);
});
