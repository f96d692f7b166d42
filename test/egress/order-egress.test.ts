import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadLetterQueue } from '../../src/egress/dead-letter-queue.js';
import { OrderEgress, type BrokerClient, type BrokerMethod, type EgressEvent } from '../../src/egress/order-egress.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../../src/egress/venue-guard.js';
import { classifyBrokerError } from '../../src/egress/broker-errors.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';

afterEach(() => vi.useRealTimers());

const err = (status: number, code: number, msg = '', retryAfter?: number) =>
  new BrokerRequestError(classifyBrokerError(status, code, msg), status, code, msg, retryAfter);

/**
 * A scripted broker: `script` answers each request (return to succeed, throw to fail); the
 * broker's own truth — which client ids it executed — is kept apart from what the client saw.
 */
function broker(
  script: (
    method: BrokerMethod,
    params: Readonly<Record<string, unknown>>,
    call: number,
  ) => 'EXECUTE' | 'OK' | Error | 'LOSE',
) {
  const executed = new Map<string, number>();
  /** The order object the broker holds per client id (the protocol's shape), as its requests left it. */
  const orders = new Map<string, Record<string, unknown>>();
  const calls: Array<[BrokerMethod, string]> = [];
  const apply = (method: BrokerMethod, id: string, params: Readonly<Record<string, unknown>>) => {
    const o = orders.get(id) ?? {
      symbol: params['symbol'],
      orderId: orders.size + 1,
      clientOrderId: id,
      side: params['side'],
      type: params['type'],
      status: 'NEW',
      quantity: params['quantity'],
      executedQty: '0',
      reduceOnly: true,
      updateTime: 0,
    };
    if (method === 'order.amend')
      for (const k of ['quantity', 'stopPrice'] as const) if (params[k] !== undefined) o[k] = params[k];
    if (method === 'order.place' && params['stopPrice'] !== undefined) o['stopPrice'] = params['stopPrice'];
    if (method === 'order.cancel') o['status'] = 'CANCELED';
    orders.set(id, o);
    return { ...o };
  };
  const client: BrokerClient = {
    async request(method, params) {
      const id = String(params['newClientOrderId'] ?? params['origClientOrderId']);
      calls.push([method, id]);
      if (method === 'order.status') {
        const o = orders.get(id);
        if (o !== undefined) return { ...o };
        throw err(400, -2013, 'order does not exist');
      }
      const answer = script(method, params, calls.length);
      if (answer === 'EXECUTE' || answer === 'LOSE') {
        if (method === 'order.place' && executed.has(id)) throw err(400, -2010, 'Duplicate order sent.');
        executed.set(id, (executed.get(id) ?? 0) + 1);
        const order = apply(method, id, params);
        if (answer === 'LOSE') throw new Error('request timed out');
        return order;
      }
      if (answer === 'OK') return apply(method, id, params);
      throw answer;
    },
  };
  return { client, executed, calls };
}

const stop = (id: string): ProtectiveCommand => ({
  kind: 'PLACE_STOP',
  clientOrderId: id,
  symbol: 'AAA',
  side: 'SELL',
  quantity: 1,
  stopPrice: 9,
});
const cancel = (id: string): ProtectiveCommand => ({ kind: 'CANCEL', clientOrderId: id, symbol: 'AAA' });
const close = (id: string): ProtectiveCommand => ({
  kind: 'CLOSE_POSITION',
  clientOrderId: id,
  symbol: 'AAA',
  side: 'SELL',
  quantity: 1,
});

async function setup(
  script: Parameters<typeof broker>[0],
  venueOpts: ConstructorParameters<typeof VenueGuard>[0] = {},
) {
  const b = broker(script);
  const events: EgressEvent[] = [];
  const deadLetters = await DeadLetterQueue.open(join(await mkdtemp(join(tmpdir(), 'bulwark-egress-')), 'dlq.jsonl'));
  const egress = new OrderEgress({
    client: b.client,
    limiter: new SlidingWindowRateLimiter({ limit: 100 }),
    venue: new VenueGuard({ initialDelayMs: 10, ...venueOpts }),
    deadLetters,
    maxInFlight: 1,
    onEvent: (e) => events.push(e),
  });
  return { ...b, egress, events, deadLetters };
}

