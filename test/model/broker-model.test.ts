/**
 * Self-test of the broker model against shared/docs/broker-protocol.md: each expectation
 * below is read off the document (or off a choice documented in broker-model.ts).
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BrokerModel,
  type BrokerModelOptions,
  type ExecutionReport,
  type Fault,
  type ModelConnection,
  type OrderObject,
  type ReportData,
  type ResponseFrame,
  type ServerFrame,
  type Side,
} from './broker-model.js';

type Params = Record<string, unknown>;
const T0 = 1_700_000_000_000;
const SYM = 'BTCUSDT';

/** A scripted client: sends requests, keeps every frame it is delivered. */
class Client {
  readonly frames: ServerFrame[] = [];
  readonly closeCodes: number[] = [];
  readonly conn: ModelConnection;
  #n = 0;

  constructor(
    model: BrokerModel,
    readonly name = 'c',
  ) {
    this.conn = model.connect(
      (f) => this.frames.push(f),
      (code) => this.closeCodes.push(code),
    );
  }
  send(method: string, params?: Params): string {
    const id = `${this.name}-${++this.#n}`;
    this.conn.receive(params === undefined ? { id, method } : { id, method, params });
    return id;
  }
  reply(id: string): ResponseFrame | undefined {
    return this.frames.find((f): f is ResponseFrame => 'id' in f && f.id === id);
  }
  call(method: string, params?: Params): ResponseFrame {
    const r = this.reply(this.send(method, params));
    if (!r) throw new Error(`no reply to ${method}`);
    return r;
  }
  ok(method: string, params?: Params): Record<string, unknown> {
    const r = this.call(method, params);
    if (!('result' in r)) throw new Error(`${method} failed: ${JSON.stringify(r)}`);
    return r.result;
  }
  order(method: string, params: Params): OrderObject {
    return this.ok(method, params) as OrderObject;
  }
  /** status and code of the reply; fails if it succeeded. */
  err(method: string, params?: Params): [number, number] {
    const r = this.call(method, params);
    if (!('error' in r)) throw new Error(`${method} succeeded: ${JSON.stringify(r)}`);
    return [r.status, r.error.code];
  }
  logon(): this {
    this.ok('session.logon', { apiKey: 'k', timestamp: T0, signature: 'x' });
    return this;
  }
  reports(): ReportData[] {
    return this.frames.filter((f): f is ExecutionReport => 'event' in f).map((f) => f.data);
  }
}

function world(options: Partial<BrokerModelOptions> = {}) {
  const clock = { t: T0 };
  const model = new BrokerModel({ now: () => clock.t, limit: 100, ...options });
  return { clock, model, client: (name?: string) => new Client(model, name).logon() };
}

const stop = (cid: string, side: Side, stopPrice: string, quantity = '1'): Params => ({
  symbol: SYM,
  side,
  type: 'STOP_MARKET',
  quantity,
  stopPrice,
  newClientOrderId: cid,
});
const limit = (cid: string, side: Side, price: string, quantity = '1'): Params => ({
  symbol: SYM,
  side,
  type: 'LIMIT',
  quantity,
  price,
  newClientOrderId: cid,
});
const market = (cid: string, side: Side, quantity = '1'): Params => ({
  symbol: SYM,
  side,
  type: 'MARKET',
  quantity,
  newClientOrderId: cid,
});
const ref = (cid: string, symbol = SYM): Params => ({ symbol, origClientOrderId: cid });

describe('session', () => {
  it('answers every method before logon with 401 -1002, uncounted', () => {
    const { model } = world();
    const c = new Client(model);
    for (const m of ['order.place', 'order.amend', 'order.cancel', 'order.status', 'openOrders.status', 'ping']) {
      expect(c.err(m, stop('a', 'SELL', '95')), m).toEqual([401, -1002]);
    }
    expect(model.receiveTimes).toEqual([]);
  });

  it('announces the ORDERS limit at logon', () => {
    const { model } = world({ limit: 7 });
    expect(new Client(model).ok('session.logon', {})).toEqual({
      serverTime: T0,
      rateLimits: [{ rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 1, limit: 7 }],
    });
  });

  it('with a secret, checks key, timestamp (5000 ms) and the HMAC-SHA256 of "apiKey=..&timestamp=.."', () => {
    const { model } = world({ apiKey: 'key1', apiSecret: 's3cret' });
    const sign = (apiKey: string, timestamp: number, secret = 's3cret') => ({
      apiKey,
      timestamp,
      signature: createHmac('sha256', secret).update(`apiKey=${apiKey}&timestamp=${timestamp}`).digest('hex'),
    });
    const c = new Client(model);
    expect(c.err('session.logon', sign('key1', T0, 'wrong'))).toEqual([401, -1022]);
    expect(c.err('ping')).toEqual([401, -1002]); // still not logged on
    expect(c.err('session.logon', sign('key2', T0))).toEqual([401, -1022]);
    expect(c.err('session.logon', sign('key1', T0 - 5001))).toEqual([400, -1021]);
    expect(c.err('session.logon', { apiKey: 'key1', signature: 'ab' })).toEqual([400, -1100]);
    expect(c.ok('session.logon', sign('key1', T0 + 5000))).toMatchObject({ serverTime: T0 });
    expect(c.ok('ping')).toEqual({});
  });

  it('drops a connection on a frame over 64 KiB (1009) or one that is not a request (1002)', () => {
    const { client } = world();
    const big = client();
    big.send('ping', { pad: 'x'.repeat(64 * 1024) });
    expect([big.conn.open, big.closeCodes]).toEqual([false, [1009]]);
    const bad = client();
    bad.conn.receive({ method: 'ping' });
    expect([bad.conn.open, bad.closeCodes, bad.frames.length]).toEqual([false, [1002], 1]); // 1 = logon reply
    const c = client();
    expect(c.err('nope')).toEqual([400, -1100]);
    expect(c.err('order.status', ['a'] as unknown as Params)).toEqual([400, -1100]);
  });
});

