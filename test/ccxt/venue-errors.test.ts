/**
 * Venue errors as the real ccxt package raises them: Binance's answers run through ccxt's own
 * `binance.handleErrors` (its error table, as against Binance's hosts), the same bodies as a
 * plain `ExchangeError` (as against another base URL), and ccxt's network classes.
 */
import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { classifyVenueError, venueCodeOf, type VenueOutcomeKind } from '../../src/ccxt/venue-errors.js';

const binance = new ccxt.binance();

/** What ccxt throws for this HTTP answer from Binance (undefined when it does not throw). */
function thrownBy(status: number, body: { code: number; msg: string }, method = 'POST'): unknown {
  try {
    binance.handleErrors(
      status,
      'x',
      'https://api.binance.com/api/v3/order',
      method,
      {},
      JSON.stringify(body),
      body,
      {},
      {},
    );
  } catch (e) {
    return e;
  }
  return undefined;
}

const CASES: readonly (readonly [number, { code: number; msg: string }, VenueOutcomeKind, string])[] = [
  [429, { code: -1015, msg: 'Too many new orders.' }, 'PAUSE', 'DDoSProtection'],
  [429, { code: -1003, msg: 'Too many requests.' }, 'PAUSE', ''],
  [400, { code: -2013, msg: 'Order does not exist.' }, 'NOT_FOUND', 'OrderNotFound'],
  [400, { code: -2011, msg: 'Unknown order sent.' }, 'NOT_FOUND', 'OrderNotFound'],
  [400, { code: -2010, msg: 'Duplicate order sent.' }, 'DUPLICATE', 'InvalidOrder'],
  [400, { code: -2010, msg: 'Stop price would trigger immediately.' }, 'WOULD_TRIGGER', 'OrderImmediatelyFillable'],
  [
    400,
    { code: -2010, msg: 'Account has insufficient balance for requested action.' },
    'REJECTED',
    'InsufficientFunds',
  ],
  [400, { code: -1013, msg: 'Filter failure: PRICE_FILTER' }, 'REJECTED', 'InvalidOrder'],
  [
    400,
    { code: -1104, msg: "Not all sent parameters were read; read '8' parameter(s) but was sent '9'." },
    'REJECTED',
    '',
  ],
  [
    503,
    {
      code: -1007,
      msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
    },
    'UNKNOWN',
    'RequestTimeout',
  ],
  [401, { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' }, 'AUTH', 'AuthenticationError'],
  [400, { code: -1022, msg: 'Signature for this request is not valid.' }, 'AUTH', 'AuthenticationError'],
];

describe('classifyVenueError', () => {
  it.each(CASES)('HTTP %i %j → %s (ccxt raises %s)', (status, body, kind, ccxtClass) => {
    const e = thrownBy(status, body);
    expect(e).toBeInstanceOf(ccxt.BaseError);
    if (ccxtClass !== '') expect((e as Error).constructor.name).toBe(ccxtClass);
    const outcome = classifyVenueError(e);
    expect(outcome.kind).toBe(kind);
    // Against another base URL ccxt raises a plain ExchangeError carrying the body: the same outcome.
    const plain = classifyVenueError(new ccxt.ExchangeError(`binance ${JSON.stringify(body)}`));
    expect([plain.kind, plain.code]).toEqual([kind, String(body.code)]);
  });

  it('maps ccxt classes without a venue code: timeouts and network errors are UNKNOWN, rate limits PAUSE, a duplicate id found by message', () => {
    expect(classifyVenueError(new ccxt.RequestTimeout('binance GET … request timed out (10000 ms)')).kind).toBe(
      'UNKNOWN',
    );
    expect(classifyVenueError(new ccxt.NetworkError('ECONNRESET')).kind).toBe('UNKNOWN');
    expect(classifyVenueError(new ccxt.ExchangeNotAvailable('binance 503 Service Unavailable')).kind).toBe('UNKNOWN');
    expect(classifyVenueError(new ccxt.OnMaintenance('maintenance')).kind).toBe('UNKNOWN');
    expect(classifyVenueError(new ccxt.RateLimitExceeded('slow down')).kind).toBe('PAUSE');
    expect(classifyVenueError(new ccxt.OrderNotFound('gone')).kind).toBe('NOT_FOUND');
    expect(classifyVenueError(new ccxt.InsufficientFunds('no')).kind).toBe('REJECTED');
    expect(classifyVenueError(new ccxt.PermissionDenied('no')).kind).toBe('AUTH');
    expect(classifyVenueError(new ccxt.InvalidOrder('binance Duplicate order sent.')).kind).toBe('DUPLICATE');
    expect(classifyVenueError(new ccxt.DuplicateOrderId('dup')).kind).toBe('DUPLICATE');
  });

  it('an error it cannot place (a plain ExchangeError with an unknown code, a non-ccxt error) is UNKNOWN: ask before acting again', () => {
    expect(classifyVenueError(new ccxt.ExchangeError('binance {"code":-9999,"msg":"?"}'))).toMatchObject({
      kind: 'UNKNOWN',
      code: '-9999',
    });
    expect(classifyVenueError(new ccxt.ExchangeError('binance 500 Internal Server Error'))).toMatchObject({
      kind: 'UNKNOWN',
      code: 'ExchangeError',
    });
    expect(classifyVenueError(new TypeError('x is undefined'))).toMatchObject({ kind: 'UNKNOWN', code: 'TypeError' });
    expect(classifyVenueError('a string')).toMatchObject({ kind: 'UNKNOWN' });
  });

  it('reads Retry-After (seconds, any header case) into a PAUSE only', () => {
    const e = thrownBy(429, { code: -1015, msg: 'Too many new orders.' });
    expect(classifyVenueError(e, { 'Retry-After': '7' }).retryAfterMs).toBe(7_000);
    expect(classifyVenueError(e, { 'retry-after': 2 }).retryAfterMs).toBe(2_000);
    expect(classifyVenueError(e, { 'retry-after': 'Wed, 21 Oct 2026 07:28:00 GMT' }).retryAfterMs).toBeUndefined();
    expect(classifyVenueError(e).retryAfterMs).toBeUndefined();
    expect(classifyVenueError(new ccxt.RequestTimeout('t'), { 'Retry-After': '7' }).retryAfterMs).toBeUndefined();
  });

  it('venueCodeOf reads the body code from a message', () => {
    expect(venueCodeOf('binance {"code":-2013,"msg":"Order does not exist."}')).toBe(-2013);
    expect(venueCodeOf('binance {"code": -1015}')).toBe(-1015);
    expect(venueCodeOf('no json here')).toBeUndefined();
  });
});
