/**
 * Resource exhaustion (issue 6, "Hostile input"): more symbols than maxSymbols, more positions
 * than maxPositions, a full bar mailbox, a full egress NORMAL lane and a full dead-letter queue
 * are each refused with their code and counted, what was admitted before is unaffected, and the
 * retained heap stays flat while each limit is hammered.
 *
 * Needs `--expose-gc` in the test workers (vitest.config.ts `test.execArgv`).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadLetterQueue, type DeadLetter } from '../../src/egress/dead-letter-queue.js';
import { EgressQueue, type EgressItem } from '../../src/egress/egress-queue.js';
import { OrderEgress, type BrokerClient, type EgressEvent } from '../../src/egress/order-egress.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../../src/egress/venue-guard.js';
import { classifyBrokerError } from '../../src/egress/broker-errors.js';
import { createRiskPlugin } from '../../src/index.js';
import type { RiskPluginConfig } from '../../src/plugin/config.js';
import type { Bar, Position } from '../../src/vocabulary/market.js';
import type { OrderRequest, ProtectiveCommand } from '../../src/vocabulary/orders.js';
import { bar, fakeContext, MIN, T0 } from '../plugin/helpers.js';

const MB = 2 ** 20;

async function started(config: RiskPluginConfig) {
  const plugin = createRiskPlugin(config);
  const { context, sent } = fakeContext({ now: () => T0 });
  await plugin.onInit(context);
  return { plugin, sent };
}

/** Forces full collections until heapUsed settles; returns it. */
async function retainedHeap(): Promise<number> {
  const gc = globalThis.gc;
  if (gc === undefined)
    throw new Error('global.gc is not exposed: run the test workers with --expose-gc (vitest.config.ts test.execArgv)');
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 12; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    gc();
    const used = process.memoryUsage().heapUsed;
    if (i >= 3 && Math.abs(used - last) < 64 * 1024) return used;
    last = used;
  }
  return last;
}

/** Heap retained after `warm` rounds, and after `rounds` more: the second must not grow by more than `slackMb`. */
async function flatHeap(
  name: string,
  round: (i: number) => unknown,
  warm: number,
  rounds: number,
  slackMb = 3,
): Promise<void> {
  for (let i = 0; i < warm; i++) await round(i);
  const before = await retainedHeap();
  for (let i = warm; i < warm + rounds; i++) await round(i);
  const after = await retainedHeap();
  console.log(`${name}: heap ${(before / MB).toFixed(2)} → ${(after / MB).toFixed(2)} MB over ${rounds} more rounds`);
  expect((after - before) / MB, name).toBeLessThan(slackMb);
}

const pos = (symbol: string, side: Position['side'] = 'LONG', entryPrice = 100): Position => ({
  symbol,
  side,
  quantity: 10,
  entryPrice,
  openedAt: T0,
});
const order = (o: Partial<OrderRequest>): OrderRequest => ({
  clientOrderId: 'o1',
  symbol: 'AAA',
  side: 'BUY',
  quantity: 1,
  type: 'MARKET',
  intent: 'ENTRY',
  ...o,
});
const policy: RiskPluginConfig['stops'] = {
  atrPeriod: 3,
  policy: {
    rules: [
      { kind: 'PERCENT', percent: 5 },
      { kind: 'CHANDELIER', multiple: 2 },
    ],
  },
};