describe('rate limit', () => {
  /** limit 3: A at +0, B at +100, C at +200 then C closes; A sends at +500 and at `last`. */
  function acrossConnections(last: number) {
    const { clock, model, client } = world({ limit: 3 });
    const [a, b, c] = [client('a'), client('b'), client('c')];
    a.ok('order.place', stop('s1', 'SELL', '95'));
    clock.t = T0 + 100;
    b.ok('order.place', stop('s2', 'SELL', '95'));
    clock.t = T0 + 200;
    expect(c.err('order.cancel', ref('nope'))).toEqual([400, -2011]); // refused, but counted
    c.conn.close();
    clock.t = T0 + 500;
    const over = a.call('order.amend', { ...ref('s1'), stopPrice: '94' });
    clock.t = T0 + last;
    return { model, over, next: a.call('order.place', stop('s3', 'SELL', '95')) };
  }

  it('counts place+amend+cancel across connections, a closed one included; 429 -1015 with an exact retryAfter', () => {
    const early = acrossConnections(1099);
    expect(early.over).toEqual({
      id: 'a-3',
      status: 429,
      error: { code: -1015, msg: expect.any(String) as string, retryAfter: T0 + 1100 },
    });
    expect(early.next).toMatchObject({ status: 429 });
    const onTime = acrossConnections(1100);
    expect(onTime.next).toMatchObject({ status: 200 });
    expect(onTime.model.receiveTimes.map((t) => t - T0)).toEqual([0, 100, 200, 500, 1100]);
    expect(onTime.model.maxInAnyWindow()).toBe(4);
    expect(onTime.model.violations(3)).toEqual([
      { from: T0, to: T0 + 1000, count: 4, times: [0, 100, 200, 500].map((t) => T0 + t) },
    ]);
  });

  it('slides: no reset at whole seconds, and refused requests count', () => {
    const { clock, model, client } = world({ limit: 2 });
    const c = client();
    const at = (ms: number) => {
      clock.t = T0 + ms;
      return c.call('order.cancel', ref('x')).status;
    };
    expect([at(900), at(950), at(1000)]).toEqual([400, 400, 429]); // -2011s are counted too
    expect([at(1949), at(2949)]).toEqual([429, 400]); // 1949: 950, 1000 (refused) and itself
    expect(model.receiveTimes.length).toBe(5);
  });

  it('418 -1003 for continuing to send while limited for 2 s; the ban refuses everything until retryAfter', () => {
    const { clock, model, client } = world({ limit: 1, banMs: 10_000 });
    const c = client();
    const at = (ms: number, method = 'order.cancel') => {
      clock.t = T0 + ms;
      const r = c.call(method, ref('x'));
      return 'error' in r ? [r.status, r.error.code, (r.error.retryAfter ?? T0) - T0] : [r.status];
    };
    expect(at(0)).toEqual([400, -2011, 0]);
    expect(at(10)).toEqual([429, -1015, 1010]); // first 429 of the run
    for (const ms of [500, 1000, 1500, 2000, 2009]) expect(at(ms)[0], `t=${ms}`).toBe(429);
    expect(at(2010)).toEqual([418, -1003, 12_010]);
    expect(at(2500, 'order.status')).toEqual([418, -1003, 12_010]);
    expect(at(12_009, 'ping')).toEqual([418, -1003, 12_010]);
    expect(new Client(model).err('session.logon', {})).toEqual([418, -1003]);
    expect(at(12_010)).toEqual([400, -2011, 0]);
  });

  it('never bans a client that waits for retryAfter after each 429, and retryAfter is never early', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 1, max: 8 })), { maxLength: 30 }),
        (lim, bursts) => {
          const { clock, client } = world({ limit: lim });
          const c = client();
          let retryAfter = -Infinity;
          let afterWait = false;
          for (const [gap, size] of bursts) {
            clock.t += gap;
            if (clock.t < retryAfter) [clock.t, afterWait] = [retryAfter, true];
            for (let i = 0; i < size; i++) {
              const r = c.call('order.cancel', ref('x'));
              expect(r.status).not.toBe(418);
              if (afterWait) expect(r.status, 'a request at retryAfter fits').toBe(400);
              afterWait = false;
              if ('error' in r && r.status === 429) {
                retryAfter = r.error.retryAfter ?? Infinity;
                expect(retryAfter).toBeGreaterThan(clock.t);
                break;
              }
            }
          }
        },
      ),
    );
  });

  it('refuses exactly from the first request that makes a 1 s window hold more than the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 30 }),
        (lim, raw) => {
          const times = [...raw].sort((x, y) => x - y);
          const { clock, model, client } = world({ limit: lim });
          const c = client();
          const statuses = times.map((t) => {
            clock.t = T0 + t;
            return c.call('order.cancel', ref('x')).status;
          });
          const firstOver = times.findIndex((t, i) => times.slice(0, i + 1).filter((u) => u > t - 1000).length > lim);
          const firstRefused = statuses.findIndex((s) => s === 429 || s === 418);
          expect(firstRefused).toBe(firstOver);
          if (firstRefused >= 0) expect(statuses[firstRefused]).toBe(429);
          expect(model.violations(lim).length > 0).toBe(firstOver >= 0);
        },
      ),
    );
  });

  it('maxInAnyWindow and violations agree with a naive count of every half-open window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.integer({ min: 0, max: 6 }),
        (raw, windowMs, lim) => {
          const times = [...raw].sort((x, y) => x - y);
          const { clock, model, client } = world({ limit: 1000 });
          const c = client();
          for (const t of times) {
            clock.t = T0 + t;
            c.send('order.cancel', ref('x'));
          }
          const count = (s: number) => times.filter((t) => s <= t && t < s + windowMs).length;
          let naive = 0;
          for (let s = -windowMs; s <= 4000; s++) naive = Math.max(naive, count(s));
          expect(model.maxInAnyWindow(windowMs)).toBe(naive);
          const v = model.violations(lim, windowMs);
          expect(v.length > 0).toBe(naive > lim);
          for (const w of v) expect(w.count).toBe(count(w.from - T0));
        },
      ),
    );
  });

  it('records counted requests only: not queries, not before logon, not lost ones', () => {
    const { model, client } = world({
      faultFor: (_m, p) => (p['newClientOrderId'] === 'lost' ? 'LOSE_REQUEST' : 'NONE'),
    });
    new Client(model).send('order.place', stop('early', 'SELL', '95'));
    const c = client();
    c.send('order.place', stop('lost', 'SELL', '95'));
    c.send('order.status', ref('x'));
    c.send('openOrders.status');
    c.send('ping');
    expect(model.receiveTimes).toEqual([]);
    c.send('order.place', stop('kept', 'SELL', '95'));
    expect(model.receiveTimes).toEqual([T0]);
    expect(model.requests.map((r) => [r.n, r.connection, r.method, r.fault])).toEqual([
      [0, 0, 'order.place', 'NONE'],
      [1, 1, 'session.logon', 'NONE'],
      [2, 1, 'order.place', 'LOSE_REQUEST'],
      [3, 1, 'order.status', 'NONE'],
      [4, 1, 'openOrders.status', 'NONE'],
      [5, 1, 'ping', 'NONE'],
      [6, 1, 'order.place', 'NONE'],
    ]);
  });
});

