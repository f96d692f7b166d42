import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSimBroker, type SimBroker } from '../../src/testing/sim-broker.js';
import { WsBrokerClient } from '../../src/broker/ws-broker-client.js';
import { isBulwarkError } from '../../src/index.js';

// close() is final at any point: a reconnect backoff in progress is cancelled, a connection
// being opened never logs on, no onReconcile / onRateLimit follows, and connect() is refused
// with CLIENT_CLOSED. Judged by the simulated broker's own view: its open connections, and
// its clock, which it reads for every logon (the recv-window check) and every order request.

const KEY = 'k-close';
const SECRET = 's-close';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A broker whose clock can be skewed (a skewed clock refuses logons with -1021) and counts its reads. */
async function broker() {
  const clock = { skewMs: 0, reads: 0 };
  const b: SimBroker = await startSimBroker({
    apiKey: KEY,
    apiSecret: SECRET,
    ordersPerSecond: 1_000,
    now: () => {
      clock.reads++;
      return Date.now() + clock.skewMs;
    },
  });
  cleanup.push(() => b.close());
  return { b, clock };
}

function client(url: string) {
  const calls: string[] = [];
  const c = new WsBrokerClient({
    url,
    apiKey: KEY,
    apiSecret: SECRET,
    reconnectDelayMs: 1_000,
    maxReconnectDelayMs: 1_000,
    onReconcile: (reason) => calls.push(`reconcile:${reason}`),
    onRateLimit: (limit) => calls.push(`rateLimit:${limit}`),
  });
  cleanup.push(() => c.close());
  return { c, calls };
}

/**
 * Turns the event loop (setImmediate, which the fake timers leave real, so socket I/O runs)
 * until `condition` holds; fails after a real-time bound instead of hanging.
 */
async function until(condition: () => boolean, what: string, boundMs = 5_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** A fixed number of event-loop turns: time for anything already under way to show. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

const place = (id: string) => ({
  symbol: 'AAA',
  side: 'SELL',
  type: 'STOP_MARKET',
  quantity: '1',
  stopPrice: '90',
  newClientOrderId: id,
});

const isClosedError = (e: unknown) => isBulwarkError(e, 'CLIENT_CLOSED');

describe('WsBrokerClient.close() is final', () => {
  it('during a reconnect backoff: the wait is cancelled, nothing reconnects or logs on, no callback follows', async () => {
    // Only setTimeout is faked: the backoff wait never ends by itself, socket I/O stays real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { b, clock } = await broker();
    const { c, calls } = client(b.url);
    await c.connect();
    expect(calls).toEqual(['rateLimit:1000', 'reconcile:LOGON']);

    // The broker drops the connection on the next order, and refuses the reconnect's logon
    // (its clock is off by a minute): the client goes into its backoff wait.
    clock.skewMs = 60_000;
    b.setFaults({ disconnectNotExecuted: 1 });
    await expect(c.request('order.place', place('x1'))).rejects.toThrow();
    const readsAtDrop = clock.reads; // the order request read the clock
    // The refused logon read the clock; once the broker has seen the client drop that
    // connection, the client is in the backoff (it arms the wait as it terminates).
    await until(() => clock.reads > readsAtDrop && b.connections === 0, 'the refused logon and the dropped connection');
    const reconnecting = c.connect(); // the reconnect loop under way
    reconnecting.catch(() => {});

    clock.skewMs = 0; // from now on a logon would succeed
    b.setFaults({});
    const readsAtClose = clock.reads;
    c.close();
    await vi.advanceTimersByTimeAsync(60_000); // far past any backoff delay

    await expect(reconnecting).rejects.toSatisfy(isClosedError);
    await turns(50);
    expect(b.connections).toBe(0);
    expect(clock.reads).toBe(readsAtClose); // no logon reached the broker
    expect(calls).toEqual(['rateLimit:1000', 'reconcile:LOGON']);
    await expect(c.connect()).rejects.toSatisfy(isClosedError);
    await expect(c.request('order.place', place('x2'))).rejects.toSatisfy(isClosedError);
  });

  it('while a reconnection is being opened: it is dropped without a logon, and no callback follows', async () => {
    const { b, clock } = await broker();
    const { c, calls } = client(b.url);
    await c.connect();
    b.setFaults({ disconnectNotExecuted: 1 });
    // The request fails when the broker drops the connection; the client has started opening
    // a new one (synchronously, before the failure reaches this caller).
    await expect(c.request('order.place', place('x1'))).rejects.toThrow();
    const reconnecting = c.connect();
    reconnecting.catch(() => {});
    b.setFaults({});
    const readsAtClose = clock.reads;
    c.close();

    await expect(reconnecting).rejects.toSatisfy(isClosedError);
    await until(() => b.connections === 0, 'the broker to see no open connection');
    await turns(50);
    expect(b.connections).toBe(0);
    expect(clock.reads).toBe(readsAtClose); // no logon reached the broker
    expect(calls).toEqual(['rateLimit:1000', 'reconcile:LOGON']);
  });

  it('before any connection: connect() is refused with a CLIENT_CLOSED BulwarkError', async () => {
    const { b, clock } = await broker();
    const { c, calls } = client(b.url);
    c.close();
    await expect(c.connect()).rejects.toSatisfy(isClosedError);
    await turns(50);
    expect(b.connections).toBe(0);
    expect(clock.reads).toBe(0);
    expect(calls).toEqual([]);
  });
});
