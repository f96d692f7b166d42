import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BrokerOrderService } from '../../src/broker/broker-order-service.js';
import { classifyBrokerError } from '../../src/egress/broker-errors.js';
import { OrderEgress, type BrokerClient, type BrokerMethod } from '../../src/egress/order-egress.js';
import { OrderJournal } from '../../src/egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../../src/egress/venue-guard.js';
import { createRiskPlugin } from '../../src/plugin/risk-plugin.js';
import { VirtualClock } from '../../src/util/clock.js';
import type { Fill } from '../../src/vocabulary/market.js';

const T0 = Date.parse('2026-03-02T14:30:00Z');
const err = (status: number, code: number, msg: string) =>
  new BrokerRequestError(classifyBrokerError(status, code, msg), status, code, msg);

/** A broker speaking the protocol's methods in process, with a switch that makes it answer -1008 (busy, not executed). */
function protocolBroker() {
  const orders = new Map<string, Record<string, unknown>>();
  const state = { busy: false, requests: 0 };
  const client: BrokerClient & {
    request(
      method: BrokerMethod | 'openOrders.status',
      params: Readonly<Record<string, unknown>>,
    ): Promise<Readonly<Record<string, unknown>>>;
  } = {
    async request(method, params) {
      const id = String(params['newClientOrderId'] ?? params['origClientOrderId']);
      if (method === 'openOrders.status') return { orders: [...orders.values()].filter((o) => o['status'] === 'NEW') };
      if (method === 'order.status') {
        const o = orders.get(id);
        if (o === undefined) throw err(400, -2013, 'order does not exist');
        return { ...o };
      }
      state.requests++;
      if (state.busy) throw err(503, -1008, 'server busy');
      if (method === 'order.place') {
        if (orders.has(id)) throw err(400, -2010, 'Duplicate order sent.');
        orders.set(id, {
          symbol: params['symbol'],
          orderId: orders.size + 1,
          clientOrderId: id,
          side: params['side'],
          type: params['type'],
          status: 'NEW',
          quantity: params['quantity'],
          executedQty: '0',
          stopPrice: params['stopPrice'],
          reduceOnly: true,
          updateTime: 0,
        });
      } else {
        const o = orders.get(id);
        if (o === undefined || o['status'] !== 'NEW') throw err(400, -2011, 'unknown or final order');
        if (method === 'order.cancel') o['status'] = 'CANCELED';
        else for (const k of ['quantity', 'stopPrice'] as const) if (params[k] !== undefined) o[k] = params[k];
      }
      return { ...(orders.get(id) as Record<string, unknown>) };
    },
  };
  return { client, orders, state };
}

/**
 * Lets the order path work for `ms` of virtual time: at each step, what can run now runs (the
 * journal's writes are real file I/O, so they are waited for), then the clock moves on.
 */
async function run(
  clock: VirtualClock,
  ms: number,
  journal: OrderJournal,
  egress: OrderEgress,
  stepMs = 100,
): Promise<void> {
  const end = clock.now() + ms;
  for (;;) {
    for (let i = 0; i < 50; i++) {
      await journal.flushed();
      for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
      if (!journal.writing && egress.inFlight === 0 && egress.queued === 0) break;
    }
    if (clock.now() >= end) return;
    clock.advanceTo(Math.min(end, clock.now() + stepMs));
  }
}