describe('orders', () => {
  it('never accepts a client id twice: -2010 "Duplicate order sent.", also after cancel', () => {
    const { model, client } = world();
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', stop('a', 'SELL', '95'));
    expect(c.call('order.place', stop('a', 'SELL', '95'))).toMatchObject({
      status: 400,
      error: { code: -2010, msg: 'Duplicate order sent.' },
    });
    expect(c.err('order.place', market('a', 'BUY'))).toEqual([400, -2010]);
    c.ok('order.cancel', ref('a'));
    expect(c.err('order.place', stop('a', 'SELL', '95'))).toEqual([400, -2010]);
    model.foreignExecution(SYM, 'BUY', '1', '100', 'hand-1');
    expect(c.err('order.place', stop('hand-1', 'SELL', '95'))).toEqual([400, -2010]);
  });

  it('does not use up a client id on a refused placement', () => {
    const { model, client } = world({ faultFor: (_m, _p, n) => (n === 2 ? 'BUSY' : 'NONE') });
    const c = client();
    expect(c.err('order.place', stop('a', 'SELL', '95', '0'))).toEqual([400, -1013]); // n = 1
    expect(c.err('order.place', stop('a', 'SELL', '95'))).toEqual([503, -1008]); // n = 2
    expect(c.err('order.status', ref('a'))).toEqual([400, -2013]);
    expect(c.order('order.place', stop('a', 'SELL', '95')).status).toBe('NEW');
    expect(model.liveOrders().map((o) => o.clientOrderId)).toEqual(['a']);
  });

  it('checks the client id rule (1..36 of [A-Za-z0-9._:-]) and decimal strings (-1100 malformed, -1013 invalid)', () => {
    const { client } = world();
    const c = client();
    for (const cid of ['', 'x'.repeat(37), 'a b', 'é', 'a/b', 7]) {
      expect(c.err('order.place', { ...stop('z', 'SELL', '95'), newClientOrderId: cid }), String(cid)).toEqual([
        400, -1100,
      ]);
    }
    expect(c.ok('order.place', stop('Az09._:-'.repeat(4) + 'abcd', 'SELL', '95'))).toMatchObject({ status: 'NEW' });
    for (const q of [1, '1e3', '-1', '.5', '1.', ' 1', '', null, '1,5']) {
      expect(c.err('order.place', stop('q', 'SELL', '95', q as string)), String(q)).toEqual([400, -1100]);
    }
    for (const q of ['0', '0.000']) expect(c.err('order.place', stop('q', 'SELL', '95', q))).toEqual([400, -1013]);
    expect(c.err('order.place', stop('q', 'SELL', '0'))).toEqual([400, -1013]);
    expect(c.err('order.place', limit('q', 'BUY', '0.0'))).toEqual([400, -1013]);
    expect(c.order('order.place', stop('q', 'SELL', '95.50', '007.10'))).toMatchObject({
      quantity: '007.10',
      stopPrice: '95.50',
    });
  });

  it('requires price for LIMIT and stopPrice for STOP_MARKET only, and a last price for MARKET', () => {
    const { model, client } = world();
    const c = client();
    const { price: _p, ...limitNoPrice } = limit('x', 'BUY', '99');
    const { stopPrice: _s, ...stopNoStop } = stop('x', 'SELL', '95');
    expect(c.err('order.place', limitNoPrice)).toEqual([400, -1100]);
    expect(c.err('order.place', stopNoStop)).toEqual([400, -1100]);
    expect(c.err('order.place', { ...market('x', 'BUY'), price: '100' })).toEqual([400, -1100]);
    expect(c.err('order.place', { ...limit('x', 'BUY', '99'), stopPrice: '98' })).toEqual([400, -1100]);
    expect(c.err('order.place', { ...market('x', 'BUY'), side: 'buy' })).toEqual([400, -1100]);
    expect(c.err('order.place', { ...market('x', 'BUY'), type: 'STOP' })).toEqual([400, -1100]);
    expect(c.err('order.place', { ...stop('x', 'SELL', '95'), reduceOnly: 'true' })).toEqual([400, -1100]);
    expect(c.err('order.place', { ...limit('x', 'BUY', '99'), timeInForce: 'FOK' })).toEqual([400, -1100]);
    expect(c.err('order.place', { ...market('x', 'BUY'), symbol: '' })).toEqual([400, -1100]);
    expect(c.err('order.place', market('x', 'BUY'))).toEqual([400, -1013]); // no price yet
    model.setPrice(SYM, '100');
    expect(c.order('order.place', market('x', 'BUY')).status).toBe('FILLED');
  });

  it('returns order objects exactly as the doc lists them', () => {
    const { clock, client } = world();
    const c = client();
    clock.t = T0 + 5;
    expect(c.order('order.place', { ...stop('s', 'SELL', '95', '1.50'), reduceOnly: true })).toEqual({
      symbol: SYM,
      orderId: 1,
      clientOrderId: 's',
      side: 'SELL',
      type: 'STOP_MARKET',
      status: 'NEW',
      quantity: '1.50',
      executedQty: '0',
      stopPrice: '95',
      reduceOnly: true,
      updateTime: T0 + 5,
    });
    expect(c.order('order.place', limit('l', 'BUY', '90'))).toEqual({
      symbol: SYM,
      orderId: 2,
      clientOrderId: 'l',
      side: 'BUY',
      type: 'LIMIT',
      status: 'NEW',
      quantity: '1',
      executedQty: '0',
      price: '90',
      reduceOnly: false,
      updateTime: T0 + 5,
    });
    expect(c.ok('openOrders.status', { symbol: SYM })).toEqual({
      orders: [c.order('order.status', ref('s')), c.order('order.status', ref('l'))],
    });
    expect(c.ok('openOrders.status', { symbol: 'ETHUSDT' })).toEqual({ orders: [] });
    expect(c.ok('openOrders.status')).toMatchObject({ orders: [{ clientOrderId: 's' }, { clientOrderId: 'l' }] });
  });

  it('rejects cancel and amend of unknown or final orders with -2011', () => {
    const { model, client } = world();
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', stop('s', 'SELL', '95'));
    expect(c.order('order.cancel', ref('s'))).toMatchObject({ status: 'CANCELED', executedQty: '0' });
    c.ok('order.place', market('m', 'BUY'));
    model.foreignExecution(SYM, 'SELL', '1', '100', 'hand');
    c.ok('order.place', { ...limit('ioc', 'BUY', '90'), timeInForce: 'IOC' });
    expect(model.order('ioc')?.status).toBe('EXPIRED');
    for (const cid of ['s', 'm', 'hand', 'ioc', 'never']) {
      expect(c.err('order.cancel', ref(cid)), cid).toEqual([400, -2011]);
      expect(c.err('order.amend', { ...ref(cid), quantity: '2' }), cid).toEqual([400, -2011]);
    }
    c.ok('order.place', stop('live', 'SELL', '95'));
    expect(c.err('order.cancel', ref('live', 'ETHUSDT'))).toEqual([400, -2011]);
  });

  it('amends quantity, price and stopPrice; never below the executed quantity (-1013)', () => {
    const { clock, model, client } = world();
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', stop('s', 'SELL', '95', '2'));
    clock.t = T0 + 1;
    expect(c.order('order.amend', { ...ref('s'), stopPrice: '97', quantity: '3' })).toMatchObject({
      stopPrice: '97',
      quantity: '3',
      status: 'NEW',
      updateTime: T0 + 1,
    });
    expect(c.err('order.amend', ref('s'))).toEqual([400, -1100]);
    expect(c.err('order.amend', { ...ref('s'), price: '96' })).toEqual([400, -1100]);
    expect(c.err('order.amend', { ...ref('s'), quantity: '0' })).toEqual([400, -1013]);
    model.partialFill('s', '1.5', '98');
    expect(c.err('order.amend', { ...ref('s'), quantity: '1.49' })).toEqual([400, -1013]);
    expect(c.order('order.amend', { ...ref('s'), quantity: '1.5' })).toMatchObject({
      status: 'FILLED',
      executedQty: '1.5',
    });
    c.ok('order.place', limit('l', 'BUY', '90'));
    expect(c.order('order.amend', { ...ref('l'), price: '101' })).toMatchObject({ price: '101', status: 'FILLED' });
    expect(model.executions.at(-1)).toMatchObject({ clientOrderId: 'l', price: '100' }); // marketable: last price
  });

  it('answers order.status with -2013 for an order the broker never accepted', () => {
    const { model, client } = world({
      faultFor: (m, p) => (m === 'order.place' && p['newClientOrderId'] !== 'a' ? 'LOSE_REQUEST' : 'NONE'),
    });
    const c = client();
    c.send('order.place', stop('lost', 'SELL', '95'));
    c.ok('order.place', stop('a', 'SELL', '95'));
    expect(c.err('order.status', ref('lost'))).toEqual([400, -2013]);
    expect(c.err('order.status', ref('never'))).toEqual([400, -2013]);
    expect(c.err('order.status', ref('a', 'ETHUSDT'))).toEqual([400, -2013]);
    expect(c.err('order.status', { symbol: SYM })).toEqual([400, -1100]);
    c.ok('order.cancel', ref('a'));
    expect(c.order('order.status', ref('a'))).toEqual(model.order('a'));
    expect(model.order('a')?.status).toBe('CANCELED');
  });
});