describe('more symbols than maxSymbols', () => {
  it('refuses each bar of a symbol beyond the limit with SYMBOL_LIMIT; the symbols admitted first trail exactly as without the flood', async () => {
    const max = 20;
    const flooded = await started({ limits: { maxSymbols: max }, stops: policy });
    const alone = await started({ limits: { maxSymbols: max }, stops: policy });
    const held = Array.from({ length: max }, (_, i) => `H${i}`);
    const positions = held.slice(0, 5).map((s, i) => pos(s, i % 2 === 0 ? 'LONG' : 'SHORT'));
    for (const p of [flooded, alone]) p.plugin.onPortfolio({ timestamp: T0, equity: 1e6, positions });
    const rounds = 60;
    const intruders = 500;
    // The admitted symbols register first, with one quiet bar each.
    for (const p of [flooded, alone]) await p.plugin.onBars(held.map((s) => bar(s, T0, 100)));
    for (let r = 1; r <= rounds; r++) {
      const t = T0 + r * MIN;
      const mine = held.map((s, i) => bar(s, t, 100 + Math.sin(r / 5 + i) * 3 + r * 0.05 * (i % 2 === 0 ? 1 : -1)));
      // New symbols every round, before and after the admitted ones.
      const flood = Array.from({ length: intruders }, (_, k) => bar(`N${r}-${k}`, t, 50));
      await flooded.plugin.onBars([...flood.slice(0, intruders / 2), ...mine, ...flood.slice(intruders / 2)]);
      await alone.plugin.onBars(mine);
    }
    const s = flooded.plugin.stats();
    expect(s.symbols).toBe(max);
    expect(s.rejections).toEqual({ SYMBOL_LIMIT: rounds * intruders });
    expect(s.bars).toMatchObject({ accepted: (rounds + 1) * max, rejected: rounds * intruders });
    for (const symbol of held) expect(flooded.plugin.stopOf(symbol)).toEqual(alone.plugin.stopOf(symbol));
    expect(s.stops).toEqual(alone.plugin.stats().stops);
    expect(s.stops.moved).toBeGreaterThan(0);
    expect(s.anomalies).toEqual(alone.plugin.stats().anomalies);
  });
});

describe('more positions than maxPositions', () => {
  it('keeps the first maxPositions, refuses the rest with POSITION_LIMIT, and denies entries that would open another', async () => {
    const { plugin } = await started({ limits: { maxPositions: 10 }, stops: policy });
    const many = Array.from({ length: 1_000 }, (_, i) => pos(`P${i}`));
    plugin.onPortfolio({ timestamp: T0, equity: 1e6, positions: many });
    expect(plugin.stats().positions).toBe(10);
    expect(plugin.stats().rejections).toEqual({ POSITION_LIMIT: 990 });
    for (let i = 0; i < 10; i++) expect(plugin.stopOf(`P${i}`)?.stop).toBe(95);
    expect(plugin.stopOf('P10')).toBeUndefined();
    const d = plugin.beforeOrder(order({ symbol: 'NEW' }));
    expect(d).toMatchObject({ allow: false, code: 'POSITION_LIMIT' });
    expect(plugin.beforeOrder(order({ symbol: 'P3' })).allow).toBe(true); // adds to a held position
    // An exit is judged against the position: one that reduces a held position is let out; an
    // "EXIT" with no position behind it (the snapshot's positions beyond maxPositions are
    // refused, so unknown too) would open one: an entry.
    expect(plugin.beforeOrder(order({ symbol: 'P3', intent: 'EXIT', side: 'SELL', quantity: 10 })).allow).toBe(true);
    expect(plugin.beforeOrder(order({ symbol: 'NEW', intent: 'EXIT', side: 'SELL' }))).toMatchObject({
      allow: false,
      code: 'POSITION_LIMIT',
    });
    expect(plugin.stats().orders.denied).toEqual({ POSITION_LIMIT: 2 });
  });

  it('new positions replacing closed ones at the limit get their stops at once (regression: they were refused)', async () => {
    const { plugin } = await started({ limits: { maxPositions: 2 }, stops: policy });
    plugin.onPortfolio({ timestamp: T0, equity: 1e6, positions: [pos('A'), pos('B')] });
    plugin.onPortfolio({ timestamp: T0 + MIN, equity: 1e6, positions: [pos('C'), pos('D', 'SHORT')] });
    expect(plugin.stats().positions).toBe(2);
    expect(plugin.stats().rejections).toEqual({});
    expect(plugin.stopOf('C')?.stop).toBe(95);
    expect(plugin.stopOf('D')?.stop).toBe(105);
    expect(plugin.stopOf('A')).toBeUndefined();
    // One replaced, one kept, one more than the limit: only the extra one is refused.
    plugin.onPortfolio({ timestamp: T0 + 2 * MIN, equity: 1e6, positions: [pos('C'), pos('E'), pos('F')] });
    expect(plugin.stats().positions).toBe(2);
    expect(plugin.stopOf('E')?.stop).toBe(95);
    expect(plugin.stats().rejections).toEqual({ POSITION_LIMIT: 1 });
  });
});

