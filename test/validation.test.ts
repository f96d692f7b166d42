import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INPUT_LIMITS, validateBar, validateOrder, validatePosition } from '../src/index.js';
import { parseTimestamp } from '../src/validation/fields.js';
import { validBarFast } from '../src/validation/records.js';

const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,31}$/;

/** The bar rules written out independently of the implementation. */
function shouldAccept(r: Record<string, unknown>): boolean {
  const { symbol, timestamp, open, high, low, close, volume } = r;
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const ts = parseTimestamp(timestamp);
  return (
    typeof symbol === 'string' &&
    SYMBOL.test(symbol) &&
    ts !== undefined &&
    [open, high, low, close].every((p) => num(p) && p > 0 && p <= 1e15) &&
    num(volume) &&
    volume >= 0 &&
    volume <= 1e15 &&
    (low as number) <= (open as number) &&
    (low as number) <= (close as number) &&
    (open as number) <= (high as number) &&
    (close as number) <= (high as number)
  );
}

const price = fc.oneof(
  fc.double({ min: 0.01, max: 200, noNaN: true }),
  fc.constantFrom(
    0,
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2e15,
    '5' as unknown as number,
    null as unknown as number,
  ),
);

describe('validateBar', () => {
  it('accepts exactly the bars the rules allow, whatever the fields hold (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          symbol: fc.oneof(
            fc.constantFrom('AAPL', 'BTC-USD', 'es.c.0', 'x'.repeat(33), '', ' A', 'A B', 'ÄPFEL'),
            fc.string({ maxLength: 40 }),
          ),
          timestamp: fc.oneof(
            fc.integer({ min: 0, max: 2e12 }),
            fc.constantFrom(-1, Number.NaN, 9e15, '2026-03-02T14:30:00Z', '1709389800000', 'yesterday'),
          ),
          open: price,
          high: price,
          low: price,
          close: price,
          volume: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom(-1, Number.NaN, 2e15)),
        }),
        (rec) => validateBar(rec, DEFAULT_INPUT_LIMITS).ok === shouldAccept(rec),
      ),
      { seed: 7, numRuns: 20_000 },
    );
  });

  it('skips the symbol format check only for the very symbol the caller vouches for', () => {
    const bar = { symbol: 'AAPL', timestamp: 1, open: 10, high: 11, low: 9, close: 10, volume: 5 };
    expect(validBarFast(bar, DEFAULT_INPUT_LIMITS, false, 'AAPL')).toEqual(bar);
    expect(validBarFast(bar, DEFAULT_INPUT_LIMITS, false, 'MSFT')).toEqual(bar); // checked, and valid
    expect(validBarFast({ ...bar, symbol: 'BAD SYMBOL' }, DEFAULT_INPUT_LIMITS, false, 'AAPL')).toBeUndefined();
    expect(validBarFast({ ...bar, symbol: '' }, DEFAULT_INPUT_LIMITS, false, '')).toBeUndefined(); // an unused registry slot vouches for nothing
    expect(validBarFast({ ...bar, low: 12 }, DEFAULT_INPUT_LIMITS, false, 'AAPL')).toBeUndefined(); // the rest is still checked
  });

  it('accepts a consistent bar through the fast path and gives every rejection a code', () => {
    const ok = validateBar(
      { symbol: 'AAA', timestamp: 1, open: 2, high: 3, low: 1, close: 2, volume: 0 },
      DEFAULT_INPUT_LIMITS,
    );
    expect(ok.ok && Object.isFrozen(ok.value)).toBe(true);
    const bad = validateBar(
      { symbol: 'AAA', timestamp: 1, open: 2, high: 1.5, low: 1, close: 2, volume: 0 },
      DEFAULT_INPUT_LIMITS,
    );
    expect(!bad.ok && bad.rejection.code).toBe('INCONSISTENT_OHLC');
    expect(validateBar([1, 2, 3], DEFAULT_INPUT_LIMITS).ok).toBe(false);
  });
});

describe('enumerated fields are rejected under their own codes', () => {
  const order = {
    clientOrderId: 'o1',
    symbol: 'AAA',
    side: 'BUY',
    quantity: 1,
    type: 'LIMIT',
    intent: 'ENTRY',
    price: 10,
  };
  const codeOf = (raw: unknown) => {
    const v = validateOrder(raw, DEFAULT_INPUT_LIMITS);
    return v.ok ? 'OK' : `${v.rejection.code} ${v.rejection.field ?? ''}`;
  };

  it('an order side, type and intent: INVALID_SIDE, INVALID_TYPE, INVALID_INTENT (type and intent were INVALID_SIDE)', () => {
    expect(codeOf(order)).toBe('OK');
    expect(codeOf({ ...order, side: 'HOLD' })).toBe('INVALID_SIDE side');
    expect(codeOf({ ...order, type: 'STOP_LIMIT' })).toBe('INVALID_TYPE type');
    expect(codeOf({ ...order, intent: 'HEDGE' })).toBe('INVALID_INTENT intent');
    expect(codeOf({ ...order, type: undefined })).toBe('MISSING_FIELD type');
  });

  it('a position side stays INVALID_SIDE', () => {
    const v = validatePosition(
      { symbol: 'AAA', side: 'FLAT', quantity: 1, entryPrice: 10, openedAt: 0 },
      DEFAULT_INPUT_LIMITS,
    );
    expect(v.ok ? 'OK' : v.rejection.code).toBe('INVALID_SIDE');
  });
});
