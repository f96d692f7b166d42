/**
 * Hostile inbound broker traffic (issue 6, "Hostile input"): `parseInbound` over arbitrary
 * strings, JSON, binary, wrong types and oversized frames always answers with a coded rejection
 * or a message that passes the protocol's schema, and never throws; and a real `ws` server
 * feeding `WsBrokerClient` malformed, binary, unmatched and oversized frames (and broken
 * WebSocket framing) sees them dropped and counted by code, or the connection closed with the
 * RFC 6455 code ws uses, after which the client reconnects and logs on again.
 */
import { frameText } from '../../src/broker/frame-text.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsBrokerClient } from '../../src/broker/ws-broker-client.js';
import {
  errorSchema,
  executionReportSchema,
  MAX_FRAME_BYTES,
  parseInbound,
  successSchema,
} from '../../src/egress/protocol.js';

const CODES = ['FRAME_TOO_LARGE', 'MALFORMED_FRAME', 'UNKNOWN_MESSAGE', 'INVALID_MESSAGE'];

const REPORT = {
  event: 'executionReport',
  data: {
    symbol: 'AAA',
    orderId: 7,
    clientOrderId: 'bw-x-1',
    side: 'SELL',
    status: 'FILLED',
    lastQty: '10',
    lastPrice: '99.5',
    cumQty: '10',
    eventTime: 1,
    seq: 3,
  },
};
// Ids the client never generates (its own are 'b' + a counter): these answer no request.
const SUCCESS = {
  id: 'x1',
  status: 200,
  result: { clientOrderId: 'bw-x-1', status: 'NEW', rateLimits: [{ limit: 10 }] },
};
const ERROR = { id: 'x2', status: 429, error: { code: -1015, msg: 'too many', retryAfter: 5 } };

/**
 * The result must be a coded rejection, or a message that the protocol's schema accepts, of
 * the kind its keys say; and what must be refused before any parsing is refused.
 */
function check(input: unknown): void {
  let r: ReturnType<typeof parseInbound> | undefined;
  let thrown: unknown;
  try {
    r = parseInbound(input as string);
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'parseInbound threw').toBeUndefined();
  if (r === undefined) return;
  if (typeof input !== 'string') {
    expect(r).toMatchObject({ ok: false, code: 'MALFORMED_FRAME' });
    return;
  }
  if (Buffer.byteLength(input, 'utf8') > MAX_FRAME_BYTES) {
    expect(r).toMatchObject({ ok: false, code: 'FRAME_TOO_LARGE' });
    return;
  }
  let json: unknown;
  let parses = true;
  try {
    json = JSON.parse(input);
  } catch {
    parses = false;
  }
  const isObject = parses && typeof json === 'object' && json !== null && !Array.isArray(json);
  if (!isObject) {
    expect(r).toMatchObject({ ok: false, code: 'MALFORMED_FRAME' });
    return;
  }
  const rec = json as Record<string, unknown>;
  if (!('event' in rec) && !('error' in rec) && !('result' in rec)) {
    expect(r).toMatchObject({ ok: false, code: 'UNKNOWN_MESSAGE' });
    return;
  }
  if (!r.ok) {
    expect(r.code).toBe('INVALID_MESSAGE');
    expect(typeof r.detail).toBe('string');
    return;
  }
  const kind = 'event' in rec ? 'EXECUTION_REPORT' : 'error' in rec ? 'ERROR' : 'RESPONSE';
  expect(r.value.kind).toBe(kind);
  const schema = kind === 'EXECUTION_REPORT' ? executionReportSchema : kind === 'ERROR' ? errorSchema : successSchema;
  expect(schema.safeParse(r.value.message).success).toBe(true);
  if (r.value.kind === 'EXECUTION_REPORT') {
    const d = r.value.message.data;
    expect(Number.isSafeInteger(d.seq) && d.seq >= 0).toBe(true);
    for (const q of [d.lastQty, d.lastPrice, d.cumQty]) expect(q).toMatch(/^\d+(\.\d+)?$/);
    expect(d.clientOrderId).toMatch(/^[A-Za-z0-9._:-]{1,36}$/);
  }
}

/** A valid message with the value at one path replaced (or removed). */
function mutateAt(message: unknown, path: readonly number[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(message) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (let depth = 0; depth < path.length; depth++) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[(path[depth] as number) % keys.length] as string;
    const child = node[key];
    if (depth === path.length - 1 || typeof child !== 'object' || child === null) {
      if (remove) delete node[key];
      else node[key] = value;
      break;
    }
    node = child as Record<string, unknown>;
  }
  return copy;
}

