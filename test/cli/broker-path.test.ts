import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerOrderService } from '../../src/broker/broker-order-service.js';
import { startSimBroker, type SimBroker } from '../../src/testing/sim-broker.js';
import { WsBrokerClient } from '../../src/broker/ws-broker-client.js';
import { listDeadLetters, replayDeadLetters } from '../../src/cli/dlq.js';
import { runReplay } from '../../src/cli/replay.js';
import { DeadLetterQueue } from '../../src/egress/dead-letter-queue.js';
import { OrderEgress } from '../../src/egress/order-egress.js';
import { OrderJournal } from '../../src/egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { VenueGuard } from '../../src/egress/venue-guard.js';
import { createRiskPlugin } from '../../src/plugin/risk-plugin.js';
import type { Fill } from '../../src/vocabulary/market.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';

const KEY = 'cli-key';
const SECRET = 'cli-secret';
const DATA = new URL('../../data/demo-day.csv', import.meta.url).pathname;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const tempDir = () => mkdtemp(join(tmpdir(), 'bulwark-cli-'));

/** A broker, a connected client, and the egress + order service over them, with state in `dir`. */
async function stack(dir: string, broker?: SimBroker) {
  const b = broker ?? (await startSimBroker({ apiKey: KEY, apiSecret: SECRET, ordersPerSecond: 100 }));
  if (broker === undefined) cleanup.push(() => b.close());
  const journal = await OrderJournal.open(join(dir, 'journal.jsonl'));
  const dlq = await DeadLetterQueue.open(join(dir, 'dlq.jsonl'));
  const fills: Fill[] = [];
  let service!: BrokerOrderService;
  let reports = 0;
  const client = new WsBrokerClient({
    url: b.url,
    apiKey: KEY,
    apiSecret: SECRET,
    requestTimeoutMs: 500,
    onReport: (r) => {
      reports++;
      service.onReport(r);
    },
  });
  await client.connect();
  const egress = new OrderEgress({
    client,
    limiter: new SlidingWindowRateLimiter({ limit: 100 }),
    venue: new VenueGuard({ initialDelayMs: 5 }),
    journal,
    deadLetters: dlq,
  });
  service = new BrokerOrderService({ egress, broker: client, journal, onFill: (f) => fills.push(f), now: () => 1 });
  const close = async () => {
    egress.close();
    client.close();
    await journal.close();
    await dlq.close();
  };
  cleanup.push(close);
  return { broker: b, client, journal, dlq, egress, service, fills, reports: () => reports, close };
}

const placeStop = (id: string, stopPrice = 90): ProtectiveCommand => ({
  kind: 'PLACE_STOP',
  clientOrderId: id,
  symbol: 'AAA',
  side: 'SELL',
  quantity: 5,
  stopPrice,
});

/** Resolves once `done()` holds, checking after each macrotask; fails after `ms`. */
async function until(done: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setImmediate(r));
  }
}

