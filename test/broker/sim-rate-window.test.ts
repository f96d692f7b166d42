import { frameText } from '../../src/broker/frame-text.js';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSimBroker, type SimBroker, type SimBrokerOptions } from '../../src/testing/sim-broker.js';
import { isBulwarkError } from '../../src/index.js';

// The protocol (shared/docs/broker-protocol.md, "Rate limits"): the announced limit is the
// number of order.place + order.amend + order.cancel requests allowed in any 1-second window;
// the broker counts a request at the moment it receives it, over a sliding window (not
// whole-second buckets), across all of the account's connections, and remembers requests
// from a connection that has since closed. The first request over it gets 429 with
// retryAfter; continuing to send while limited for 2 s gets 418.
//
// The broker's clock is the test's (`now` option), so every receive time is chosen here.

const KEY = 'k-rate';
const SECRET = 's-rate';
/** Just before a whole second of the broker's clock, so that buckets and windows disagree. */
const T = 1_767_225_600_900;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(extra: Partial<SimBrokerOptions> = {}) {
  const clock = { now: T };
  const b = await startSimBroker({ apiKey: KEY, apiSecret: SECRET, now: () => clock.now, ...extra });
  cleanup.push(() => b.close());
  return { b, clock };
}

type Answer = { id: string; status: number; error?: { code: number; retryAfter?: number } };

