import { frameText } from '../../src/broker/frame-text.js';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSimBroker, type SimBroker, type SimBrokerOptions } from '../../src/testing/sim-broker.js';

const KEY = 'test-key';
const SECRET = 'test-secret';
let broker: SimBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** A bare protocol client: request/response by id, pushed events collected. */
async function connect(b: SimBroker) {
  const ws = new WebSocket(b.url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waiting = new Map<string, (m: Record<string, unknown>) => void>();
  const events: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => {
    const m = JSON.parse(frameText(data)) as Record<string, unknown>;
    if ('event' in m) events.push(m);
    else waiting.get(String(m['id']))?.(m);
  });
  let n = 0;
  const request = (method: string, params: Record<string, unknown> = {}, timeoutMs = 1_000) =>
    new Promise<Record<string, unknown> | 'NO_REPLY'>((resolve) => {
      const id = `r${++n}`;
      const timer = setTimeout(() => resolve('NO_REPLY'), timeoutMs);
      waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  const logon = () => {
    const timestamp = Date.now();
    const signature = createHmac('sha256', SECRET).update(`apiKey=${KEY}&timestamp=${timestamp}`).digest('hex');
    return request('session.logon', { apiKey: KEY, timestamp, signature });
  };
  return { ws, request, logon, events };
}

async function start(extra: Partial<SimBrokerOptions> = {}) {
  broker = await startSimBroker({ apiKey: KEY, apiSecret: SECRET, ...extra });
  return broker;
}

const place = (id: string, extra: Record<string, unknown> = {}) => ({
  symbol: 'AAA',
  side: 'SELL',
  type: 'STOP_MARKET',
  quantity: '2',
  stopPrice: '95',
  newClientOrderId: id,
  ...extra,
});

describe('simulated broker (the protocol, as a server)', () => {
  it('requires a signed logon first, and announces its rate limit', async () => {
    const b = await start({ ordersPerSecond: 7 });
    const c = await connect(b);
    expect(await c.request('order.place', place('x'))).toMatchObject({ status: 401, error: { code: -1002 } });
    expect(await c.request('session.logon', { apiKey: KEY, timestamp: Date.now(), signature: 'bad' })).toMatchObject({
      status: 401,
      error: { code: -1022 },
    });
    expect(await c.logon()).toMatchObject({ status: 200, result: { rateLimits: [{ limit: 7 }] } });
    c.ws.close();
  });

  it('rests a stop, fires it when a fed price reaches it, and pushes the report with seq', async () => {
    const b = await start();
    const c = await connect(b);
    await c.logon();
    expect(await c.request('order.place', place('s1'))).toMatchObject({
      status: 200,
      result: { status: 'NEW', clientOrderId: 's1' },
    });
    b.feedPrice('AAA', 96);
    expect(b.executions).toHaveLength(0);
    b.feedPrice('AAA', 94.5);
    expect(b.executions).toEqual([expect.objectContaining({ clientOrderId: 's1', quantity: 2, price: 94.5 })]);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.events).toEqual([
      expect.objectContaining({
        event: 'executionReport',
        data: expect.objectContaining({ clientOrderId: 's1', status: 'FILLED', seq: 1 }),
      }),
    ]);
    expect(await c.request('order.status', { symbol: 'AAA', origClientOrderId: 's1' })).toMatchObject({
      result: { status: 'FILLED' },
    });
    c.ws.close();
  });

  it('never accepts a client id twice (-2010), and answers status, amend, cancel and open orders', async () => {
    const b = await start();
    const c = await connect(b);
    await c.logon();
    await c.request('order.place', place('s1'));
    expect(await c.request('order.place', place('s1'))).toMatchObject({
      status: 400,
      error: { code: -2010, msg: 'Duplicate order sent.' },
    });
    expect(await c.request('order.amend', { symbol: 'AAA', origClientOrderId: 's1', stopPrice: '97' })).toMatchObject({
      result: { stopPrice: '97' },
    });
    expect(await c.request('openOrders.status')).toMatchObject({
      result: { orders: [expect.objectContaining({ clientOrderId: 's1' })] },
    });
    expect(await c.request('order.cancel', { symbol: 'AAA', origClientOrderId: 's1' })).toMatchObject({
      result: { status: 'CANCELED' },
    });
    expect(await c.request('order.cancel', { symbol: 'AAA', origClientOrderId: 's1' })).toMatchObject({
      error: { code: -2011 },
    });
    expect(await c.request('order.status', { symbol: 'AAA', origClientOrderId: 'nope' })).toMatchObject({
      error: { code: -2013 },
    });
    expect(await c.request('order.place', place('bad', { quantity: '-1' }))).toMatchObject({ error: { code: -1013 } });
    c.ws.close();
  });

  it('enforces the announced limit in any second (429 with retryAfter) and counts every order request', async () => {
    const b = await start({ ordersPerSecond: 5 });
    const c = await connect(b);
    await c.logon();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => c.request('order.place', place(`o${i}`))));
    expect(answers.filter((a) => a !== 'NO_REPLY' && a['status'] === 200)).toHaveLength(5);
    const limited = answers.filter((a) => a !== 'NO_REPLY' && a['status'] === 429);
    expect(limited).toHaveLength(3);
    expect((limited[0] as { error: { retryAfter: number } }).error.retryAfter).toBeGreaterThan(Date.now() - 1_000);
    expect([...b.requestsPerSecond.values()].reduce((x, y) => x + y, 0)).toBe(8);
    c.ws.close();
  });

  it('injects the same faults for the same seed', async () => {
    const outcomes = async () => {
      const b = await start({
        seed: 42,
        ordersPerSecond: 1_000,
        faults: { busy: 0.2, unknownExecuted: 0.1, unknownNotExecuted: 0.1, dropReply: 0.1 },
      });
      const c = await connect(b);
      await c.logon();
      const out: string[] = [];
      for (let i = 0; i < 40; i++) {
        const a = await c.request('order.place', place(`f${i}`), 200);
        out.push(a === 'NO_REPLY' ? 'lost' : String(a['status']) + (b.book.get(`f${i}`) !== undefined ? '+x' : ''));
      }
      c.ws.close();
      await b.close();
      broker = undefined;
      return out;
    };
    const first = await outcomes();
    expect(await outcomes()).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['200+x', '503', '503+x', 'lost']));
  });
});
