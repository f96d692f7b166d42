/**
 * What a venue's error means for a protective order, from a ccxt exception: by the venue's
 * own code in the response body first (ccxt applies Binance's error table only for Binance's
 * hosts: against a simulator, a proxy or testnet under another URL a failed request is a
 * plain `ExchangeError` carrying the body), then by ccxt's exception class. Classes are
 * recognised by name along the prototype chain, so this module does not load ccxt.
 */

/** What to do about a request that failed at a venue. */
export type VenueOutcomeKind =
  /** Rate limited (HTTP 429/418, -1003, -1015): nothing was done; wait (`retryAfterMs` when known) and retry. */
  | 'PAUSE'
  /** The venue has no such order (-2013, -2011): a placement never landed; a cancel or status has nothing to act on. */
  | 'NOT_FOUND'
  /** The client order id is already taken (-2010 "Duplicate order sent."): adopt the order that has it, by a status read. */
  | 'DUPLICATE'
  /** The stop price is already through the market (-2010 "would trigger immediately"): protect by closing instead. */
  | 'WOULD_TRIGGER'
  /** Refused for good as sent (filters, funds, bad parameters): not retried unchanged; the position is reported. */
  | 'REJECTED'
  /** The outcome is unknown (timeouts, network, -1007, a venue down): ask `fetchOrder` by client id before any retry. */
  | 'UNKNOWN'
  /** Credentials or permissions refused (-2014, -2015, -1022): stop sending and say so. */
  | 'AUTH';

/** A classified venue error. */
export interface VenueOutcome {
  /** What to do (see {@link VenueOutcomeKind}). */
  readonly kind: VenueOutcomeKind;
  /** The venue's code when the body carried one (e.g. `-2010`), else ccxt's class name (e.g. `RequestTimeout`). */
  readonly code: string;
  /** The error's message, as ccxt gave it. */
  readonly message: string;
  /** From a `Retry-After` header, when one was given (seconds, converted to ms). */
  readonly retryAfterMs?: number;
}

/** Binance's codes (also what Bulwark's simulated Binance dialect answers). */
const BY_VENUE_CODE: ReadonlyMap<number, VenueOutcomeKind> = new Map<number, VenueOutcomeKind>([
  [-1003, 'PAUSE'], // too many requests (request weight)
  [-1015, 'PAUSE'], // too many new orders
  [-1021, 'PAUSE'], // timestamp outside recvWindow: not executed; retry once the clock is resynchronised
  [-2013, 'NOT_FOUND'], // order does not exist
  [-2011, 'NOT_FOUND'], // unknown order sent (cancel, cancel-replace's cancel)
  [-1013, 'REJECTED'], // filter failure (tick, lot, min notional)
  [-1100, 'REJECTED'], // illegal characters in a parameter
  [-1102, 'REJECTED'], // mandatory parameter missing
  [-1104, 'REJECTED'], // not all parameters were read (e.g. reduceOnly on spot)
  [-1111, 'REJECTED'], // precision over the maximum
  [-1116, 'REJECTED'], // invalid order type
  [-1117, 'REJECTED'], // invalid side
  [-1007, 'UNKNOWN'], // timeout waiting for the matching engine: execution status unknown
  [-1001, 'UNKNOWN'], // internal error, disconnected
  [-1006, 'UNKNOWN'], // unexpected response: execution status unknown
  [-1022, 'AUTH'], // signature not valid
  [-2014, 'AUTH'], // API-key format invalid
  [-2015, 'AUTH'], // invalid API-key, IP or permissions
]);

/** ccxt's classes, most specific first (a subclass before its parent). */
const BY_CLASS: readonly (readonly [string, VenueOutcomeKind])[] = [
  ['AuthenticationError', 'AUTH'], // incl. PermissionDenied, AccountSuspended
  ['DDoSProtection', 'PAUSE'],
  ['RateLimitExceeded', 'PAUSE'],
  ['InvalidNonce', 'PAUSE'],
  ['OrderNotFound', 'NOT_FOUND'],
  ['DuplicateOrderId', 'DUPLICATE'],
  ['OrderImmediatelyFillable', 'WOULD_TRIGGER'],
  ['InsufficientFunds', 'REJECTED'],
  ['InvalidOrder', 'REJECTED'],
  ['BadRequest', 'REJECTED'], // incl. BadSymbol
  ['NotSupported', 'REJECTED'],
  ['ArgumentsRequired', 'REJECTED'],
  ['RequestTimeout', 'UNKNOWN'],
  ['ExchangeNotAvailable', 'UNKNOWN'], // incl. OnMaintenance
  ['NetworkError', 'UNKNOWN'],
];

/** Names of the constructors along `e`'s prototype chain (`['OrderNotFound', 'InvalidOrder', …]`). */
function classChain(e: unknown): string[] {
  const names: string[] = [];
  for (let p: unknown = typeof e === 'object' && e !== null ? Object.getPrototypeOf(e) : null; p !== null;) {
    const ctor = (p as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string' && ctor.name !== 'Object') names.push(ctor.name);
    p = Object.getPrototypeOf(p);
  }
  return names;
}

/** The venue's numeric `code` from the JSON body ccxt puts in its messages, if any. */
export function venueCodeOf(message: string): number | undefined {
  const m = /"code"\s*:\s*(-?\d+)/.exec(message);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * Classifies an error a ccxt call threw. `headers` (e.g. `exchange.last_response_headers`)
 * adds `retryAfterMs` from `Retry-After` to a PAUSE; it is unreliable with concurrent
 * requests, so absent, a PAUSE waits for the limiter's own window.
 *
 * @example
 * ```ts
 * try { await exchange.cancelOrder(id, symbol); }
 * catch (e) { if (classifyVenueError(e).kind === 'NOT_FOUND') { … } }
 * ```
 */
export function classifyVenueError(e: unknown, headers?: Readonly<Record<string, unknown>>): VenueOutcome {
  const message = e instanceof Error ? e.message : String(e);
  const chain = classChain(e);
  const venueCode = venueCodeOf(message);
  let kind: VenueOutcomeKind | undefined;
  if (venueCode === -2010) {
    // "New order rejected": the message says why.
    if (/duplicate order/i.test(message)) kind = 'DUPLICATE';
    else if (/trigger immediately/i.test(message)) kind = 'WOULD_TRIGGER';
    else kind = 'REJECTED';
  } else if (venueCode !== undefined) {
    kind = BY_VENUE_CODE.get(venueCode);
  }
  // ccxt's Binance table reports a duplicate client id as a plain InvalidOrder: found by message.
  if (kind === undefined && /duplicate order/i.test(message)) kind = 'DUPLICATE';
  kind ??= BY_CLASS.find(([name]) => chain.includes(name))?.[1];
  // Anything else (a plain ExchangeError with no code we know, a non-ccxt error): the request
  // may or may not have been carried out; ask before doing anything again.
  kind ??= 'UNKNOWN';
  const retryAfterMs = kind === 'PAUSE' ? retryAfter(headers) : undefined;
  return {
    kind,
    code: venueCode !== undefined ? String(venueCode) : (chain[0] ?? 'Error'),
    message,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** `Retry-After` in ms (seconds form only), from headers with any key case. */
function retryAfter(headers: Readonly<Record<string, unknown>> | undefined): number | undefined {
  if (headers === undefined) return undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== 'retry-after') continue;
    const seconds = Number(v);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : undefined;
  }
  return undefined;
}