describe('matching', () => {
  it('triggers a SELL stop at price <= stopPrice and fills the rest at that price', () => {
    const { clock, model, client } = world();
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', stop('s', 'SELL', '95', '2'));
    model.setPrice(SYM, '95.01');
    expect(model.order('s')?.status).toBe('NEW');
    clock.t = T0 + 9;
    model.setPrice(SYM, '95');
    expect(model.order('s')).toMatchObject({ status: 'FILLED', executedQty: '2', updateTime: T0 + 9 });
    expect(model.executions).toEqual([
      {
        clientOrderId: 's',
        orderId: 1,
        symbol: SYM,
        side: 'SELL',
        quantity: '2',
        price: '95',
        time: T0 + 9,
        foreign: false,
      },
    ]);
    c.ok('order.place', stop('gap', 'SELL', '94'));
    model.setPrice(SYM, '90');
    expect(model.executions.at(-1)).toMatchObject({ clientOrderId: 'gap', price: '90' });
  });

  it('triggers a BUY stop at price >= stopPrice, and at once when placed beyond the last price', () => {
    const { model, client } = world();
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', stop('b', 'BUY', '105'));
    model.setPrice(SYM, '104.99');
    expect(model.liveOrders(SYM).length).toBe(1);
    model.setPrice(SYM, '106');
    expect(model.order('b')).toMatchObject({ status: 'FILLED', executedQty: '1' });
    expect(model.executions.at(-1)).toMatchObject({ side: 'BUY', price: '106' });
    expect(c.order('order.place', stop('late', 'SELL', '107'))).toMatchObject({ status: 'FILLED' });
    expect(model.executions.at(-1)).toMatchObject({ clientOrderId: 'late', price: '106' });
    expect(model.liveOrders()).toEqual([]);
  });

  it('fills a resting LIMIT at its price when crossed, a MARKET at the last price', () => {
    const { model, client } = world();
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', limit('l', 'BUY', '99'));
    model.setPrice(SYM, '99.5');
    expect(model.order('l')?.status).toBe('NEW');
    model.setPrice(SYM, '98.5');
    expect(model.executions.at(-1)).toMatchObject({ clientOrderId: 'l', price: '99' });
    expect(c.order('order.place', market('m', 'SELL', '0.3'))).toMatchObject({ status: 'FILLED', executedQty: '0.3' });
    expect(model.executions.at(-1)).toMatchObject({ clientOrderId: 'm', price: '98.5', quantity: '0.3' });
  });

  it('executes partial fills exactly (decimal strings, no float drift)', () => {
    const { model, client } = world();
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', stop('s', 'SELL', '95', '1'));
    model.partialFill('s', '0.1', '97');
    model.partialFill('s', 0.2, 96.5);
    expect(model.order('s')).toMatchObject({ status: 'PARTIALLY_FILLED', executedQty: '0.3' });
    expect(model.liveOrders().map((o) => o.clientOrderId)).toEqual(['s']);
    expect(() => model.partialFill('s', '0.71', '96')).toThrow(/remaining/);
    model.setPrice(SYM, '94');
    expect(model.order('s')).toMatchObject({ status: 'FILLED', executedQty: '1' });
    expect(model.executions.map((e) => [e.quantity, e.price])).toEqual([
      ['0.1', '97'],
      ['0.2', '96.5'],
      ['0.7', '94'],
    ]);
    expect(() => model.partialFill('s', '0.1', '94')).toThrow(/not a working order/);
    c.ok('order.place', stop('p', 'SELL', '90', '2'));
    model.partialFill('p', '0.5', '93');
    expect(c.order('order.cancel', ref('p'))).toMatchObject({ status: 'CANCELED', executedQty: '0.5' });
  });
});

