import { frameText } from '../../src/broker/frame-text.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { startSimBroker, type SimBroker, type SimBrokerOptions } from '../../src/testing/sim-broker.js';
import { WsBrokerClient } from '../../src/broker/ws-broker-client.js';
import { DeadLetterQueue } from '../../src/egress/dead-letter-queue.js';
import { OrderEgress } from '../../src/egress/order-egress.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../../src/egress/venue-guard.js';
import { isBulwarkError } from '../../src/index.js';

const KEY = 'k-123';
const SECRET = 's-456';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f(); // last opened, first closed
});

async function sim(extra: Partial<SimBrokerOptions> = {}): Promise<SimBroker> {
  const b = await startSimBroker({ apiKey: KEY, apiSecret: SECRET, ...extra });
  cleanup.push(() => b.close());
  return b;
}

function client(url: string, extra: Partial<ConstructorParameters<typeof WsBrokerClient>[0]> = {}) {
  const c = new WsBrokerClient({
    url,
    apiKey: KEY,
    apiSecret: SECRET,
    requestTimeoutMs: 300,
    reconnectDelayMs: 20,
    ...extra,
  });
  cleanup.push(() => c.close());
  return c;
}

const place = (id: string) => ({
  symbol: 'AAA',
  side: 'SELL',
  type: 'STOP_MARKET',
  quantity: '1',
  stopPrice: '90',
  newClientOrderId: id,
});

/** A broker played by a script: `answer(ws, connectionNumber, request)` for every request. */
async function scripted(answer: (ws: WebSocket, n: number, m: { id: string; method: string }) => void) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const connections: WebSocket[] = [];
  cleanup.push(() => {
    for (const ws of connections) ws.terminate();
    return new Promise((r) => server.close(r));
  });
  server.on('connection', (ws) => {
    connections.push(ws);
    const n = connections.length;
    ws.on('message', (data) => answer(ws, n, JSON.parse(frameText(data)) as { id: string; method: string }));
  });
  return { port: (server.address() as { port: number }).port, connections };
}

const report = (clientOrderId: string, seq: number) => ({
  symbol: 'AAA',
  orderId: seq,
  clientOrderId,
  side: 'SELL',
  status: 'FILLED',
  lastQty: '1',
  lastPrice: '90',
  cumQty: '1',
  eventTime: Date.now(),
  seq,
});