describe('OrderEgress faults, one by one', () => {
  it('a plain success executes once', async () => {
    const s = await setup(() => 'EXECUTE');
    expect(await s.egress.send(stop('a'))).toMatchObject({ ok: true, clientOrderId: 'a' });
    expect(s.executed.get('a')).toBe(1);
  });

  it('protective commands overtake cancels queued ahead of them', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = await setup(() => 'EXECUTE');
    const all = [s.egress.send(cancel('c1')), s.egress.send(cancel('c2')), s.egress.send(stop('p1'))];
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(all);
    // c1 had already taken its rate slot when p1 arrived; p1 overtakes c2, queued before it.
    expect(s.calls.map((c) => c[1])).toEqual(['c1', 'p1', 'c2']);
  });

  it('a rejection (-1013) is not retried; a close is dead-lettered with its code, a stop placement goes back to its reconciler', async () => {
    const s = await setup(() => err(400, -1013, 'bad quantity'));
    const r = await s.egress.send(close('a'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe('-1013');
    expect(s.calls).toHaveLength(1);
    expect(s.deadLetters.list().map((d) => [d.command.clientOrderId, d.code])).toEqual([['a', '-1013']]);
    // A stop command's failure is its reconciler's to act on (retry, or report UNPROTECTED): no stale copy in the DLQ.
    const placed = await s.egress.send(stop('b'));
    expect(!placed.ok && placed.code).toBe('-1013');
    expect(s.deadLetters.list().map((d) => d.command.clientOrderId)).toEqual(['a']);
  });

  it('a busy venue (-1008) is retried with backoff, same client id', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = await setup((_, __, call) => (call <= 2 ? err(503, -1008) : 'EXECUTE'));
    const r = s.egress.send(stop('a'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await r).toMatchObject({ ok: true, clientOrderId: 'a' });
    expect(s.calls.map((c) => c[1])).toEqual(['a', 'a', 'a']);
    expect(s.events.at(-1)).toMatchObject({ kind: 'SENT', attempts: 3 });
  });

  it('a 429 pauses sending until retryAfter, then retries', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = await setup((_, __, call) => (call === 1 ? err(429, -1015, 'too many', 2_000) : 'EXECUTE'));
    const r = s.egress.send(stop('a'));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(s.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await r).toMatchObject({ ok: true, clientOrderId: 'a' });
  });

  it('-1007 with the order executed: asks order.status and adopts it, never re-sends', async () => {
    const s = await setup((_, __, call) => (call === 1 ? 'LOSE' : 'EXECUTE'));
    // 'LOSE' executes at the broker and loses the answer, like -1007 after execution.
    expect(await s.egress.send(stop('a'))).toMatchObject({ ok: true, clientOrderId: 'a' });
    expect(s.executed.get('a')).toBe(1);
    expect(s.calls.map((c) => c[0])).toEqual(['order.place', 'order.status']);
    expect(s.events.some((e) => e.kind === 'ADOPTED')).toBe(true);
  });

  it('-1007 with the order never executed: the status query says so, and it is re-sent with the same id', async () => {
    const s = await setup((_, __, call) => (call === 1 ? err(503, -1007, 'timeout at matching engine') : 'EXECUTE'));
    expect(await s.egress.send(stop('a'))).toMatchObject({ ok: true, clientOrderId: 'a' });
    expect(s.calls).toEqual([
      ['order.place', 'a'],
      ['order.status', 'a'],
      ['order.place', 'a'],
    ]);
    expect(s.executed.get('a')).toBe(1);
  });

  it('a duplicate (-2010) is adopted, not re-sent', async () => {
    const s = await setup(() => 'EXECUTE');
    await s.egress.send(stop('a'));
    expect(await s.egress.send(stop('a'))).toMatchObject({ ok: true, clientOrderId: 'a' }); // same intent sent twice
    expect(s.executed.get('a')).toBe(1);
    expect(s.events.some((e) => e.kind === 'ADOPTED' && e.reason === 'DUPLICATE')).toBe(true);
  });

  it('an open breaker refuses normal orders at once, and never holds protective orders or cancels back', async () => {
    vi.useFakeTimers({ now: 0 });
    let healthy = false;
    const s = await setup(() => (healthy ? 'EXECUTE' : err(503, -1008)), {
      maxAttempts: 1,
      breakAfter: 2,
      halfOpenAfterMs: 5_000,
    });
    const first = [s.egress.send(close('x1')), s.egress.send(close('x2'))];
    await vi.advanceTimersByTimeAsync(100);
    expect((await Promise.all(first)).map((r) => r.ok)).toEqual([false, false]); // two busy answers open the breaker
    const normal = await s.egress.send(stop('n1'), 'NORMAL');
    expect(!normal.ok && normal.code).toBe('VENUE_REDUCING');
    healthy = true;
    // A cancel (of a stop that no longer protects anything) goes out too: the breaker holds back normal orders only.
    const cancelled = s.egress.send(cancel('x0'));
    await vi.advanceTimersByTimeAsync(10);
    expect(await cancelled).toMatchObject({ ok: true, clientOrderId: 'x0' });
    expect(s.calls.filter((c) => c[0] === 'order.cancel')).toHaveLength(1);
    // While the breaker is open, a protective placement goes out at once (at the rate limit), not one per probe period.
    const sent = s.egress.send(stop('p1'));
    await vi.advanceTimersByTimeAsync(10);
    expect(await sent).toMatchObject({ ok: true, clientOrderId: 'p1' });
    expect(s.calls.filter((c) => c[1] === 'p1')).toHaveLength(1);
    expect(s.deadLetters.list().map((d) => d.code)).toEqual(['RETRIES_EXHAUSTED', 'RETRIES_EXHAUSTED']);
  });

  it('a burst of normal orders cannot take the whole rate window: a stop sent after it goes out at once', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = await setup(() => 'EXECUTE');
    const egress = new OrderEgress({
      client: s.client,
      limiter: new SlidingWindowRateLimiter({ limit: 10, safety: 1 }),
      venue: new VenueGuard(),
      maxInFlight: 4,
    });
    const normals = Array.from({ length: 30 }, (_, i) => egress.send({ ...stop(`n${i}`) }, 'NORMAL'));
    await vi.advanceTimersByTimeAsync(100);
    expect(s.calls.filter((c) => c[1].startsWith('n'))).toHaveLength(8); // 80% of the 10/s window
    let sentAt = -1;
    const p = egress.send(stop('p1')).then(() => (sentAt = Date.now()));
    await vi.advanceTimersByTimeAsync(10);
    await p;
    expect(sentAt).toBeLessThan(200); // not after the window turns at 1 000 ms
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(normals);
  });

  it('close answers every queued command EGRESS_CLOSED and sends nothing more', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = await setup(() => 'EXECUTE');
    const egress = new OrderEgress({
      client: s.client,
      limiter: new SlidingWindowRateLimiter({ limit: 2, safety: 1 }),
      venue: new VenueGuard(),
      maxInFlight: 1,
    });
    const results = Array.from({ length: 5 }, (_, i) => egress.send(stop(`q${i}`)));
    await vi.advanceTimersByTimeAsync(10);
    egress.close();
    await vi.advanceTimersByTimeAsync(5_000);
    const codes = (await Promise.all(results)).map((r) => (r.ok ? 'ok' : r.code));
    expect(codes.filter((c) => c === 'EGRESS_CLOSED').length).toBeGreaterThanOrEqual(3);
    expect(codes.every((c) => c === 'ok' || c === 'EGRESS_CLOSED')).toBe(true);
    expect(s.calls.length).toBeLessThanOrEqual(2);
    expect(await egress.send(stop('late'))).toMatchObject({ ok: false, code: 'EGRESS_CLOSED' });
  });

  it('a dead letter the full queue refuses is reported REFUSED DLQ_FULL, not DEAD_LETTERED', async () => {
    const b = broker(() => err(400, -1013, 'bad quantity'));
    const events: EgressEvent[] = [];
    let full = 0;
    const deadLetters = await DeadLetterQueue.open(
      join(await mkdtemp(join(tmpdir(), 'bulwark-egress-')), 'dlq.jsonl'),
      { maxEntries: 1, onFull: () => full++ },
    );
    const egress = new OrderEgress({
      client: b.client,
      limiter: new SlidingWindowRateLimiter({ limit: 100 }),
      venue: new VenueGuard(),
      deadLetters,
      maxInFlight: 1,
      onEvent: (e) => events.push(e),
    });
    expect((await egress.send(close('x1'))).ok).toBe(false);
    expect((await egress.send(close('x2'))).ok).toBe(false);
    expect(events.map((e) => [e.kind, e.command.clientOrderId, 'code' in e ? e.code : ''])).toEqual([
      ['DEAD_LETTERED', 'x1', '-1013'],
      ['REFUSED', 'x2', 'DLQ_FULL'],
    ]);
    expect(deadLetters.list().map((d) => d.command.clientOrderId)).toEqual(['x1']);
    expect(full).toBe(1);
  });
});
