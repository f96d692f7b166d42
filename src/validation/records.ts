import type { Bar, Fill, PortfolioSnapshot, Position } from '../vocabulary/market.js';
import type { BarColumns } from '../market/bar-columns.js';
import type { OrderRequest } from '../vocabulary/orders.js';
import {
  asRecord,
  isSymbol,
  MAX_EPOCH_MS,
  numberField,
  symbolField,
  timestampField,
  type InputLimits,
} from './fields.js';
import { accept, reject, type Validated } from './validated.js';

// A field validator returns the value, or a failed Validated to pass straight back.
function failed(v: unknown): v is Validated<never> {
  return typeof v === 'object' && v !== null && 'ok' in v;
}

/**
 * A record whose fields cannot even be read — a getter that throws, a proxy whose trap
 * throws, a revoked proxy — is malformed: every public validator below catches the throw and
 * returns this, so a hostile record is a counted rejection, never an exception out of a hook.
 */
function unreadable(what: string): Validated<never> {
  return reject('MALFORMED_RECORD', `the ${what} could not be read (a getter or proxy trap threw)`);
}

/**
 * Checks one bar: symbol format, timestamp, finite positive prices within limits,
 * low ≤ open, close ≤ high, volume ≥ 0. Per-symbol monotonic time is checked by the caller,
 * which knows the last accepted timestamp. The accepted bar is a fresh copy, frozen unless
 * `freeze` is false (for a caller that keeps the copy to itself: freezing costs ~35 ns).
 *
 * @example
 * ```ts
 * const r = validateBar(raw, DEFAULT_INPUT_LIMITS);
 * if (!r.ok) counter.add(r.rejection.code);
 * ```
 */
export function validateBar(raw: unknown, limits: InputLimits, freeze = true): Validated<Bar> {
  try {
    return checkBar(raw, limits, freeze);
  } catch {
    return unreadable('bar');
  }
}

function checkBar(raw: unknown, limits: InputLimits, freeze: boolean): Validated<Bar> {
  const fast = validBarFast(raw, limits, freeze);
  if (fast !== undefined) return accept(fast);
  const rec = asRecord(raw);
  if (rec === undefined) return reject('MALFORMED_RECORD', 'a bar must be an object');
  const symbol = symbolField(rec, limits);
  if (failed(symbol)) return symbol;
  const timestamp = timestampField(rec);
  if (failed(timestamp)) return timestamp;
  const open = numberField(rec, 'open', { positive: true, max: limits.maxPrice });
  if (failed(open)) return open;
  const high = numberField(rec, 'high', { positive: true, max: limits.maxPrice });
  if (failed(high)) return high;
  const low = numberField(rec, 'low', { positive: true, max: limits.maxPrice });
  if (failed(low)) return low;
  const close = numberField(rec, 'close', { positive: true, max: limits.maxPrice });
  if (failed(close)) return close;
  const volume = numberField(rec, 'volume', { nonNegative: true, max: limits.maxQuantity });
  if (failed(volume)) return volume;
  if (!(low <= open && low <= close && open <= high && close <= high)) {
    return reject('INCONSISTENT_OHLC', `need low ≤ open, close ≤ high; got o=${open} h=${high} l=${low} c=${close}`);
  }
  return accept(Object.freeze({ timestamp, symbol, open, high, low, close, volume }));
}

/**
 * The common case in one pass of comparisons (NaN fails every one of them): a bar with
 * numeric fields that are all in range, as a fresh copy; undefined for anything else, which
 * {@link validateBar} then checks field by field to name the problem. Both accept exactly the
 * same bars. `knownSymbol` is a symbol the caller has validated before (a registry's entry):
 * a record whose symbol is that very string skips the format check (~60 ns). Reads `raw`
 * unguarded: a hostile record's throwing getter throws here; callers catch it.
 * @internal
 */
export function validBarFast(
  raw: unknown,
  limits: InputLimits,
  freeze: boolean,
  knownSymbol?: string,
): Bar | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const { symbol, timestamp, open, high, low, close, volume } = raw as Record<string, unknown>;
  if (!fastValid(symbol, timestamp, open, high, low, close, volume, limits, knownSymbol)) return undefined;
  const bar = { timestamp, symbol, open, high, low, close, volume } as Bar;
  return freeze ? Object.freeze(bar) : bar;
}

/**
 * {@link validBarFast} into columns: a bar that passes is appended to `cols` (slot −1) and
 * true returned; false for anything else (then {@link validateBar} names the problem).
 * Nothing is allocated, and `raw` is not kept. Reads `raw` unguarded (see validBarFast).
 * @internal
 */
export function validBarInto(raw: unknown, limits: InputLimits, cols: BarColumns, knownSymbol?: string): boolean {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const { symbol, timestamp, open, high, low, close, volume } = raw as Record<string, unknown>;
  if (!fastValid(symbol, timestamp, open, high, low, close, volume, limits, knownSymbol)) return false;
  cols.push(
    -1,
    symbol as string,
    timestamp as number,
    open as number,
    high as number,
    low as number,
    close as number,
    volume as number,
  );
  return true;
}