describe('the bar mailbox full', () => {
  it('refuses bars of new symbols beyond maxPendingBars with QUEUE_FULL (counted as rejected), keeps the latest per queued symbol, and processes the queue after', async () => {
    const trailing: RiskPluginConfig['stops'] = {
      policy: { rules: [{ kind: 'TRAILING', percent: 5, activationPercent: 0 }] },
    };
    const { plugin } = await started({ limits: { chunkSize: 1, maxPendingBars: 5 }, stops: trailing });
    const symbols = Array.from({ length: 50 }, (_, i) => `S${i}`);
    plugin.onPortfolio({ timestamp: T0, equity: 1e6, positions: symbols.slice(0, 10).map((s) => pos(s)) });
    const first = plugin.onBars(symbols.map((s) => bar(s, T0 + MIN, 100)));
    const second = plugin.onBars(symbols.map((s) => bar(s, T0 + 2 * MIN, 101))); // 5 queued, 45 refused
    const third = plugin.onBars(symbols.slice(0, 10).map((s) => bar(s, T0 + 3 * MIN, 102))); // 5 replace queued ones, 5 refused
    await Promise.all([first, second, third]);
    const s = plugin.stats();
    expect(s.rejections).toEqual({ QUEUE_FULL: 50 });
    expect(s.bars).toEqual({ received: 110, accepted: 60, rejected: 50, coalesced: 5 });
    expect(s.bars.rejected).toBe(s.rejections.QUEUE_FULL); // the codes sum to `rejected`
    // The queued symbols' latest bars (close 102, high 103.02) were processed; the refused
    // symbols' stops still trail the first bar's high (101).
    for (const symbol of symbols.slice(0, 5)) expect(plugin.stopOf(symbol)?.stop).toBeCloseTo(102 * 1.01 * 0.95, 9);
    for (const symbol of symbols.slice(5, 10)) expect(plugin.stopOf(symbol)?.stop).toBeCloseTo(100 * 1.01 * 0.95, 9);
    // The next bar of a refused symbol is taken as usual.
    await plugin.onBars([bar('S40', T0 + 4 * MIN, 100)]);
    expect(plugin.stats().bars.accepted).toBe(61);
  });
});

describe('the egress NORMAL lane full', () => {
  const normal = (i: number): ProtectiveCommand => ({
    kind: 'PLACE_STOP',
    clientOrderId: `n${i}`,
    symbol: 'AAA',
    side: 'SELL',
    quantity: 1,
    stopPrice: 9,
  });

  it('EgressQueue refuses NORMAL beyond capacity with EGRESS_QUEUE_FULL, holds exactly capacity, and still takes PROTECTIVE', () => {
    const q = new EgressQueue<EgressItem>({ capacity: 100 });
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      const r = q.enqueue('NORMAL', { kind: 'PLACE', clientOrderId: `n${i}` });
      if (!r.ok && r.code === 'EGRESS_QUEUE_FULL') refused++;
    }
    expect(refused).toBe(99_900);
    expect(q.refused).toBe(99_900);
    expect(q.size('NORMAL')).toBe(100);
    expect(q.enqueue('PROTECTIVE', { kind: 'PLACE', clientOrderId: 'p' }).ok).toBe(true);
    expect(q.dequeue()?.item.clientOrderId).toBe('p');
  });

  it('OrderEgress answers NORMAL sends beyond its queue with EGRESS_QUEUE_FULL and a REFUSED event, while a stop still queues', async () => {
    const hung: BrokerClient = { request: () => new Promise(() => {}) }; // never answers: everything backs up
    const events: EgressEvent[] = [];
    const egress = new OrderEgress({
      client: hung,
      limiter: new SlidingWindowRateLimiter({ limit: 1_000 }),
      venue: new VenueGuard({ initialDelayMs: 1 }),
      maxInFlight: 1,
      queueCapacity: 10,
      onEvent: (e) => events.push(e),
    });
    const sends = Array.from({ length: 200 }, (_, i) => egress.send(normal(i), 'NORMAL'));
    await new Promise((r) => setTimeout(r, 20));
    const refused = await Promise.all(sends.slice(20));
    for (const r of refused) expect(r).toMatchObject({ ok: false, code: 'EGRESS_QUEUE_FULL' });
    expect(events.filter((e) => e.kind === 'REFUSED' && e.code === 'EGRESS_QUEUE_FULL').length).toBeGreaterThanOrEqual(
      180,
    );
    expect(egress.queued).toBeLessThanOrEqual(10);
    const stop = egress.send({ ...normal(999), clientOrderId: 'stop' }); // PROTECTIVE: never refused
    await new Promise((r) => setTimeout(r, 5));
    expect(events.some((e) => e.kind === 'REFUSED' && e.command.clientOrderId === 'stop')).toBe(false);
    egress.close();
    expect(await stop).toMatchObject({ ok: false, code: 'EGRESS_CLOSED' });
  });
});

