import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInbound } from '../../src/egress/protocol.js';

const report = {
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

describe('inbound broker frames', () => {
  it('accepts the protocol’s three kinds of message', () => {
    expect(parseInbound(JSON.stringify(report))).toMatchObject({ ok: true, value: { kind: 'EXECUTION_REPORT' } });
    expect(parseInbound('{"id":"1","status":200,"result":{}}')).toMatchObject({
      ok: true,
      value: { kind: 'RESPONSE' },
    });
    expect(
      parseInbound('{"id":"1","status":429,"error":{"code":-1015,"msg":"too many","retryAfter":5}}'),
    ).toMatchObject({
      ok: true,
      value: { kind: 'ERROR', message: { error: { retryAfter: 5 } } },
    });
  });

  it.each([
    ['not JSON', '{"id":', 'MALFORMED_FRAME'],
    ['an array', '[1,2]', 'MALFORMED_FRAME'],
    ['neither response nor event', '{"hello":1}', 'UNKNOWN_MESSAGE'],
    [
      'a report with a negative seq',
      JSON.stringify({ ...report, data: { ...report.data, seq: -1 } }),
      'INVALID_MESSAGE',
    ],
    [
      'a report with a numeric quantity',
      JSON.stringify({ ...report, data: { ...report.data, cumQty: 10 } }),
      'INVALID_MESSAGE',
    ],
    [
      'a report with a bad client id',
      JSON.stringify({ ...report, data: { ...report.data, clientOrderId: 'x'.repeat(37) } }),
      'INVALID_MESSAGE',
    ],
    ['an error with status 200', '{"id":"1","status":200,"error":{"code":1,"msg":""}}', 'INVALID_MESSAGE'],
    [
      'a frame over the size limit',
      JSON.stringify({ id: '1', status: 200, result: { pad: 'x'.repeat(70_000) } }),
      'FRAME_TOO_LARGE',
    ],
  ])('drops %s with a code', (_, text, code) => {
    const r = parseInbound(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe(code);
  });

  it('never throws, whatever arrives (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ event: 'executionReport', data: v })),
        ),
        (text) => {
          const r = parseInbound(text);
          return typeof r.ok === 'boolean';
        },
      ),
      { seed: 5, numRuns: 2_000 },
    );
  });
});