describe('execution reports', () => {
  it('go to every logged-on open connection with its own seq rising by one', () => {
    const { clock, model, client } = world();
    const [a, b] = [client('a'), client('b')];
    const anon = new Client(model, 'anon');
    model.setPrice(SYM, '100');
    clock.t = T0 + 3;
    a.ok('order.place', stop('s', 'SELL', '95', '2'));
    const late = client('late');
    model.partialFill('s', '0.5', '97');
    b.conn.close();
    model.setPrice(SYM, '94');
    const base = { symbol: SYM, orderId: 1, clientOrderId: 's', side: 'SELL', eventTime: T0 + 3 };
    expect(a.reports()).toEqual([
      { ...base, status: 'NEW', lastQty: '0', lastPrice: '0', cumQty: '0', seq: 1 },
      { ...base, status: 'PARTIALLY_FILLED', lastQty: '0.5', lastPrice: '97', cumQty: '0.5', seq: 2 },
      { ...base, status: 'FILLED', lastQty: '1.5', lastPrice: '94', cumQty: '2', seq: 3 },
    ]);
    expect(b.reports().map((r) => r.seq)).toEqual([1, 2]);
    expect(late.reports().map((r) => [r.seq, r.status])).toEqual([
      [1, 'PARTIALLY_FILLED'],
      [2, 'FILLED'],
    ]);
    expect(anon.frames).toEqual([]);
  });

  it('report faults: LOSE leaves a seq gap, DUPLICATE repeats, HOLD arrives after the next report', () => {
    const faults: Record<number, 'LOSE' | 'DUPLICATE' | 'HOLD'> = { 1: 'LOSE', 3: 'DUPLICATE', 5: 'HOLD', 7: 'HOLD' };
    const seen: [number, number, number][] = [];
    const { model, client } = world({
      reportFaultFor: (r, n, conn) => {
        seen.push([r.data.seq, n, conn]);
        return conn === 0 ? (faults[r.data.seq] ?? 'NONE') : 'NONE';
      },
    });
    const [a, b] = [client('a'), client('b')];
    model.setPrice(SYM, '100');
    for (const cid of ['x', 'y', 'z', 'w']) a.ok('order.place', stop(cid, 'SELL', '95')); // seq 1..4
    for (const cid of ['x', 'y', 'z']) a.ok('order.cancel', ref(cid)); // seq 5..7
    expect(a.reports().map((r) => r.seq)).toEqual([2, 3, 3, 4, 6, 5]);
    expect(b.reports().map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen.slice(0, 4)).toEqual([
      [1, 0, 0],
      [1, 1, 1],
      [2, 2, 0],
      [2, 3, 1],
    ]);
    model.flushDelayed(); // releases a report still held (no report came after it)
    expect(a.reports().map((r) => r.seq)).toEqual([2, 3, 3, 4, 6, 5, 7]);
  });

  it('reports a foreign execution under a client id the program never sent, and records it as foreign', () => {
    const { clock, model, client } = world({
      faultFor: (_m, p) => (p['newClientOrderId'] === 'manual-2' ? 'LOSE_REQUEST' : 'NONE'),
    });
    const c = client();
    model.setPrice(SYM, '100');
    c.ok('order.place', market('manual-1', 'BUY'));
    c.send('order.place', market('manual-2', 'BUY'));
    clock.t = T0 + 7;
    const o = model.foreignExecution(SYM, 'SELL', '0.25', '101');
    expect(o).toMatchObject({ clientOrderId: 'manual-3', status: 'FILLED', executedQty: '0.25', type: 'MARKET' });
    expect(model.executions.at(-1)).toEqual({
      clientOrderId: 'manual-3',
      orderId: o.orderId,
      symbol: SYM,
      side: 'SELL',
      quantity: '0.25',
      price: '101',
      time: T0 + 7,
      foreign: true,
    });
    expect(c.reports().at(-1)).toMatchObject({
      clientOrderId: 'manual-3',
      status: 'FILLED',
      lastQty: '0.25',
      lastPrice: '101',
      cumQty: '0.25',
    });
    expect(c.order('order.status', ref('manual-3')).status).toBe('FILLED');
    expect(() => model.foreignExecution(SYM, 'SELL', '1', '1', 'manual-1')).toThrow(/already used/);
  });
});