describe('the broker path: egress, order service, journal', () => {
  it('an amend of a stop that already filled at the broker is moot (ORDER_FINAL), and one of an order the broker never had is -2011; neither is a dead letter (the stop reconciler acts on them)', async () => {
    const s = await stack(await tempDir());
    s.broker.feedPrice('AAA', 100);
    expect((await s.service.send(placeStop('st-1'))).ok).toBe(true);
    s.broker.feedPrice('AAA', 89); // through the stop: filled at the broker
    await until(() => s.fills.length === 1);
    const moot = await s.service.send({
      kind: 'AMEND_STOP',
      clientOrderId: 'st-1',
      symbol: 'AAA',
      stopPrice: 95,
      version: 2,
    });
    expect(moot).toMatchObject({ ok: false, code: 'ORDER_FINAL' });
    const ghost = await s.service.send({
      kind: 'AMEND_STOP',
      clientOrderId: 'never',
      symbol: 'AAA',
      stopPrice: 95,
      version: 2,
    });
    expect(ghost).toMatchObject({ ok: false, code: '-2011' }); // unknown to the broker: the reconciler asks order.status
    expect(s.dlq.list()).toEqual([]);
    // The fill was booked once, from the report, and the stop retired from the journal.
    expect(s.fills).toEqual([
      { fillId: 'st-1:5', orderId: 'st-1', symbol: 'AAA', side: 'SELL', quantity: 5, price: 89, timestamp: 1 },
    ]);
    await until(() => s.journal.liveStops().length === 0);
  });

  it('books each executed quantity once, whatever order and how often it is reported; a lost report is recovered by reconcile', async () => {
    const s = await stack(await tempDir());
    await s.journal.intent(placeStop('p-1')); // one of Bulwark's orders (a report for any other id is foreign)
    const report = (cumQty: string, status: 'PARTIALLY_FILLED' | 'FILLED', seq: number) =>
      s.service.onReport({
        symbol: 'AAA',
        orderId: 1,
        clientOrderId: 'p-1',
        side: 'SELL',
        status,
        lastQty: '1',
        lastPrice: '10',
        cumQty,
        eventTime: 0,
        seq,
      });
    report('2', 'PARTIALLY_FILLED', 2);
    report('1', 'PARTIALLY_FILLED', 1); // late: already covered by cumQty 2
    report('2', 'PARTIALLY_FILLED', 2); // repeated
    report('5', 'FILLED', 3);
    expect(s.fills.map((f) => f.quantity)).toEqual([2, 3]);

    // A stop fills at the broker while its report is lost: reconcile asks order.status and books it.
    s.broker.feedPrice('AAA', 100);
    expect((await s.service.send(placeStop('st-2'))).ok).toBe(true);
    const before = s.fills.length;
    s.client.close(); // the report will not arrive
    s.broker.feedPrice('AAA', 80);
    const again = await stack(await tempDir(), s.broker); // same broker, fresh client …
    for (const c of s.journal.liveStops()) await again.journal.intent(c); // … and the first journal's live stop
    await again.journal.outcome(placeStop('st-2'), { ok: true, clientOrderId: 'st-2' });
    await again.service.reconcile();
    expect(again.fills).toHaveLength(1);
    expect(again.fills[0]).toMatchObject({ orderId: 'st-2', quantity: 5, price: 90 }); // priced at the stop: order objects carry no fill price
    expect(again.journal.liveStops()).toHaveLength(0);
    expect(s.fills).toHaveLength(before);
  });

  it('after a restart, the plugin adopts the stops the journal placed and the broker still holds, and places none twice', async () => {
    const dir = await tempDir();
    const first = await stack(dir);
    first.broker.feedPrice('AAA', 100);
    expect((await first.service.send(placeStop('keep-1', 92))).ok).toBe(true);
    await first.close(); // the process dies; the stop rests at the broker

    const second = await stack(dir, first.broker);
    expect(second.journal.liveStops().map((c) => c.clientOrderId)).toEqual(['keep-1']);
    const open = await second.service.openOrders();
    expect(open).toEqual([
      {
        clientOrderId: 'keep-1',
        symbol: 'AAA',
        side: 'SELL',
        quantity: 5,
        type: 'STOP',
        price: 92,
        intent: 'PROTECTIVE',
      },
    ]);
    const plugin = createRiskPlugin({
      stops: { mode: 'BROKER', policy: { rules: [{ kind: 'PERCENT', percent: 10 }] } },
    });
    const sent: ProtectiveCommand[] = [];
    await plugin.onInit({
      now: () => 1,
      portfolio: { positions: async () => [] },
      orders: { send: (c) => (sent.push(c), second.service.send(c)), openOrders: () => second.service.openOrders() },
    });
    expect(plugin.restoredStops).toBe(1);
    plugin.onPortfolio({
      timestamp: 2,
      equity: 1_000_000,
      positions: [{ symbol: 'AAA', side: 'LONG', quantity: 5, entryPrice: 100, openedAt: 0 }],
    });
    await new Promise((r) => setImmediate(r)); // commands are submitted in microtasks, all done by now
    expect(plugin.toJSON().stops).toEqual([expect.objectContaining({ symbol: 'AAA', stop: 92, version: 1 })]);
    expect(sent).toEqual([]); // 10 % (90) is looser than the resting 92: kept as is, nothing placed
    expect(first.broker.book.open('AAA').map((o) => o.clientOrderId)).toEqual(['keep-1']);
    await plugin.onDispose();
  });

  it('dlq list shows the dead letters; dlq replay re-sends only what the broker never executed', async () => {
    const dir = await tempDir();
    const s = await stack(dir);
    s.broker.feedPrice('AAA', 100);
    expect((await s.service.send(placeStop('done-1'))).ok).toBe(true); // executed at the broker
    const t = Date.now();
    await s.dlq.add({ command: placeStop('done-1'), code: 'IN_DOUBT', attempts: 3, firstAttemptAt: t, deadAt: t });
    await s.dlq.add({
      command: placeStop('lost-1', 91),
      code: 'RETRIES_EXHAUSTED',
      attempts: 5,
      firstAttemptAt: t,
      deadAt: t,
    });
    await s.close();
    const lines: string[] = [];
    expect(await listDeadLetters(dir, (l) => lines.push(l))).toHaveLength(2);
    expect(lines[0]).toMatch(/^2 dead letter/);
    expect(lines.some((l) => l.includes('lost-1') && l.includes('RETRIES_EXHAUSTED'))).toBe(true);

    const tally = await replayDeadLetters({
      stateDir: dir,
      broker: s.broker.url,
      apiKey: KEY,
      apiSecret: SECRET,
      print: () => {},
    });
    expect(tally).toEqual({ resent: 1, executed: 1, kept: 0 });
    // The broker's truth: each client id placed exactly once.
    expect(s.broker.book.get('done-1')).toBeDefined();
    expect(s.broker.book.get('lost-1')?.stopPrice).toBe(91);
    expect(await listDeadLetters(dir, () => {})).toHaveLength(0);
  });
});

describe('bulwark replay (embedded simulated broker)', () => {
  it('replays the demo day with stops resting at the broker: every broker execution is booked once, nothing dead-lettered', async () => {
    const lines: string[] = [];
    const r = await runReplay({ data: DATA, print: (l) => lines.push(l) });
    expect(r.summary.batches).toBe(390);
    expect(r.summary.barsRejected).toBe(1);
    expect(r.plugin.stops.placed).toBeGreaterThanOrEqual(50);
    expect(r.brokerExecutions).toBeGreaterThan(0); // the crash fires stops at the broker
    expect(r.brokerFills).toBe(r.brokerExecutions);
    expect(r.deadLetters).toBe(0);
    expect(r.plugin.state).not.toBe('ACTIVE'); // the drawdown ladder reacted to the crash
    expect(lines.join('\n')).toMatch(/broker's own record: \d+ executions/);
  });
});