/** The one-pass check behind validBarFast and validBarInto (NaN fails every comparison). */
function fastValid(
  symbol: unknown,
  timestamp: unknown,
  open: unknown,
  high: unknown,
  low: unknown,
  close: unknown,
  volume: unknown,
  limits: InputLimits,
  knownSymbol: string | undefined,
): boolean {
  return (
    typeof symbol === 'string' &&
    typeof timestamp === 'number' &&
    typeof open === 'number' &&
    typeof high === 'number' &&
    typeof low === 'number' &&
    typeof close === 'number' &&
    typeof volume === 'number' &&
    timestamp >= 0 &&
    timestamp <= MAX_EPOCH_MS &&
    low > 0 &&
    low <= open &&
    low <= close &&
    open <= high &&
    close <= high &&
    high <= limits.maxPrice &&
    volume >= 0 &&
    volume <= limits.maxQuantity &&
    ((symbol === knownSymbol && symbol.length > 0) || isSymbol(symbol, limits))
  );
}

function sideField<T extends string>(
  rec: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
  code: 'INVALID_SIDE' | 'INVALID_TYPE' | 'INVALID_INTENT' = 'INVALID_SIDE',
): Validated<never> | T {
  const v = rec[field];
  if (v === undefined) return reject('MISSING_FIELD', `${field} is missing`, field);
  return allowed.includes(v as T) ? (v as T) : reject(code, `${field} must be one of ${allowed.join(', ')}`, field);
}

function idField(rec: Record<string, unknown>, field: string): Validated<never> | string {
  const v = rec[field];
  if (v === undefined) return reject('MISSING_FIELD', `${field} is missing`, field);
  if (typeof v !== 'string' || v.length === 0 || v.length > 64)
    return reject('MALFORMED_RECORD', `${field} must be a string of 1-64 characters`, field);
  return v;
}

function quantityField(rec: Record<string, unknown>, field: string, limits: InputLimits): Validated<never> | number {
  const v = rec[field];
  if (v === undefined) return reject('MISSING_FIELD', `${field} is missing`, field);
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0))
    return reject('INVALID_QUANTITY', `${field} must be a finite number > 0`, field);
  if (v > limits.maxQuantity) return reject('VALUE_OUT_OF_RANGE', `${field} must be ≤ ${limits.maxQuantity}`, field);
  return v;
}

/** The symbol, side and quantity that fills and orders share. */
function tradeFields(
  rec: Record<string, unknown>,
  limits: InputLimits,
): Validated<never> | { readonly symbol: string; readonly side: 'BUY' | 'SELL'; readonly quantity: number } {
  const symbol = symbolField(rec, limits);
  if (failed(symbol)) return symbol;
  const side = sideField(rec, 'side', ['BUY', 'SELL'] as const);
  if (failed(side)) return side;
  const quantity = quantityField(rec, 'quantity', limits);
  if (failed(quantity)) return quantity;
  return { symbol, side, quantity };
}

/**
 * Checks one fill.
 *
 * @example
 * ```ts
 * const r = validateFill(raw, DEFAULT_INPUT_LIMITS);
 * if (!r.ok) counter.add(r.rejection.code);
 * ```
 */
export function validateFill(raw: unknown, limits: InputLimits): Validated<Fill> {
  try {
    return checkFill(raw, limits);
  } catch {
    return unreadable('fill');
  }
}

function checkFill(raw: unknown, limits: InputLimits): Validated<Fill> {
  const rec = asRecord(raw);
  if (rec === undefined) return reject('MALFORMED_RECORD', 'a fill must be an object');
  const fillId = idField(rec, 'fillId');
  if (failed(fillId)) return fillId;
  const orderId = idField(rec, 'orderId');
  if (failed(orderId)) return orderId;
  const trade = tradeFields(rec, limits);
  if (failed(trade)) return trade;
  const { symbol, side, quantity } = trade;
  const price = numberField(rec, 'price', { positive: true, max: limits.maxPrice });
  if (failed(price)) return price;
  const timestamp = timestampField(rec);
  if (failed(timestamp)) return timestamp;
  return accept(Object.freeze({ fillId, orderId, symbol, side, quantity, price, timestamp }));
}

/**
 * Checks one position.
 *
 * @example
 * ```ts
 * validatePosition({ symbol: 'AAPL', side: 'LONG', quantity: 10, entryPrice: 190, openedAt: Date.now() }, DEFAULT_INPUT_LIMITS).ok; // true
 * ```
 */
export function validatePosition(raw: unknown, limits: InputLimits): Validated<Position> {
  try {
    return checkPosition(raw, limits);
  } catch {
    return unreadable('position');
  }
}