describe('protective traffic while the venue fails, and execution reports that are not ours', () => {
  it('with the venue breaker open, every position still gets its stop at the rate limit (not one per half-open probe); nothing dropped', async () => {
    const clock = new VirtualClock(T0);
    const b = protocolBroker();
    const journal = await OrderJournal.open(join(await mkdtemp(join(tmpdir(), 'bulwark-breaker-')), 'journal.jsonl'));
    // maxAttempts 1: cockatiel's own retry timers stay out of it; the reconciler retries on the virtual clock.
    const venue = new VenueGuard({ maxAttempts: 1, breakAfter: 3, halfOpenAfterMs: 600_000 });
    const egress = new OrderEgress({
      client: b.client,
      limiter: new SlidingWindowRateLimiter({ limit: 50, clock }),
      venue,
      journal,
      clock,
      maxInFlight: 8,
    });
    const service = new BrokerOrderService({
      egress,
      broker: b.client,
      journal,
      onFill: () => {},
      now: () => clock.now(),
    });
    const plugin = createRiskPlugin(
      {
        stops: { mode: 'BROKER', tickSize: 0.01, lotSize: 1, policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } },
        limits: { maxSymbols: 64, maxPositions: 64 },
      },
      { clock },
    );
    await plugin.onInit({ now: () => clock.now(), portfolio: { positions: async () => [] }, orders: service });
    b.state.busy = true;
    const positions = Array.from({ length: 50 }, (_, i) => ({
      symbol: `S${i}`,
      side: 'LONG' as const,
      quantity: 10,
      entryPrice: 100,
      openedAt: T0,
    }));
    plugin.onPortfolio({ timestamp: clock.now(), equity: 1e6, positions });
    await run(clock, 2_000, journal, egress);
    expect(b.state.requests, JSON.stringify(plugin.protection?.summary())).toBeGreaterThan(3);
    expect(venue.circuit).toBe('OPEN'); // the busy venue opened the breaker
    expect(b.orders.size).toBe(0);
    b.state.busy = false; // the venue recovers; the breaker stays open for its (long) half-open period
    await run(clock, 10_000, journal, egress);
    expect(venue.circuit).toBe('OPEN');
    // By the broker's record: every position has exactly one stop, for its size, at its price.
    for (const p of positions) {
      const live = [...b.orders.values()].filter((o) => o['symbol'] === p.symbol && o['status'] === 'NEW');
      expect(live, p.symbol).toHaveLength(1);
      expect(live[0]).toMatchObject({ side: 'SELL', quantity: '10', stopPrice: '95' });
    }
    expect(plugin.protection?.summary()).toEqual({ converged: 50, pending: 0, unprotected: 0 });
    await plugin.onDispose();
    egress.close();
    await journal.close();
  });

  it('execution reports for client ids Bulwark never sent are counted FOREIGN_EXECUTION and never booked as fills', async () => {
    const b = protocolBroker();
    const journal = await OrderJournal.open(join(await mkdtemp(join(tmpdir(), 'bulwark-foreign-')), 'journal.jsonl'));
    const egress = new OrderEgress({
      client: b.client,
      limiter: new SlidingWindowRateLimiter({ limit: 50 }),
      venue: new VenueGuard(),
      journal,
    });
    const fills: Fill[] = [];
    const foreign: string[] = [];
    const service = new BrokerOrderService({
      egress,
      broker: b.client,
      journal,
      onFill: (f) => fills.push(f),
      now: () => 1,
      onForeign: (r) => foreign.push(r.clientOrderId),
    });
    expect(
      (
        await service.send({
          kind: 'PLACE_STOP',
          clientOrderId: 'bw-x-1',
          symbol: 'AAA',
          side: 'SELL',
          quantity: 5,
          stopPrice: 90,
        })
      ).ok,
    ).toBe(true);
    const report = (clientOrderId: string, seq: number) =>
      service.onReport({
        symbol: 'AAA',
        orderId: seq,
        clientOrderId,
        side: 'SELL',
        status: 'FILLED',
        lastQty: '5',
        lastPrice: '89',
        cumQty: '5',
        eventTime: 0,
        seq,
      });
    report('manual-1', 1); // traded by hand on the same account
    report('other-bot-7', 2);
    report('bw-x-1', 3); // ours
    report('x', 4);
    expect(fills.map((f) => f.orderId)).toEqual(['bw-x-1']);
    expect(service.foreignExecutions).toBe(3);
    expect(foreign).toEqual(['manual-1', 'other-bot-7', 'x']);
    egress.close();
    await journal.close();
  });
});