let ids = 0;
/** A raw protocol connection, logged on with the HMAC signature at the broker's clock. */
async function connect(b: SimBroker, clock: { now: number }) {
  const ws = new WebSocket(b.url);
  cleanup.push(() => ws.terminate());
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waiting = new Map<string, (m: Answer) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(frameText(data)) as Answer;
    waiting.get(m.id)?.(m);
  });
  const request = (method: string, params: Record<string, unknown>) =>
    new Promise<Answer>((resolve) => {
      const id = `r${++ids}`;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const timestamp = clock.now;
  const signature = createHmac('sha256', SECRET).update(`apiKey=${KEY}&timestamp=${timestamp}`).digest('hex');
  expect((await request('session.logon', { apiKey: KEY, timestamp, signature })).status).toBe(200);
  /** A resting stop order (needs no market price), with a fresh client id. */
  const place = () =>
    request('order.place', {
      symbol: 'AAA',
      side: 'SELL',
      type: 'STOP_MARKET',
      quantity: '1',
      stopPrice: '90',
      newClientOrderId: `c${++ids}`,
    });
  return { ws, request, place };
}

/** Turns the event loop until `condition` holds; fails after a real-time bound instead of hanging. */
async function until(condition: () => boolean, what: string, boundMs = 5_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * The most of `times` in one window [t, t + w), by brute force: a window holding the most
 * can be slid right until its start meets one of them, so try a window starting at each.
 */
function naiveMax(times: readonly number[], w: number): number {
  let best = 0;
  for (const start of times) {
    let n = 0;
    for (const x of times) if (start <= x && x < start + w) n++;
    best = Math.max(best, n);
  }
  return best;
}

describe('simulated broker rate limit: sliding, per account', () => {
  it('two connections sending alternately are limited together, and a new whole second does not reset the window', async () => {
    const { b, clock } = await start({ ordersPerSecond: 4 });
    const c1 = await connect(b, clock);
    const c2 = await connect(b, clock);
    const first: number[] = [];
    for (let i = 0; i < 6; i++) first.push((await (i % 2 === 0 ? c1 : c2).place()).status);
    expect(first).toEqual([200, 200, 200, 200, 429, 429]); // 4 of 6 received at T, whichever connection

    clock.now = T + 200; // the next whole second, 200 ms later: 6 received in (T - 800, T + 200]
    const limited = await c1.place();
    expect(limited).toMatchObject({ status: 429, error: { code: -1015 } });
    clock.now = T + 999; // 7 received in (T - 1, T + 999]
    expect((await c2.place()).status).toBe(429);
    clock.now = T + 1_000; // (T, T + 1 000] holds the two at T + 200 and T + 999
    expect((await c2.place()).status).toBe(200);
    expect(limited.error?.retryAfter).toBe(T + 1_000);
  });

  it('remembers the requests of a connection that has since closed', async () => {
    const { b, clock } = await start({ ordersPerSecond: 3 });
    const gone = await connect(b, clock);
    for (let i = 0; i < 3; i++) expect((await gone.place()).status).toBe(200);
    gone.ws.close();
    await until(() => b.connections === 0, 'the broker to see the connection closed');

    clock.now = T + 500;
    const next = await connect(b, clock);
    expect(await next.place()).toMatchObject({ status: 429, error: { code: -1015, retryAfter: T + 1_000 } });
    clock.now = T + 1_000;
    expect((await next.place()).status).toBe(200);
  });

  it('a client that keeps sending while limited gets 429 for 2 s, then 418; the ban holds on every connection until retryAfter', async () => {
    const { b, clock } = await start({ ordersPerSecond: 2 });
    const c1 = await connect(b, clock);
    const c2 = await connect(b, clock);
    expect([(await c1.place()).status, (await c2.place()).status]).toEqual([200, 200]);
    // One request every 100 ms, alternating: the window never drops below the limit.
    const statuses: number[] = [];
    let ban: Answer | undefined;
    for (let k = 1; k <= 21; k++) {
      clock.now = T + 100 * k;
      const a = await (k % 2 === 0 ? c1 : c2).place();
      statuses.push(a.status);
      if (a.status === 418) ban = a;
    }
    // Limited from T + 100; at T + 2 100 it has been limited for 2 s.
    expect(statuses).toEqual([...Array<number>(20).fill(429), 418]);
    const retryAfter = ban?.error?.retryAfter as number;
    expect(ban?.error?.code).toBe(-1003);
    expect(retryAfter).toBeGreaterThan(T + 2_100);

    clock.now = T + 2_200;
    const fresh = await connect(b, clock);
    expect(await fresh.place()).toMatchObject({ status: 418, error: { code: -1003, retryAfter } });
    clock.now = retryAfter - 1;
    expect((await c1.place()).status).toBe(418);
    clock.now = retryAfter; // it stopped sending over a second ago: the window is empty
    expect((await fresh.place()).status).toBe(200);
  });

  it('property: across two connections, no window [t, t + 1 s) holds more accepted order requests than the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 400 }), second: fc.boolean() }), {
          minLength: 1,
          maxLength: 30,
        }),
        async (limit, schedule) => {
          const { b, clock } = await start({ ordersPerSecond: limit });
          const conns = [await connect(b, clock), await connect(b, clock)] as const;
          const accepted: number[] = [];
          for (const step of schedule) {
            clock.now += step.gap;
            if ((await conns[step.second ? 1 : 0].place()).status === 200) accepted.push(clock.now);
          }
          expect(naiveMax(accepted, 1_000)).toBeLessThanOrEqual(limit);
          expect(accepted.length).toBeGreaterThanOrEqual(1); // the first request always passes
          for (const f of cleanup.splice(0).reverse()) await f();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('simulated broker record of receive times', () => {
  it('keeps every order request received, refused or not, on any connection, in order; the last maxRecordedRequests of them', async () => {
    const { b, clock } = await start({ ordersPerSecond: 2, maxRecordedRequests: 4 });
    const c1 = await connect(b, clock);
    const c2 = await connect(b, clock);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.now = T + 10 * i;
      statuses.push((await (i % 2 === 0 ? c1 : c2).place()).status);
    }
    await c1.request('order.status', { symbol: 'AAA', origClientOrderId: 'none' }); // not an order request
    await c2.request('ping', {});
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    expect(b.receiveTimes).toEqual([T + 10, T + 20, T + 30, T + 40]); // the oldest (T) dropped
    expect(b.maxInAnyWindow()).toBe(4);
    expect(b.maxInAnyWindow(20)).toBe(2);
    expect([...b.requestsPerSecond.values()].reduce((x, y) => x + y, 0)).toBe(5); // kept as before
  });

  it('refuses a non-positive window, maxRecordedRequests or ordersPerSecond with INVALID_OPTION', async () => {
    const { b } = await start();
    expect(() => b.maxInAnyWindow(0)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => b.maxInAnyWindow(Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    for (const bad of [{ maxRecordedRequests: 0 }, { maxRecordedRequests: 1.5 }, { ordersPerSecond: 0 }]) {
      const started = startSimBroker({ apiKey: KEY, apiSecret: SECRET, ...bad });
      await expect(started).rejects.toSatisfy((e: unknown) => isBulwarkError(e, 'INVALID_OPTION'));
    }
  });

  it('property: maxInAnyWindow equals a brute-force count over the receive times (in any order: the clock may go back)', async () => {
    const time = fc.oneof(fc.integer({ min: 0, max: 4_000 }), fc.double({ min: 0, max: 4_000, noNaN: true }));
    await fc.assert(
      fc.asyncProperty(fc.array(time, { maxLength: 40 }), fc.integer({ min: 1, max: 3_000 }), async (offsets, w) => {
        const { b, clock } = await start({ ordersPerSecond: 1_000 });
        const c = await connect(b, clock);
        const times = offsets.map((x) => T + x);
        for (const t of times) {
          clock.now = t;
          await c.place();
        }
        expect(b.receiveTimes).toEqual(times);
        expect(b.maxInAnyWindow(w)).toBe(naiveMax(times, w));
        expect(b.maxInAnyWindow()).toBe(naiveMax(times, 1_000));
        for (const f of cleanup.splice(0).reverse()) await f();
      }),
      { numRuns: 60 },
    );
  });
});