describe('WsBrokerClient against the simulated broker', () => {
  it('logs on with an HMAC signature, learns the rate limit, and round-trips requests', async () => {
    const b = await sim({ ordersPerSecond: 25 });
    let limit = 0;
    const reconciles: string[] = [];
    const c = client(b.url, { onRateLimit: (l) => (limit = l), onReconcile: (r) => reconciles.push(r) });
    await c.connect();
    expect(limit).toBe(25);
    expect(reconciles).toEqual(['LOGON']);
    expect(await c.request('order.place', place('a'))).toMatchObject({ clientOrderId: 'a', status: 'NEW' });
    expect(await c.request('order.status', { symbol: 'AAA', origClientOrderId: 'a' })).toMatchObject({ status: 'NEW' });
  });

  it('maps error answers to classified BrokerRequestErrors', async () => {
    const b = await sim();
    const c = client(b.url);
    await c.connect(); // a request is written only on a logged-on connection (else NOT_CONNECTED)
    await c.request('order.place', place('a'));
    const dup = await c.request('order.place', place('a')).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(BrokerRequestError);
    expect((dup as BrokerRequestError).action).toBe('DUPLICATE');
  });

  it('a lost answer rejects with REQUEST_TIMEOUT after the timeout (outcome unknown)', async () => {
    const b = await sim({ faults: { dropReply: 1 } });
    const c = client(b.url);
    await c.connect();
    const lost = await c.request('order.place', place('a')).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(Error);
    expect(lost).not.toBeInstanceOf(BrokerRequestError);
    expect(isBulwarkError(lost, 'REQUEST_TIMEOUT')).toBe(true);
    expect(b.book.get('a')).toBeDefined(); // the broker did execute it
  });

  it('pushes each execution report once, even when the broker repeats it', async () => {
    const b = await sim({ faults: { duplicateReports: 1 } });
    const reports: string[] = [];
    const c = client(b.url, { onReport: (r) => reports.push(`${r.clientOrderId}:${r.status}`) });
    await c.connect();
    await c.request('order.place', place('a'));
    b.feedPrice('AAA', 89);
    await c.request('order.status', { symbol: 'AAA', origClientOrderId: 'a' }); // answered after both copies were sent
    expect(reports).toEqual(['a:FILLED']);
  });

  it('reconnects after the connection drops, logs on again and asks for reconciliation', async () => {
    const b = await sim();
    const reconciles: string[] = [];
    const c = client(b.url, { onReconcile: (r) => reconciles.push(r) });
    await c.connect();
    await b.close(); // drops every connection; the port is gone for a moment
    const again = await startSimBroker({ apiKey: KEY, apiSecret: SECRET, port: Number(new URL(b.url).port) });
    cleanup.push(() => again.close());
    // Wait for the condition (the second logon), not for a fixed time.
    await vi.waitFor(() => expect(reconciles.filter((r) => r === 'LOGON').length).toBeGreaterThanOrEqual(2), {
      timeout: 10_000,
    });
    expect(await c.request('order.place', place('after'))).toMatchObject({ clientOrderId: 'after' });
  });

  it('bad credentials fail logon without retrying forever; missing ones are refused up front, unnamed', async () => {
    const b = await sim();
    const bad = new WsBrokerClient({ url: b.url, apiKey: KEY, apiSecret: 'wrong' });
    cleanup.push(() => bad.close());
    const e = await bad.connect().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BrokerRequestError);
    expect(e).toMatchObject({ code: 'BROKER_ERROR', brokerCode: -1022 });
    const saved = [process.env['BULWARK_API_KEY'], process.env['BULWARK_API_SECRET']];
    delete process.env['BULWARK_API_KEY'];
    delete process.env['BULWARK_API_SECRET'];
    try {
      new WsBrokerClient({ url: b.url });
      expect.unreachable();
    } catch (err) {
      expect(isBulwarkError(err, 'INVALID_OPTION')).toBe(true);
    } finally {
      if (saved[0] !== undefined) process.env['BULWARK_API_KEY'] = saved[0];
      if (saved[1] !== undefined) process.env['BULWARK_API_SECRET'] = saved[1];
    }
    expect(String(e)).not.toContain('wrong');
  });

  it('seq: a gap (the first report included) asks once, late and repeated reports are delivered once without asking, and seq restarts per connection', async () => {
    const { port, connections } = await scripted((ws, n, m) => {
      if (m.method === 'session.logon')
        return ws.send(
          JSON.stringify({ id: m.id, status: 200, result: { serverTime: Date.now(), rateLimits: [{ limit: 9 }] } }),
        );
      // The reports go out just before the answer: once it is in, all of them were handled.
      const seqs = n === 1 ? [3, 1, 2, 3, 5, 4, 6] : [1, 2];
      for (const seq of seqs) ws.send(JSON.stringify({ event: 'executionReport', data: report(`c${n}-${seq}`, seq) }));
      ws.send(JSON.stringify({ id: m.id, status: 200, result: { orders: [] } }));
    });
    const reconciles: string[] = [];
    const reports: string[] = [];
    let relogged = () => {};
    const relogon = new Promise<void>((resolve) => (relogged = resolve));
    const c = client(`ws://127.0.0.1:${port}`, {
      onReport: (r) => reports.push(r.clientOrderId),
      onReconcile: (r) => {
        reconciles.push(r);
        if (reconciles.filter((x) => x === 'LOGON').length === 2) relogged();
      },
    });
    await c.connect();
    await c.request('openOrders.status', {});
    expect(reconciles).toEqual(['LOGON', 'SEQ_GAP', 'SEQ_GAP']); // at 3 (1-2 missing) and at 5; not at the late 1, 2, 4 nor the repeated 3
    expect(reports).toEqual(['c1-3', 'c1-1', 'c1-2', 'c1-5', 'c1-4', 'c1-6']);
    for (const ws of connections) ws.terminate();
    await relogon;
    await c.request('openOrders.status', {});
    expect(reconciles).toEqual(['LOGON', 'SEQ_GAP', 'SEQ_GAP', 'LOGON']); // seq 1 on a new connection is no gap
    expect(reports.slice(6)).toEqual(['c2-1', 'c2-2']);
  });

  it('a logon that gets no answer is retried by one loop: one connection, one LOGON', async () => {
    const { port, connections } = await scripted((ws, n, m) => {
      if (n === 1) return; // the first connection swallows everything
      ws.send(
        JSON.stringify({
          id: m.id,
          status: 200,
          result: m.method === 'session.logon' ? { serverTime: Date.now(), rateLimits: [{ limit: 9 }] } : {},
        }),
      );
    });
    const reconciles: string[] = [];
    const c = client(`ws://127.0.0.1:${port}`, { requestTimeoutMs: 100, onReconcile: (r) => reconciles.push(r) });
    await c.connect();
    await c.request('order.status', { symbol: 'AAA', origClientOrderId: 'x' });
    expect(reconciles).toEqual(['LOGON']);
    expect(connections.filter((ws) => ws.readyState === ws.OPEN)).toHaveLength(1);
  });

  it('counts and drops malformed inbound frames from a broker that misbehaves', async () => {
    const rogue = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => rogue.once('listening', () => r()));
    cleanup.push(() => new Promise((r) => rogue.close(r)));
    rogue.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = JSON.parse(frameText(data)) as { id: string };
        ws.send('not json');
        ws.send('{"event":"executionReport","data":{"seq":-1}}');
        ws.send('{"id":"zzz","status":200,"result":{}}');
        ws.send(
          JSON.stringify({ id: m.id, status: 200, result: { serverTime: Date.now(), rateLimits: [{ limit: 9 }] } }),
        );
      });
    });
    const port = (rogue.address() as { port: number }).port;
    const c = client(`ws://127.0.0.1:${port}`);
    await c.connect();
    expect(c.dropped).toEqual({ MALFORMED_FRAME: 1, INVALID_MESSAGE: 1, UNMATCHED_RESPONSE: 1 });
  });
});