const decimal = fc
  .tuple(fc.nat(), fc.option(fc.nat(), { freq: 2 }))
  .map(([a, b]) => (b === null ? `${a}` : `${a}.${b}`));

/** Valid messages of the three kinds, with arbitrary field values within the protocol. */
const valid = fc.oneof(
  fc
    .record({
      symbol: fc.string({ minLength: 1, maxLength: 32 }),
      orderId: fc.integer(),
      clientOrderId: fc.stringMatching(/^[A-Za-z0-9._:-]{1,36}$/),
      side: fc.constantFrom('BUY', 'SELL'),
      status: fc.constantFrom('NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'),
      lastQty: decimal,
      lastPrice: decimal,
      cumQty: decimal,
      eventTime: fc.nat(),
      seq: fc.nat(),
    })
    .map((data) => JSON.stringify({ event: 'executionReport', data })),
  fc.dictionary(fc.string(), fc.jsonValue()).map((result) => JSON.stringify({ id: 'x3', status: 200, result })),
  fc
    .record({ status: fc.integer({ min: 400, max: 599 }), code: fc.integer(), msg: fc.string({ maxLength: 100 }) })
    .map(({ status, code, msg }) => JSON.stringify({ id: 'x4', status, error: { code, msg } })),
);

const nearValid = fc
  .tuple(
    fc.constantFrom(REPORT, SUCCESS, ERROR),
    fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
    fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(
        -1,
        1.5,
        2 ** 53,
        1e308,
        '',
        'x'.repeat(100),
        '1e3',
        '-1',
        ' 1',
        '0x10',
        null,
        true,
        [],
        {},
        '__proto__',
      ),
    ),
    fc.boolean(),
  )
  .map(([m, path, value, remove]) => JSON.stringify(mutateAt(m, path, value, remove)));

/** A valid frame padded to `bytes` (ASCII padding) inside its result. */
function padded(bytes: number): string {
  const base = JSON.stringify({ id: 'nope', status: 200, result: { pad: '' } });
  return JSON.stringify({ id: 'nope', status: 200, result: { pad: 'x'.repeat(bytes - base.length) } });
}

describe('parseInbound over hostile input', () => {
  it('answers every input with a coded rejection or a schema-valid message, never a throw (property)', () => {
    const seen = new Map<string, number>();
    const count = (input: unknown) => {
      const r = parseInbound(input as string);
      if (!r.ok) expect(CODES).toContain(r.code);
      const key = r.ok ? r.value.kind : r.code;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 100 }),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.jsonValue().map((v) => JSON.stringify({ event: 'executionReport', data: v })),
          fc.jsonValue().map((v) => JSON.stringify({ id: 'x', status: 200, result: v })),
          fc.jsonValue().map((v) => JSON.stringify({ id: 'x', status: 500, error: v })),
          nearValid,
          nearValid,
          nearValid,
          valid,
          valid,
          fc.anything(), // wrong types: numbers, objects, undefined, …
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), // a binary frame's payload
          fc.uint8Array({ maxLength: 64 }),
        ),
        (input) => {
          check(input);
          count(input);
        },
      ),
      { seed: 6101, numRuns: 20_000 },
    );
    // Not vacuous: every outcome occurred.
    for (const key of [
      'MALFORMED_FRAME',
      'UNKNOWN_MESSAGE',
      'INVALID_MESSAGE',
      'EXECUTION_REPORT',
      'RESPONSE',
      'ERROR',
    ]) {
      expect(seen.get(key) ?? 0, key).toBeGreaterThan(50);
    }
  });

  it('measures frames in UTF-8 bytes: 64 KiB is accepted, one byte more is FRAME_TOO_LARGE, however it is made', () => {
    expect(Buffer.byteLength(padded(MAX_FRAME_BYTES))).toBe(MAX_FRAME_BYTES);
    expect(parseInbound(padded(MAX_FRAME_BYTES))).toMatchObject({ ok: true, value: { kind: 'RESPONSE' } });
    expect(parseInbound(padded(MAX_FRAME_BYTES + 1))).toMatchObject({ ok: false, code: 'FRAME_TOO_LARGE' });
    // 40 000 characters, 80 000 bytes: the length in characters would let it through.
    const wide = JSON.stringify({ id: 'x', status: 200, result: { pad: 'é'.repeat(40_000) } });
    expect(wide.length).toBeLessThan(MAX_FRAME_BYTES);
    expect(parseInbound(wide)).toMatchObject({ ok: false, code: 'FRAME_TOO_LARGE' });
    expect(parseInbound('x'.repeat(10_000_000))).toMatchObject({ ok: false, code: 'FRAME_TOO_LARGE' });
    for (const input of ['[', '{', '"', '\uD800', '\u0000', '{"result":1}garbage']) check(input);
  });

  it('survives deep nesting, prototype keys and huge numbers inside the limit', () => {
    const depth = 30_000; // within 64 KiB; deeper than a recursive parser's stack
    for (const input of [
      '['.repeat(depth) + ']'.repeat(depth),
      '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
      '{"id":"x","status":200,"result":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) + '}',
      '{"event":"executionReport","data":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}',
      '{"id":"x","status":500,"error":' + '{"code":'.repeat(8_000) + '1' + '}'.repeat(8_000) + '}',
      '{"__proto__":{"event":"executionReport"},"id":"x"}',
      '{"id":"x","status":200,"result":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}',
      JSON.stringify({ ...REPORT, data: { ...REPORT.data, seq: 1e308, orderId: 2 ** 60 } }),
      '{"id":"x","status":200,"result":{},"event":"executionReport"}',
    ]) {
      check(input);
    }
    const r = parseInbound('{"id":"x","status":200,"result":{"__proto__":{"polluted":true}}}');
    expect(r.ok && (r.value.message as { result: Record<string, unknown> }).result['polluted']).toBeFalsy();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a non-string (a binary frame, undefined) is MALFORMED_FRAME, not FRAME_TOO_LARGE (regression)', () => {
    expect(parseInbound(Buffer.from('{}') as never)).toMatchObject({ ok: false, code: 'MALFORMED_FRAME' });
    expect(parseInbound(undefined as never)).toMatchObject({ ok: false, code: 'MALFORMED_FRAME' });
    expect(parseInbound(new ArrayBuffer(8) as never)).toMatchObject({ ok: false, code: 'MALFORMED_FRAME' });
  });
});

