import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OrderEgress, type BrokerClient } from '../../src/egress/order-egress.js';
import { OrderJournal } from '../../src/egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../../src/egress/venue-guard.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';

const place = (id: string, stopPrice = 9): ProtectiveCommand => ({
  kind: 'PLACE_STOP',
  clientOrderId: id,
  symbol: 'AAA',
  side: 'SELL',
  quantity: 1,
  stopPrice,
});
const amend = (id: string, stopPrice: number, version: number): ProtectiveCommand => ({
  kind: 'AMEND_STOP',
  clientOrderId: id,
  symbol: 'AAA',
  stopPrice,
  version,
});
const cancel = (id: string): ProtectiveCommand => ({ kind: 'CANCEL', clientOrderId: id, symbol: 'AAA' });
const ok = (id: string) => ({ ok: true as const, clientOrderId: id });

async function tempPath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'bulwark-journal-')), 'journal.jsonl');
}

describe('OrderJournal', () => {
  it('after a restart, lists intents with no outcome as in doubt, and the stops still live', async () => {
    const path = await tempPath();
    const j = await OrderJournal.open(path);
    await j.intent(place('s1'));
    await j.outcome(place('s1'), ok('s1'));
    await j.intent(amend('s1', 9.5, 2));
    await j.outcome(amend('s1', 9.5, 2), ok('s1'));
    await j.intent(place('s2'));
    await j.outcome(place('s2'), ok('s2'));
    await j.intent(cancel('s2'));
    await j.outcome(cancel('s2'), ok('s2'));
    await j.intent(place('s3')); // crash before its outcome
    await j.close();
    const again = await OrderJournal.open(path);
    expect(again.inDoubt().map((c) => c.clientOrderId)).toEqual(['s3']);
    expect(again.liveStops()).toEqual([place('s1', 9.5)]);
    await again.close();
  });

  it('skips a torn last line', async () => {
    const path = await tempPath();
    const j = await OrderJournal.open(path);
    await j.intent(place('s1'));
    await j.close();
    await appendFile(path, '{"t":"OUTCOME","clientOrd');
    const again = await OrderJournal.open(path);
    expect(again.corrupt).toBe(1);
    expect(again.inDoubt()).toHaveLength(1);
    await again.close();
  });

  it('compacts to the in-doubt intents and live stops, atomically', async () => {
    const path = await tempPath();
    const j = await OrderJournal.open(path, { compactAfter: 50 });
    for (let i = 0; i < 40; i++) {
      await j.intent(place(`s${i}`));
      await j.outcome(place(`s${i}`), ok(`s${i}`));
      if (i % 2 === 1) {
        await j.intent(cancel(`s${i}`));
        await j.outcome(cancel(`s${i}`), ok(`s${i}`));
      }
    }
    await j.intent(place('doubt'));
    await j.close();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(80);
    const again = await OrderJournal.open(path);
    expect(again.liveStops().map((c) => c.clientOrderId)).toEqual(Array.from({ length: 20 }, (_, k) => `s${2 * k}`));
    expect(again.inDoubt().map((c) => c.clientOrderId)).toEqual(['doubt']);
    await again.close();
  });
});

describe('OrderEgress.start reconciles the journal before sending anything new', () => {
  it('adopts stop placements the broker shows, leaves those it never saw to the stop reconciler (no stale re-send), re-sends a close it never saw, and holds new sends until done', async () => {
    const path = await tempPath();
    const crashed = await OrderJournal.open(path);
    await crashed.intent(place('executed-before-crash'));
    await crashed.intent(place('never-reached-broker'));
    await crashed.intent({
      kind: 'CLOSE_POSITION',
      clientOrderId: 'close-never-reached',
      symbol: 'AAA',
      side: 'SELL',
      quantity: 1,
    });
    await crashed.close();

    const executed = new Map<string, number>([['executed-before-crash', 1]]);
    const calls: string[] = [];
    const client: BrokerClient = {
      async request(method, params) {
        const id = String(params['newClientOrderId'] ?? params['origClientOrderId']);
        calls.push(`${method} ${id}`);
        // The broker's order objects, as the protocol shapes them (the journal's places are SELL 1 @ 9).
        const order = {
          symbol: 'AAA',
          orderId: 1,
          clientOrderId: id,
          side: 'SELL',
          type: 'STOP_MARKET',
          status: 'NEW',
          quantity: '1',
          executedQty: '0',
          stopPrice: '9',
          reduceOnly: true,
          updateTime: 0,
        };
        if (method === 'order.status') {
          if (executed.has(id)) return order;
          throw new BrokerRequestError('NOT_FOUND', 400, -2013, 'order does not exist');
        }
        executed.set(id, (executed.get(id) ?? 0) + 1);
        return order;
      },
    };
    const journal = await OrderJournal.open(path);
    const egress = new OrderEgress({
      client,
      journal,
      limiter: new SlidingWindowRateLimiter({ limit: 100 }),
      venue: new VenueGuard(),
    });
    const started = egress.start();
    const fresh = egress.send(place('new-after-restart'));
    expect(await started).toEqual({ executed: 1, resent: 1, unknown: 0 });
    expect(await fresh).toMatchObject(ok('new-after-restart'));
    expect(calls.slice(0, 3)).toEqual([
      'order.status executed-before-crash',
      'order.status never-reached-broker',
      'order.status close-never-reached',
    ]);
    expect(calls).not.toContain('order.place never-reached-broker'); // the reconciler places what is still wanted
    expect(calls).toContain('order.place close-never-reached');
    expect(calls.indexOf('order.place new-after-restart')).toBeGreaterThan(2);
    expect([...executed.values()].every((n) => n === 1)).toBe(true); // nothing executed twice
    await new Promise((r) => setImmediate(r));
    expect(journal.inDoubt()).toEqual([]);
    await journal.close();
  });
});