describe('egress end to end over the wire, with faults', () => {
  it('every protective order executes at most once at the broker, each ends sent (retries and in-doubt resolution; a stop placement is never dead-lettered), and the broker never sees more than its limit in any sliding second', async () => {
    const b = await sim({
      ordersPerSecond: 40,
      seed: 9,
      faults: { busy: 0.1, unknownExecuted: 0.05, unknownNotExecuted: 0.05, dropReply: 0.05, latencyMs: [0, 20] },
    });
    let limit = 0;
    const c = client(b.url, { onRateLimit: (l) => (limit = l), requestTimeoutMs: 250 });
    await c.connect();
    const deadLetters = await DeadLetterQueue.open(join(await mkdtemp(join(tmpdir(), 'bulwark-e2e-')), 'dlq.jsonl'));
    const egress = new OrderEgress({
      client: c,
      limiter: new SlidingWindowRateLimiter({ limit, safety: 0.9 }),
      venue: new VenueGuard({ initialDelayMs: 20, maxDelayMs: 200, breakAfter: 50 }),
      deadLetters,
      maxInFlight: 4,
    });
    const ids = Array.from({ length: 120 }, (_, i) => `p${i}`);
    const results = await Promise.all(
      ids.map((id) =>
        egress.send({ kind: 'PLACE_STOP', clientOrderId: id, symbol: 'AAA', side: 'SELL', quantity: 1, stopPrice: 90 }),
      ),
    );
    const dead = new Set(deadLetters.list().map((d) => d.command.clientOrderId));
    expect(dead.size).toBe(0);
    for (const r of results) expect(r.ok).toBe(true);
    for (const id of ids) expect(b.book.get(id) === undefined || b.book.get(id)?.clientOrderId === id).toBe(true);
    b.feedPrice('AAA', 80); // every accepted stop fires once
    const fills = new Map<string, number>();
    for (const e of b.executions) fills.set(e.clientOrderId, (fills.get(e.clientOrderId) ?? 0) + 1);
    expect([...fills.values()].every((n) => n === 1)).toBe(true);
    expect(b.maxInAnyWindow(1_000)).toBeLessThanOrEqual(limit); // sliding, on receipt: as the broker counts
    expect(results.filter((r) => r.ok).length).toBeGreaterThan(100);
    await deadLetters.close();
  }, 60_000);
});