describe('request faults', () => {
  type Seen = { reply: [number, number] | number | undefined; executed: boolean; open: boolean; counted: number };
  const cases: [Fault, Seen][] = [
    ['NONE', { reply: 200, executed: true, open: true, counted: 1 }],
    ['LOSE_REQUEST', { reply: undefined, executed: false, open: true, counted: 0 }],
    ['LOSE_REPLY', { reply: undefined, executed: true, open: true, counted: 1 }],
    ['BUSY', { reply: [503, -1008], executed: false, open: true, counted: 1 }],
    ['UNKNOWN_EXECUTED', { reply: [503, -1007], executed: true, open: true, counted: 1 }],
    ['UNKNOWN_NOT_EXECUTED', { reply: [503, -1007], executed: false, open: true, counted: 1 }],
    ['DISCONNECT_BEFORE', { reply: undefined, executed: false, open: false, counted: 1 }],
    ['DISCONNECT_AFTER', { reply: undefined, executed: true, open: false, counted: 1 }],
    ['REJECT', { reply: [400, -1013], executed: false, open: true, counted: 1 }],
    ['DELAY_REPLY', { reply: undefined, executed: true, open: true, counted: 1 }],
  ];

  it.each(cases)('%s on order.place', (fault, expected) => {
    const calls: [string, Params, number][] = [];
    const { model, client } = world({
      faultFor: (m, p, n) => {
        calls.push([m, p, n]);
        return m === 'order.place' ? fault : 'NONE';
      },
    });
    const c = client();
    model.setPrice(SYM, '100');
    const id = c.send('order.place', market('x', 'BUY'));
    const r = c.reply(id);
    const seen: Seen = {
      reply: r === undefined ? undefined : 'error' in r ? [r.status, r.error.code] : r.status,
      executed: model.order('x') !== undefined,
      open: c.conn.open,
      counted: model.receiveTimes.length,
    };
    expect(seen).toEqual(expected);
    expect(calls).toEqual([
      ['session.logon', { apiKey: 'k', timestamp: T0, signature: 'x' }, 0],
      ['order.place', market('x', 'BUY'), 1],
    ]);
    expect(model.requests[1]).toMatchObject({ n: 1, connection: 0, time: T0, id, method: 'order.place', fault });
    expect(c.closeCodes).toEqual(expected.open ? [] : [1006]);
    // reports of what executed were sent before a DISCONNECT_AFTER drop
    expect(c.reports().map((x) => x.status)).toEqual(expected.executed ? ['NEW', 'FILLED'] : []);
    if (fault === 'DELAY_REPLY') {
      expect(model.flushDelayed()).toBe(1);
      expect(c.reply(id)).toMatchObject({ status: 200, result: { clientOrderId: 'x', status: 'FILLED' } });
    }
  });

  it('DELAY_REPLY makes replies arrive out of order; flushDelayed can release newest first', () => {
    const { model, client } = world({ faultFor: (m, _p, n) => (m === 'ping' && n < 4 ? 'DELAY_REPLY' : 'NONE') });
    const c = client();
    const ids = [c.send('ping'), c.send('ping'), c.send('ping'), c.send('ping')];
    const replyOrder = () =>
      c.frames
        .filter((f): f is ResponseFrame => 'id' in f)
        .map((f) => f.id)
        .slice(1);
    expect(replyOrder()).toEqual([ids[3]]);
    expect(model.flushDelayed('lifo')).toBe(3);
    expect(replyOrder()).toEqual([ids[3], ids[2], ids[1], ids[0]]);
  });

  it('drops the delayed replies of a connection that closed', () => {
    const { model, client } = world({ faultFor: (m) => (m === 'ping' ? 'DELAY_REPLY' : 'NONE') });
    const c = client();
    c.send('ping');
    c.conn.close();
    expect(model.flushDelayed()).toBe(0);
    expect(c.frames.length).toBe(1);
  });

  it('applies to any method: a BUSY logon does not log on; a rate-limited request is not executed by UNKNOWN_EXECUTED', () => {
    const { model, client } = world({
      limit: 1,
      faultFor: (m, _p, n) =>
        m === 'session.logon' && n === 0 ? 'BUSY' : m === 'order.place' ? 'UNKNOWN_EXECUTED' : 'NONE',
    });
    const c = new Client(model);
    expect(c.err('session.logon', {})).toEqual([503, -1008]);
    expect(c.err('ping')).toEqual([401, -1002]);
    c.logon();
    model.setPrice(SYM, '100');
    expect(c.err('order.place', market('a', 'BUY'))).toEqual([503, -1007]);
    expect(c.err('order.place', market('b', 'BUY'))).toEqual([429, -1015]);
    expect([model.order('a')?.status, model.order('b')]).toEqual(['FILLED', undefined]);
    expect(client().conn.open).toBe(true);
  });
});