function checkPosition(raw: unknown, limits: InputLimits): Validated<Position> {
  const rec = asRecord(raw);
  if (rec === undefined) return reject('MALFORMED_RECORD', 'a position must be an object');
  const symbol = symbolField(rec, limits);
  if (failed(symbol)) return symbol;
  const side = sideField(rec, 'side', ['LONG', 'SHORT'] as const);
  if (failed(side)) return side;
  const quantity = quantityField(rec, 'quantity', limits);
  if (failed(quantity)) return quantity;
  const entryPrice = numberField(rec, 'entryPrice', { positive: true, max: limits.maxPrice });
  if (failed(entryPrice)) return entryPrice;
  const openedAt = timestampField(rec, 'openedAt');
  if (failed(openedAt)) return openedAt;
  return accept(Object.freeze({ symbol, side, quantity, entryPrice, openedAt }));
}

/**
 * Checks a portfolio snapshot. A bad snapshot-level field rejects the snapshot; bad positions
 * are returned separately so that the good ones still count.
 *
 * @example
 * ```ts
 * const r = validateSnapshot(snapshot, { ...DEFAULT_INPUT_LIMITS, maxPositions: 10_000 });
 * if (r.ok) for (const bad of r.value.rejected) if (!bad.ok) counter.add(bad.rejection.code);
 * ```
 */
export function validateSnapshot(
  raw: unknown,
  limits: InputLimits & { readonly maxPositions: number },
): Validated<{ readonly snapshot: PortfolioSnapshot; readonly rejected: readonly Validated<never>[] }> {
  try {
    return checkSnapshot(raw, limits);
  } catch {
    return unreadable('snapshot');
  }
}

function checkSnapshot(
  raw: unknown,
  limits: InputLimits & { readonly maxPositions: number },
): Validated<{ readonly snapshot: PortfolioSnapshot; readonly rejected: readonly Validated<never>[] }> {
  const rec = asRecord(raw);
  if (rec === undefined) return reject('MALFORMED_RECORD', 'a snapshot must be an object');
  const timestamp = timestampField(rec);
  if (failed(timestamp)) return timestamp;
  const equity = numberField(rec, 'equity', { positive: true, max: limits.maxPrice });
  if (failed(equity)) return equity;
  const list = rec['positions'];
  if (!Array.isArray(list))
    return reject(list === undefined ? 'MISSING_FIELD' : 'MALFORMED_RECORD', 'positions must be an array', 'positions');
  const positions: Position[] = [];
  const rejected: Validated<never>[] = [];
  const seen = new Set<string>();
  for (const item of list as unknown[]) {
    const p = validatePosition(item, limits);
    if (!p.ok) rejected.push(p);
    else if (seen.has(p.value.symbol))
      rejected.push(reject('DUPLICATE_POSITION', `two positions for ${p.value.symbol}`, 'positions'));
    else if (positions.length >= limits.maxPositions)
      rejected.push(reject('POSITION_LIMIT', `more than maxPositions ${limits.maxPositions}`, 'positions'));
    else {
      seen.add(p.value.symbol);
      positions.push(p.value);
    }
  }
  return accept(
    Object.freeze({
      snapshot: Object.freeze({ timestamp, equity, positions: Object.freeze(positions) }),
      rejected: Object.freeze(rejected),
    }),
  );
}

/**
 * Checks an order request.
 *
 * @example
 * ```ts
 * const r = validateOrder(order, DEFAULT_INPUT_LIMITS);
 * if (!r.ok) return deny('INVALID_ORDER', r.rejection.message);
 * ```
 */
export function validateOrder(raw: unknown, limits: InputLimits): Validated<OrderRequest> {
  try {
    return checkOrder(raw, limits);
  } catch {
    return unreadable('order');
  }
}

function checkOrder(raw: unknown, limits: InputLimits): Validated<OrderRequest> {
  const rec = asRecord(raw);
  if (rec === undefined) return reject('MALFORMED_RECORD', 'an order must be an object');
  const clientOrderId = idField(rec, 'clientOrderId');
  if (failed(clientOrderId)) return clientOrderId;
  const trade = tradeFields(rec, limits);
  if (failed(trade)) return trade;
  const { symbol, side, quantity } = trade;
  const type = sideField(rec, 'type', ['MARKET', 'LIMIT', 'STOP'] as const, 'INVALID_TYPE');
  if (failed(type)) return type;
  const intent = sideField(rec, 'intent', ['ENTRY', 'EXIT', 'PROTECTIVE'] as const, 'INVALID_INTENT');
  if (failed(intent)) return intent;
  let price: number | undefined;
  if (type !== 'MARKET' || rec['price'] !== undefined) {
    const p = numberField(rec, 'price', { positive: true, max: limits.maxPrice });
    if (failed(p)) return p;
    price = p;
  }
  const reduceOnly = rec['reduceOnly'];
  if (reduceOnly !== undefined && typeof reduceOnly !== 'boolean')
    return reject('MALFORMED_RECORD', 'reduceOnly must be a boolean', 'reduceOnly');
  const order: OrderRequest = {
    clientOrderId,
    symbol,
    side,
    quantity,
    type,
    intent,
    ...(price === undefined ? {} : { price }),
    ...(reduceOnly === undefined ? {} : { reduceOnly }),
  };
  return accept(Object.freeze(order));
}