describe('the dead-letter queue full', () => {
  const letter = (id: string): DeadLetter => ({
    command: { kind: 'PLACE_STOP', clientOrderId: id, symbol: 'AAA', side: 'SELL', quantity: 1, stopPrice: 9 },
    code: '-1013',
    attempts: 1,
    firstAttemptAt: 1,
    deadAt: 2,
  });

  it('refuses entries beyond maxEntries with DLQ_FULL, calls onFull each time, and the file stays at maxEntries lines', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'bulwark-hostile-dlq-')), 'dlq.jsonl');
    const full: number[] = [];
    const dlq = await DeadLetterQueue.open(path, { maxEntries: 3, onFull: (n) => full.push(n) });
    const results = await Promise.all(Array.from({ length: 1_000 }, (_, i) => dlq.add(letter(`d${i}`))));
    expect(results.filter((r) => r === 'ADDED')).toHaveLength(3);
    expect(results.filter((r) => r === 'DLQ_FULL')).toHaveLength(997);
    expect(full).toEqual(new Array(997).fill(3));
    await dlq.close();
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(3);
    const again = await DeadLetterQueue.open(path, { maxEntries: 3 });
    expect(again.list().map((e) => e.command.clientOrderId)).toEqual(['d0', 'd1', 'd2']);
    expect(await again.add(letter('late'))).toBe('DLQ_FULL');
    await again.close();
  });

  it('an egress dead-lettering into a full queue fires onFull; the queue keeps maxEntries', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'bulwark-hostile-dlq-')), 'dlq.jsonl');
    const full: number[] = [];
    const deadLetters = await DeadLetterQueue.open(path, { maxEntries: 1, onFull: (n) => full.push(n) });
    const rejecting: BrokerClient = {
      request: async () => {
        throw new BrokerRequestError(classifyBrokerError(400, -1013, 'Filter failure'), 400, -1013, 'Filter failure');
      },
    };
    const egress = new OrderEgress({
      client: rejecting,
      limiter: new SlidingWindowRateLimiter({ limit: 1_000 }),
      venue: new VenueGuard({ initialDelayMs: 1 }),
      deadLetters,
      maxInFlight: 1,
    });
    // Closes are dead-lettered (stop commands go back to their reconciler instead).
    for (let i = 0; i < 3; i++)
      expect(
        await egress.send({ kind: 'CLOSE_POSITION', clientOrderId: `r${i}`, symbol: 'AAA', side: 'SELL', quantity: 1 }),
      ).toMatchObject({ ok: false });
    await egress.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(deadLetters.size).toBe(1);
    expect(full).toEqual([1, 1]);
    egress.close();
    await deadLetters.close();
  });
});