describe('delivery', () => {
  it('delivers what a client sends from inside deliver after the frames already queued', () => {
    const { model } = world();
    const seen: string[] = [];
    const conn = model.connect((f) => {
      seen.push('event' in f ? `${f.data.clientOrderId} ${f.data.status}` : `reply ${f.id}`);
      if ('event' in f && f.data.clientOrderId === 's1' && f.data.status === 'FILLED') {
        conn.receive({ id: 'react', method: 'order.place', params: market('m', 'BUY') });
      }
    });
    conn.receive({ id: 'logon', method: 'session.logon', params: {} });
    model.setPrice(SYM, '100');
    conn.receive({ id: 'p1', method: 'order.place', params: stop('s1', 'SELL', '95') });
    conn.receive({ id: 'p2', method: 'order.place', params: stop('s2', 'SELL', '95') });
    seen.length = 0;
    model.setPrice(SYM, '95');
    expect(seen).toEqual(['s1 FILLED', 's2 FILLED', 'm NEW', 'm FILLED', 'reply react']);
    expect(model.executions.map((e) => [e.clientOrderId, e.price])).toEqual([
      ['s1', '95'],
      ['s2', '95'],
      ['m', '95'],
    ]);
  });
});

describe('kill semantics', () => {
  it('after close() nothing the dead client sends arrives, nothing is sent to it, and its orders stay', () => {
    const { model, client } = world();
    const [dead, other] = [client('dead'), client('other')];
    model.setPrice(SYM, '100');
    dead.ok('order.place', stop('s', 'SELL', '95'));
    const before = dead.frames.length;
    dead.conn.close();
    expect(dead.conn.open).toBe(false);
    dead.send('order.cancel', ref('s'));
    dead.send('order.place', stop('t', 'SELL', '95'));
    expect(model.requests.length).toBe(3);
    expect(model.receiveTimes.length).toBe(1);
    expect(model.liveOrders().map((o) => o.clientOrderId)).toEqual(['s']);
    model.setPrice(SYM, '95');
    expect(dead.frames.length).toBe(before);
    expect(dead.closeCodes).toEqual([]);
    expect(other.reports().map((r) => r.status)).toEqual(['NEW', 'FILLED']);
    const again = client('again');
    expect(again.order('order.status', ref('s')).status).toBe('FILLED');
    expect(new Client(model).err('order.status', ref('s'))).toEqual([401, -1002]);
  });
});