// --- A real ws server -------------------------------------------------------------------------

const KEY = 'k-hostile';
const SECRET = 's-hostile';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A broker that logs every client on and answers `order.status`; `closes` gets each connection's close code. */
async function rawBroker() {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const connections: WebSocket[] = [];
  const closes: number[] = [];
  cleanup.push(() => {
    for (const ws of connections) ws.terminate();
    return new Promise((r) => server.close(() => r(undefined)));
  });
  server.on('connection', (ws) => {
    connections.push(ws);
    ws.on('close', (code) => closes.push(code));
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const m = JSON.parse(frameText(data)) as { id: string; method: string };
      if (m.method === 'session.logon')
        ws.send(JSON.stringify({ id: m.id, status: 200, result: { rateLimits: [{ limit: 10 }] } }));
      else ws.send(JSON.stringify({ id: m.id, status: 200, result: { status: 'NEW' } }));
    });
  });
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`, connections, closes };
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes raw bytes on the server side of a connection: broken WebSocket framing. */
function writeRaw(ws: WebSocket, bytes: number[]): void {
  (ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from(bytes));
}

describe('WsBrokerClient against a hostile broker', () => {
  it('drops malformed, binary and unmatched frames by code on a live connection; over maxPayload or broken framing closes it (1009, 1002, 1007) and the client reconnects', async () => {
    const broker = await rawBroker();
    const reconciles: string[] = [];
    const client = new WsBrokerClient({
      url: broker.url,
      apiKey: KEY,
      apiSecret: SECRET,
      requestTimeoutMs: 2_000,
      reconnectDelayMs: 10,
      onReconcile: (r) => reconciles.push(r),
    });
    cleanup.push(() => client.close());
    await client.connect();
    const first = broker.connections[0] as WebSocket;
    const roundTrip = () => client.request('order.status', { symbol: 'AAA', origClientOrderId: 'a' });

    // Frames the connection survives: each dropped and counted, in order.
    const bad = JSON.stringify({ ...REPORT, data: { ...REPORT.data, seq: -1 } });
    for (const text of [
      'not json',
      '[1,2,3]',
      '"a string"',
      'null',
      '42',
      '',
      '{"hello":1}',
      bad,
      '{"__proto__":{"result":{}},"id":"b1"}',
    ])
      first.send(text);
    first.send(Buffer.from(JSON.stringify(SUCCESS)), { binary: true }); // a binary frame: not text
    first.send(JSON.stringify({ id: 'nobody', status: 200, result: {} })); // answers no request
    first.send(padded(MAX_FRAME_BYTES)); // exactly maxPayload: allowed by ws and by the protocol
    first.send(JSON.stringify({ id: 'x', status: 200, result: { pad: 'é'.repeat((MAX_FRAME_BYTES - 50) / 2) } })); // multibyte, just inside
    await roundTrip(); // answered after every frame above was handled
    expect(client.dropped).toEqual({
      MALFORMED_FRAME: 7,
      UNKNOWN_MESSAGE: 2,
      INVALID_MESSAGE: 1,
      UNMATCHED_RESPONSE: 3,
    });
    expect(broker.connections).toHaveLength(1);
    expect(broker.closes).toEqual([]);

    // One byte over maxPayload: ws refuses it from the frame header, closes with 1009
    // (message too big), and the client reconnects and logs on again.
    first.send(padded(MAX_FRAME_BYTES + 1));
    await until(() => broker.connections.length === 2 && reconciles.length === 2);
    expect(broker.closes).toEqual([1009]);
    await roundTrip();

    // Over maxPayload in fragments (40 KiB + 40 KiB): the total counts.
    const second = broker.connections[1] as WebSocket;
    const chunk = 'x'.repeat(40 * 1024);
    second.send(chunk, { fin: false });
    second.send(chunk, { fin: true });
    await until(() => broker.connections.length === 3 && reconciles.length === 3);
    expect(broker.closes).toEqual([1009, 1009]);

    // An oversized binary frame: the same.
    (broker.connections[2] as WebSocket).send(Buffer.alloc(MAX_FRAME_BYTES + 1), { binary: true });
    await until(() => broker.connections.length === 4 && reconciles.length === 4);
    expect(broker.closes).toEqual([1009, 1009, 1009]);

    // Broken framing: RSV1 set with no extension negotiated → 1002 (protocol error).
    writeRaw(broker.connections[3] as WebSocket, [0xc1, 0x01, 0x41]);
    await until(() => broker.connections.length === 5 && reconciles.length === 5);
    // Invalid UTF-8 in a text frame → 1007 (invalid payload data).
    writeRaw(broker.connections[4] as WebSocket, [0x81, 0x02, 0xc3, 0x28]);
    await until(() => broker.connections.length === 6 && reconciles.length === 6);
    expect(broker.closes).toEqual([1009, 1009, 1009, 1002, 1007]);

    expect(reconciles.every((r) => r === 'LOGON')).toBe(true);
    expect(await roundTrip()).toEqual({ status: 'NEW' });
    // Frames refused by ws itself never reach the protocol layer: only what was parsed is counted.
    expect(client.dropped).toEqual({
      MALFORMED_FRAME: 7,
      UNKNOWN_MESSAGE: 2,
      INVALID_MESSAGE: 1,
      UNMATCHED_RESPONSE: 3,
    });
  });

  it('a flood of hostile frames leaves the client connected, counting each (property over frame mixes)', async () => {
    const broker = await rawBroker();
    const client = new WsBrokerClient({
      url: broker.url,
      apiKey: KEY,
      apiSecret: SECRET,
      requestTimeoutMs: 2_000,
      reconnectDelayMs: 10,
    });
    cleanup.push(() => client.close());
    await client.connect();
    const ws = broker.connections[0] as WebSocket;
    const frames = fc.sample(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.json(),
        nearValid,
        fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b)),
      ),
      { seed: 6102, numRuns: 3_000 },
    );
    const expected = new Map<string, number>();
    for (const f of frames) {
      const text = typeof f === 'string' ? Buffer.from(f, 'utf8').toString('utf8') : ''; // as received: lone surrogates become U+FFFD
      const r = parseInbound(text);
      // Valid reports are delivered (or deduplicated), valid answers match no request here.
      const key = r.ok ? (r.value.kind === 'EXECUTION_REPORT' ? undefined : 'UNMATCHED_RESPONSE') : r.code;
      if (key !== undefined) expected.set(key, (expected.get(key) ?? 0) + 1);
      ws.send(f, { binary: typeof f !== 'string' });
    }
    await client.request('order.status', { symbol: 'AAA', origClientOrderId: 'a' });
    expect(client.dropped).toEqual(Object.fromEntries(expected));
    expect(broker.connections).toHaveLength(1);
  });
});
