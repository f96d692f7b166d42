import { frameText } from '../../src/broker/frame-text.js';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startSimBroker, type SimBroker, type SimBrokerOptions } from '../../src/testing/sim-broker.js';
import { WsBrokerClient } from '../../src/broker/ws-broker-client.js';
import { BrokerRequestError } from '../../src/egress/venue-guard.js';
import { isBulwarkError } from '../../src/errors.js';

/*
 * The simulated broker's faults, one at a time, each judged by the broker's own truth
 * (`executions`, `book`) and by what the client does (rejections, onReport, onReconcile).
 * Waits are event-driven (a promise resolved by a callback or a socket event); the few
 * intervals are configured short.
 */

const KEY = 'k-faults';
const SECRET = 's-faults';
const T = 10_000; // per-test budget: a missing event fails fast instead of hanging for the default
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function sim(extra: Partial<SimBrokerOptions> = {}): Promise<SimBroker> {
  const b = await startSimBroker({ apiKey: KEY, apiSecret: SECRET, ...extra });
  cleanup.push(() => b.close());
  return b;
}

/** Items pushed by a callback, and a promise for "at least n of them". */
function recorder<T>() {
  const items: T[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  return {
    items,
    push(item: T) {
      items.push(item);
      for (const w of waiting.filter((x) => items.length >= x.n)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    },
    atLeast(n: number): Promise<void> {
      if (items.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ n, resolve }));
    },
  };
}

function client(b: SimBroker, extra: Partial<ConstructorParameters<typeof WsBrokerClient>[0]> = {}) {
  const reconciles = recorder<string>();
  const reports = recorder<string>();
  const c = new WsBrokerClient({
    url: b.url,
    apiKey: KEY,
    apiSecret: SECRET,
    requestTimeoutMs: 2_000,
    reconnectDelayMs: 10,
    onReconcile: (r) => reconciles.push(r),
    onReport: (r) => reports.push(`${r.clientOrderId}:${r.status}:${r.seq}`),
    ...extra,
  });
  cleanup.push(() => c.close());
  /** Every frame the broker sent before this answer has been handled (one connection, in order). */
  const barrier = () => c.request('openOrders.status', {});
  return { c, reconciles, reports, barrier };
}

const market = (id: string) => ({ symbol: 'AAA', side: 'SELL', type: 'MARKET', quantity: '1', newClientOrderId: id });
const stop = (id: string, stopPrice = '90') => ({
  symbol: 'AAA',
  side: 'SELL',
  type: 'STOP_MARKET',
  quantity: '1',
  stopPrice,
  newClientOrderId: id,
});
const status = (id: string) => ({ symbol: 'AAA', origClientOrderId: id });

/** A raw protocol connection: no reconnects, no timers of its own. */
async function raw(b: SimBroker, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(b.url, options);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waiting = new Map<string, (m: Record<string, unknown>) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(frameText(data)) as Record<string, unknown>;
    if (typeof m['id'] === 'string') waiting.get(m['id'])?.(m);
  });
  const pings = recorder<number>();
  ws.on('ping', () => pings.push(Date.now()));
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  let n = 0;
  /** The answer, or 'CLOSED' if the connection closes first. */
  const request = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown> | 'CLOSED'>((resolve) => {
      const id = `r${++n}`;
      waiting.set(id, resolve);
      void closed.then(() => resolve('CLOSED'));
      ws.send(JSON.stringify({ id, method, params }));
    });
  const logon = () => {
    const timestamp = Date.now();
    const signature = createHmac('sha256', SECRET).update(`apiKey=${KEY}&timestamp=${timestamp}`).digest('hex');
    return request('session.logon', { apiKey: KEY, timestamp, signature });
  };
  cleanup.push(() => ws.terminate());
  return { ws, request, logon, pings, closed };
}