describe('retained heap while each limit is hammered', () => {
  it('SYMBOL_LIMIT: 2·10^5 bars of ever-new symbols leave the heap flat', async () => {
    const { plugin } = await started({ limits: { maxSymbols: 100 } });
    await plugin.onBars(Array.from({ length: 100 }, (_, i) => bar(`K${i}`, T0, 100)));
    await flatHeap(
      'SYMBOL_LIMIT',
      (r) => plugin.onBars(Array.from({ length: 1_000 }, (_, k) => bar(`N${r}-${k}`, T0 + (r + 1) * MIN, 50))),
      20,
      200,
    );
    expect(plugin.stats().symbols).toBe(100);
    expect(plugin.stats().rejections.SYMBOL_LIMIT).toBe(220_000);
  });

  it('invalid records of every kind (100 KB symbols included) leave the heap flat', async () => {
    const { plugin } = await started({ limits: { maxSymbols: 100 } });
    const huge = 'Y'.repeat(100_000);
    const batch = (r: number): unknown[] => [
      { ...bar('AAA', T0 + r * MIN, 100), symbol: `${huge}${r}` },
      { ...bar('AAA', T0 + r * MIN, 100), close: Number.NaN },
      { ...bar('AAA', T0 + r * MIN, 100), high: 1 },
      [`AAA${r}`, 1, 2, 3],
      Object.defineProperty({}, 'symbol', {
        get: () => {
          throw new Error(`getter ${r}`);
        },
        enumerable: true,
      }),
      bar('AAA', T0, 100), // out of order after the first round
    ];
    await flatHeap(
      'invalid records',
      async (r) => {
        await plugin.onBars(batch(r) as Bar[]);
        plugin.onFill({
          fillId: `${huge}${r}`,
          orderId: 'o',
          symbol: 'AAA',
          side: 'BUY',
          quantity: 1,
          price: 1,
          timestamp: T0,
        });
        plugin.beforeOrder(order({ clientOrderId: `${huge}${r}` }));
        plugin.onPortfolio({ timestamp: T0 + r, equity: Number.NaN, positions: [] });
      },
      100,
      2_000,
    );
    expect(plugin.stats().bars.accepted).toBe(1);
  });

  it('POSITION_LIMIT: snapshots of 10^4 positions over a limit of 10 leave the heap flat', async () => {
    const { plugin } = await started({ limits: { maxPositions: 10 } });
    const positions = Array.from({ length: 10_000 }, (_, i) => pos(`P${i}`));
    await flatHeap(
      'POSITION_LIMIT',
      (r) => plugin.onPortfolio({ timestamp: T0 + r * MIN, equity: 1e6, positions }),
      5,
      50,
    );
    expect(plugin.stats().positions).toBe(10);
    expect(plugin.stats().rejections.POSITION_LIMIT).toBe(55 * 9_990);
  });

  it('QUEUE_FULL: refused bars behind a busy batch leave the heap flat', async () => {
    const n = 2_000;
    const { plugin } = await started({ limits: { maxSymbols: n, chunkSize: 100, maxPendingBars: 10 } });
    const symbols = Array.from({ length: n }, (_, i) => `Q${i}`);
    let t = T0;
    await flatHeap(
      'QUEUE_FULL',
      async () => {
        t += MIN;
        const busy = plugin.onBars(symbols.map((s) => bar(s, t, 100)));
        t += MIN;
        const refused = plugin.onBars(symbols.map((s) => bar(s, t, 100)));
        await Promise.all([busy, refused]);
      },
      5,
      40,
    );
    expect(plugin.stats().rejections.QUEUE_FULL).toBe(45 * (n - 10));
  });

  it('EGRESS_QUEUE_FULL and DLQ_FULL: refused commands and letters are not retained', async () => {
    const q = new EgressQueue<EgressItem>({ capacity: 100 });
    const path = join(await mkdtemp(join(tmpdir(), 'bulwark-hostile-dlq-')), 'dlq.jsonl');
    const dlq = await DeadLetterQueue.open(path, { maxEntries: 5 });
    let onFull = 0;
    await flatHeap(
      'EGRESS_QUEUE_FULL + DLQ_FULL',
      async (r) => {
        for (let i = 0; i < 1_000; i++)
          q.enqueue('NORMAL', { kind: 'PLACE', clientOrderId: `n${r}-${i}-${'z'.repeat(200)}` });
        for (let i = 0; i < 100; i++) {
          const res = await dlq.add({
            command: { kind: 'CANCEL', clientOrderId: `d${r}-${i}`, symbol: 'AAA' },
            code: 'X'.repeat(1_000),
            attempts: 1,
            firstAttemptAt: 0,
            deadAt: 0,
          });
          if (res === 'DLQ_FULL') onFull++;
        }
      },
      10,
      200,
    );
    expect(q.size()).toBe(100);
    expect(dlq.size).toBe(5);
    expect(onFull).toBe(210 * 100 - 5);
    await dlq.close();
  });
});