describe('disconnect mid-order', () => {
  it(
    'after executing: the request rejects as lost, the client reconnects and reconciles, and order.status finds it filled',
    async () => {
      const b = await sim({ faults: { disconnectExecuted: 1 } });
      b.feedPrice('AAA', 100);
      const { c, reconciles } = client(b);
      await c.connect();
      expect(reconciles.items).toEqual(['LOGON']);
      const lost = await c.request('order.place', market('a')).catch((e: unknown) => e);
      expect(lost).toBeInstanceOf(Error);
      expect(lost).not.toBeInstanceOf(BrokerRequestError); // outcome unknown, not an answer
      expect(String(lost)).toContain('connection lost');
      expect(isBulwarkError(lost, 'CONNECTION_LOST')).toBe(true);
      await reconciles.atLeast(2);
      expect(reconciles.items).toEqual(['LOGON', 'LOGON']);
      expect(await c.request('order.status', status('a'))).toMatchObject({
        clientOrderId: 'a',
        status: 'FILLED',
        executedQty: '1',
      });
      expect(b.executions).toEqual([expect.objectContaining({ clientOrderId: 'a', quantity: 1, price: 100 })]);
      expect(b.connections).toBe(1); // the dropped connection is gone; one reconnect, no stray second one
    },
    T,
  );

  it(
    'without executing: the request rejects as lost, the client reconnects and reconciles, order.status says -2013, and a retry with the same id executes once',
    async () => {
      const b = await sim({ faults: { disconnectNotExecuted: 1 } });
      b.feedPrice('AAA', 100);
      const { c, reconciles } = client(b);
      await c.connect();
      const lost = await c.request('order.place', market('a')).catch((e: unknown) => e);
      expect(lost).toBeInstanceOf(Error);
      expect(lost).not.toBeInstanceOf(BrokerRequestError);
      await reconciles.atLeast(2);
      expect(reconciles.items).toEqual(['LOGON', 'LOGON']);
      const unknown = await c.request('order.status', status('a')).catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(BrokerRequestError);
      expect(unknown).toMatchObject({ code: 'BROKER_ERROR', brokerCode: -2013 });
      expect(b.book.get('a')).toBeUndefined();
      expect(b.executions).toEqual([]);
      b.setFaults({});
      expect(await c.request('order.place', market('a'))).toMatchObject({ clientOrderId: 'a', status: 'FILLED' });
      expect(b.executions.map((e) => e.clientOrderId)).toEqual(['a']);
      expect(b.connections).toBe(1);
    },
    T,
  );

  it(
    'is seeded: the same seed disconnects on the same requests, executing the same ones',
    async () => {
      const outcomes = async () => {
        const b = await startSimBroker({
          apiKey: KEY,
          apiSecret: SECRET,
          seed: 11,
          faults: { disconnectExecuted: 0.25, disconnectNotExecuted: 0.25 },
        });
        try {
          b.feedPrice('AAA', 100);
          let r = await raw(b);
          await r.logon();
          const out: string[] = [];
          for (let i = 0; i < 40; i++) {
            const a = await r.request('order.place', market(`d${i}`));
            const executed = b.book.get(`d${i}`) !== undefined ? '+x' : '';
            out.push(a === 'CLOSED' ? `closed${executed}` : `${String(a['status'])}${executed}`);
            if (a === 'CLOSED') {
              r = await raw(b);
              await r.logon();
            }
          }
          expect(b.executions).toHaveLength(out.filter((o) => o.endsWith('+x')).length);
          return out;
        } finally {
          await b.close();
        }
      };
      const first = await outcomes();
      expect(await outcomes()).toEqual(first);
      expect(new Set(first)).toEqual(new Set(['200+x', 'closed', 'closed+x']));
    },
    T,
  );
});

describe('execution reports', () => {
  it(
    'lost report: the gap at the first report after logon asks for reconciliation exactly once',
    async () => {
      const b = await sim({ faults: { lostReports: 1 } });
      b.feedPrice('AAA', 100);
      const { c, reconciles, reports, barrier } = client(b);
      await c.connect();
      await c.request('order.place', market('a')); // its report (seq 1) is lost
      b.setFaults({});
      await c.request('order.place', market('b')); // seq 2
      await c.request('order.place', market('c')); // seq 3
      await barrier();
      expect(b.executions.map((e) => e.clientOrderId)).toEqual(['a', 'b', 'c']);
      expect(reports.items).toEqual(['b:FILLED:2', 'c:FILLED:3']);
      expect(reconciles.items).toEqual(['LOGON', 'SEQ_GAP']);
    },
    T,
  );

  it(
    'lost report mid-stream: one SEQ_GAP, and the reports after it do not ask again',
    async () => {
      const b = await sim();
      b.feedPrice('AAA', 100);
      const { c, reconciles, reports, barrier } = client(b);
      await c.connect();
      await c.request('order.place', market('a')); // seq 1
      b.setFaults({ lostReports: 1 });
      await c.request('order.place', market('b')); // seq 2, lost
      b.setFaults({});
      await c.request('order.place', market('c')); // seq 3: the gap
      await c.request('order.place', market('d')); // seq 4
      await barrier();
      expect(b.executions).toHaveLength(4);
      expect(reports.items).toEqual(['a:FILLED:1', 'c:FILLED:3', 'd:FILLED:4']);
      expect(reconciles.items).toEqual(['LOGON', 'SEQ_GAP']);
    },
    T,
  );

  it(
    'out-of-order reports: the held one arrives after its successor, both are delivered once, and the late one asks no second reconciliation',
    async () => {
      const b = await sim();
      const { c, reconciles, reports, barrier } = client(b);
      await c.connect();
      await c.request('order.place', stop('s0', '95'));
      await c.request('order.place', stop('s1'));
      await c.request('order.place', stop('s2'));
      b.feedPrice('AAA', 94); // s0 fires: seq 1, in order
      await reports.atLeast(1);
      b.setFaults({ outOfOrderReports: 1 });
      b.feedPrice('AAA', 80); // s1 and s2 fire: seq 2 is held back until seq 3 is sent
      await reports.atLeast(3);
      await barrier();
      const [e0, e1, e2] = b.executions.map((e) => e.clientOrderId);
      expect(b.executions).toHaveLength(3);
      expect(reports.items).toEqual([`${e0}:FILLED:1`, `${e2}:FILLED:3`, `${e1}:FILLED:2`]);
      expect(reconciles.items).toEqual(['LOGON', 'SEQ_GAP']); // seq 3 skipped 2: one ask; the late 2 fills the gap
    },
    T,
  );

  it(
    'out-of-order report with no successor: sent after the hold time, in order, no reconciliation',
    async () => {
      const b = await sim({ faults: { outOfOrderReports: 1 } });
      const { c, reconciles, reports, barrier } = client(b);
      await c.connect();
      await c.request('order.place', stop('s1'));
      b.feedPrice('AAA', 80);
      await reports.atLeast(1);
      await barrier();
      expect(reports.items).toEqual(['s1:FILLED:1']);
      expect(reconciles.items).toEqual(['LOGON']);
    },
    T,
  );

  it(
    'duplicate reports: each delivered once, and a repeated seq is no gap',
    async () => {
      const b = await sim({ faults: { duplicateReports: 1 } });
      const { c, reconciles, reports, barrier } = client(b);
      await c.connect();
      await c.request('order.place', stop('s1'));
      await c.request('order.place', stop('s2'));
      b.feedPrice('AAA', 80); // four frames: seq 1, 1, 2, 2
      await barrier();
      const [e1, e2] = b.executions.map((e) => e.clientOrderId);
      expect(b.executions).toHaveLength(2);
      expect(reports.items).toEqual([`${e1}:FILLED:1`, `${e2}:FILLED:2`]);
      expect(reconciles.items).toEqual(['LOGON']);
    },
    T,
  );
});

describe('heartbeat and dead connections', () => {
  it(
    'server pings keep a quiet connection alive past the client dead timeout and the broker pong timeout',
    async () => {
      // Times scaled so a loaded 2-core CI machine (child processes of other test files) cannot
      // miss a pong deadline by a busy event loop alone: the same claim, at 50/400/1000 ms.
      const b = await sim({ pingIntervalMs: 50, pongTimeoutMs: 400 });
      const { c, reconciles } = client(b, { deadAfterMs: 1_000 });
      await c.connect();
      const watcher = await raw(b); // sees the same pings; answers them
      await watcher.pings.atLeast(45); // ≥ 2 250 ms of silence but for pings: twice the dead timeout
      expect(reconciles.items).toEqual(['LOGON']);
      expect(b.connections).toBe(2);
      expect(
        await c.request('order.status', status('none')).catch((e: unknown) => (e as BrokerRequestError).brokerCode),
      ).toBe(-2013);
      expect(reconciles.items).toEqual(['LOGON']);
    },
    T,
  );

  it(
    'the broker drops a connection that does not pong within pongTimeoutMs, and keeps one that does',
    async () => {
      const b = await sim({ pingIntervalMs: 20, pongTimeoutMs: 100 });
      const mute = await raw(b, { autoPong: false });
      const ponging = await raw(b);
      await mute.closed;
      // Dropped for the missing pongs, not at the first ping: ≥ 100 ms of pings at 20 ms.
      expect(mute.pings.items.length).toBeGreaterThanOrEqual(4);
      expect((mute.pings.items.at(-1) as number) - (mute.pings.items[0] as number)).toBeGreaterThanOrEqual(60);
      await ponging.pings.atLeast(ponging.pings.items.length + 10); // another 200 ms: past a second timeout
      expect(ponging.ws.readyState).toBe(WebSocket.OPEN);
      expect(b.connections).toBe(1);
    },
    T,
  );

  it(
    'a stalled broker (half-open connection): the client dead timeout drops it, a request in flight rejects as lost, and the client reconnects',
    async () => {
      const b = await sim({ pingIntervalMs: 20 });
      const { c, reconciles } = client(b, { deadAfterMs: 200, requestTimeoutMs: 5_000 });
      await c.connect();
      b.feedPrice('AAA', 100);
      b.stall();
      const stalledAt = Date.now();
      const inFlight = c.request('order.place', market('a')).catch((e: unknown) => e);
      await reconciles.atLeast(2);
      expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(150); // the dead timeout (200 ms from the last ping), not the request timeout
      expect(reconciles.items).toEqual(['LOGON', 'LOGON']);
      const lost = await inFlight;
      expect(lost).toBeInstanceOf(Error);
      expect(String(lost)).toContain('connection lost');
      expect(b.executions).toEqual([]); // the stalled broker executed nothing
      expect(await c.request('order.place', market('a'))).toMatchObject({ clientOrderId: 'a', status: 'FILLED' });
      expect(b.executions).toHaveLength(1);
    },
    T,
  );

  it(
    'stallAfter(n): the next connection serves n order requests, then receives nothing more; the connection after it is served',
    async () => {
      const b = await sim({ pingIntervalMs: 20 });
      expect(() => b.stallAfter(-1)).toThrow(/non-negative integer/);
      b.stallAfter(2);
      const { c, reconciles } = client(b, { deadAfterMs: 200, requestTimeoutMs: 5_000 });
      await c.connect();
      b.feedPrice('AAA', 100);
      expect(await c.request('order.place', market('a'))).toMatchObject({ status: 'FILLED' });
      expect(await c.request('order.place', market('b'))).toMatchObject({ status: 'FILLED' });
      const lost = c.request('order.place', market('c')).catch((e: unknown) => e);
      await reconciles.atLeast(2); // the dead timeout dropped the silent connection, the client logged on again
      expect(String(await lost)).toContain('connection lost');
      expect(b.executions.map((e) => e.clientOrderId)).toEqual(['a', 'b']); // 'c' never received
      expect(await c.request('order.place', market('d'))).toMatchObject({ status: 'FILLED' });
      expect(b.executions.map((e) => e.clientOrderId)).toEqual(['a', 'b', 'd']);
    },
    T,
  );

  it(
    'close() clears every timer: heartbeat, pong check, held report',
    async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'] });
      const b = await startSimBroker({
        apiKey: KEY,
        apiSecret: SECRET,
        pingIntervalMs: 1_000,
        pongTimeoutMs: 3_000,
        faults: { outOfOrderReports: 1 },
      });
      let closed = false;
      try {
        const r = await raw(b, { autoPong: false });
        expect(await r.logon()).toMatchObject({ status: 200 });
        expect(await r.request('order.place', stop('s1'))).toMatchObject({ status: 200 });
        expect(vi.getTimerCount()).toBe(1); // the heartbeat
        await vi.advanceTimersByTimeAsync(1_000); // a ping: the pong check is armed
        b.feedPrice('AAA', 80); // the report is held
        expect(vi.getTimerCount()).toBe(3);
        await b.close();
        closed = true;
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        if (!closed) await b.close();
      }
    },
    T,
  );
});
