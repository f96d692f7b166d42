/**
 * The input rules, stated again naively and independently of src/validation (field by field,
 * in the documented order), plus ways to make a record hostile without changing what it says
 * (proxies, getters, prototypes) or so that it cannot be read at all (throwing getters and
 * traps, revoked proxies). Used by the hostile-input tests.
 */
import fc from 'fast-check';
import { REJECTION_CODES, type RejectionCode } from '../../src/vocabulary/reason-codes.js';
import type { Bar, Fill, PortfolioSnapshot, Position } from '../../src/vocabulary/market.js';
import type { OrderRequest } from '../../src/vocabulary/orders.js';

export const MAX_VALUE = 1e15;
const MAX_EPOCH = 8.64e15;
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,31}$/;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A SCREAMING_SNAKE code from the published list. */
export function isRejectionCode(code: string): code is RejectionCode {
  return /^[A-Z]+(_[A-Z]+)*$/.test(code) && (REJECTION_CODES as readonly string[]).includes(code);
}

/** What a naive check decided about one record. */
export type Verdict<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: RejectionCode };

const bad = (code: RejectionCode): { ok: false; code: RejectionCode } => ({ ok: false, code });

/** Thrown inside a naive check to end it with a code. */
class Refused extends Error {
  constructor(readonly code: RejectionCode) {
    super(code);
  }
}

/** Runs `body`; a Refused becomes its code, anything else thrown (a hostile getter) MALFORMED_RECORD. */
function naively<T>(body: () => T): Verdict<T> {
  try {
    return { ok: true, value: body() };
  } catch (e) {
    return bad(e instanceof Refused ? e.code : 'MALFORMED_RECORD');
  }
}

function object(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Refused('MALFORMED_RECORD');
  return raw as Record<string, unknown>;
}

function timestampOf(v: unknown): number {
  if (v === undefined) throw new Refused('MISSING_FIELD');
  let ms: number | undefined;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string' && /^\d{1,16}$/.test(v.trim())) ms = Number(v.trim());
  else if (typeof v === 'string' && ISO_MS.test(v)) ms = Date.parse(v);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > MAX_EPOCH) throw new Refused('INVALID_TIMESTAMP');
  return ms;
}

function symbolOf(v: unknown): string {
  if (v === undefined) throw new Refused('MISSING_FIELD');
  if (typeof v !== 'string') throw new Refused('MALFORMED_RECORD');
  if (!SYMBOL.test(v)) throw new Refused('INVALID_SYMBOL');
  return v;
}

function price(v: unknown): number {
  if (v === undefined) throw new Refused('MISSING_FIELD');
  if (typeof v !== 'number') throw new Refused('MALFORMED_RECORD');
  if (Number.isNaN(v) || v === Infinity || v === -Infinity) throw new Refused('NON_FINITE_VALUE');
  if (v <= 0) throw new Refused('NON_POSITIVE_PRICE');
  if (v > MAX_VALUE) throw new Refused('VALUE_OUT_OF_RANGE');
  return v;
}

function volumeOf(v: unknown): number {
  if (v === undefined) throw new Refused('MISSING_FIELD');
  if (typeof v !== 'number') throw new Refused('MALFORMED_RECORD');
  if (Number.isNaN(v) || v === Infinity || v === -Infinity) throw new Refused('NON_FINITE_VALUE');
  if (v < 0) throw new Refused('NEGATIVE_VOLUME');
  if (v > MAX_VALUE) throw new Refused('VALUE_OUT_OF_RANGE');
  return v;
}

function quantityOf(v: unknown): number {
  if (v === undefined) throw new Refused('MISSING_FIELD');
  if (typeof v !== 'number' || !(v > 0) || v === Infinity) throw new Refused('INVALID_QUANTITY');
  if (v > MAX_VALUE) throw new Refused('VALUE_OUT_OF_RANGE');
  return v;
}

function idOf(v: unknown): string {
  if (v === undefined) throw new Refused('MISSING_FIELD');
  if (typeof v !== 'string' || v === '' || v.length > 64) throw new Refused('MALFORMED_RECORD');
  return v;
}

function oneOf<T extends string>(
  v: unknown,
  allowed: readonly T[],
  code: 'INVALID_SIDE' | 'INVALID_TYPE' | 'INVALID_INTENT' = 'INVALID_SIDE',
): T {
  if (v === undefined) throw new Refused('MISSING_FIELD');
  if (!allowed.some((a) => a === v)) throw new Refused(code);
  return v as T;
}

/**
 * A bar, by the README's rules (per-symbol time order and limits are the caller's). A bar is
 * read whole before it is checked, so one that cannot be read (a throwing getter on any field)
 * is MALFORMED_RECORD whatever else is wrong with it. Fills, positions and orders are read
 * field by field: the first bad field decides.
 */
export function naiveBar(raw: unknown): Verdict<Bar> {
  return naively(() => {
    const r = object(raw);
    const read = ['symbol', 'timestamp', 'open', 'high', 'low', 'close', 'volume'].map((k) => r[k]);
    const symbol = symbolOf(read[0]);
    const timestamp = timestampOf(read[1]);
    const open = price(read[2]);
    const high = price(read[3]);
    const low = price(read[4]);
    const close = price(read[5]);
    const volume = volumeOf(read[6]);
    if (low > open || low > close || open > high || close > high) throw new Refused('INCONSISTENT_OHLC');
    return { timestamp, symbol, open, high, low, close, volume };
  });
}

/** A fill. */
export function naiveFill(raw: unknown): Verdict<Fill> {
  return naively(() => {
    const r = object(raw);
    const fillId = idOf(r['fillId']);
    const orderId = idOf(r['orderId']);
    const symbol = symbolOf(r['symbol']);
    const side = oneOf(r['side'], ['BUY', 'SELL'] as const);
    const quantity = quantityOf(r['quantity']);
    const p = price(r['price']);
    const timestamp = timestampOf(r['timestamp']);
    return { fillId, orderId, symbol, side, quantity, price: p, timestamp };
  });
}

/** A position. */
export function naivePosition(raw: unknown): Verdict<Position> {
  return naively(() => {
    const r = object(raw);
    const symbol = symbolOf(r['symbol']);
    const side = oneOf(r['side'], ['LONG', 'SHORT'] as const);
    const quantity = quantityOf(r['quantity']);
    const entryPrice = price(r['entryPrice']);
    const openedAt = timestampOf(r['openedAt']);
    return { symbol, side, quantity, entryPrice, openedAt };
  });
}

/** A snapshot: its own fields, then each position (kept, or rejected with a code). */
export function naiveSnapshot(
  raw: unknown,
  maxPositions: number,
): Verdict<{ snapshot: PortfolioSnapshot; rejected: RejectionCode[] }> {
  return naively(() => {
    const r = object(raw);
    const timestamp = timestampOf(r['timestamp']);
    const equity = price(r['equity']);
    const list = r['positions'];
    if (list === undefined) throw new Refused('MISSING_FIELD');
    if (!Array.isArray(list)) throw new Refused('MALFORMED_RECORD');
    const positions: Position[] = [];
    const rejected: RejectionCode[] = [];
    for (const item of list as unknown[]) {
      const p = naivePosition(item);
      if (!p.ok) rejected.push(p.code);
      else if (positions.some((q) => q.symbol === p.value.symbol)) rejected.push('DUPLICATE_POSITION');
      else if (positions.length >= maxPositions) rejected.push('POSITION_LIMIT');
      else positions.push(p.value);
    }
    return { snapshot: { timestamp, equity, positions }, rejected };
  });
}

/** An order. */
export function naiveOrder(raw: unknown): Verdict<OrderRequest> {
  return naively(() => {
    const r = object(raw);
    const clientOrderId = idOf(r['clientOrderId']);
    const symbol = symbolOf(r['symbol']);
    const side = oneOf(r['side'], ['BUY', 'SELL'] as const);
    const quantity = quantityOf(r['quantity']);
    const type = oneOf(r['type'], ['MARKET', 'LIMIT', 'STOP'] as const, 'INVALID_TYPE');
    const intent = oneOf(r['intent'], ['ENTRY', 'EXIT', 'PROTECTIVE'] as const, 'INVALID_INTENT');
    const given = r['price'];
    const p = type !== 'MARKET' || given !== undefined ? price(given) : undefined;
    const reduceOnly = r['reduceOnly'];
    if (reduceOnly !== undefined && reduceOnly !== true && reduceOnly !== false) throw new Refused('MALFORMED_RECORD');
    return {
      clientOrderId,
      symbol,
      side,
      quantity,
      type,
      intent,
      ...(p === undefined ? {} : { price: p }),
      ...(reduceOnly === undefined ? {} : { reduceOnly }),
    };
  });
}

/** Counts codes into a plain map, as `stats().rejections` reports them. */
export class Tally {
  readonly counts: Partial<Record<RejectionCode, number>> = {};
  add(code: RejectionCode): void {
    this.counts[code] = (this.counts[code] ?? 0) + 1;
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

/** Sum of a rejections map. */
export function sum(map: Readonly<Partial<Record<string, number>>>): number {
  return Object.values(map).reduce<number>((a, b) => a + (b ?? 0), 0);
}

// --- Hostile values and wrappers ----------------------------------------------------------

/** Values that are wrong for a numeric field, each in its own way. */
export const hostileNumbers: readonly unknown[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1,
  -0,
  0,
  -1e300,
  1e16,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  '100',
  '',
  ' 1e2 ',
  null,
  true,
  {},
  [100],
  BigInt(100),
  Symbol('price'),
  new Number(100),
  { valueOf: () => 100 },
  undefined,
];

/** Symbols that are wrong (or valid but odd: `constructor`, 32 characters). */
export const oddSymbols: readonly unknown[] = [
  '',
  ' AAA',
  'AAA ',
  'A B',
  'ÄPFEL',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '\u0000',
  'A\nB',
  '💥',
  '../../etc/passwd',
  'x'.repeat(32),
  'x'.repeat(33),
  'Y'.repeat(100_000),
  'A'.repeat(31) + '\u{1F600}',
  5,
  null,
  ['AAA'],
  { toString: () => 'AAA' },
  Symbol('AAA'),
  undefined,
];

/** Timestamps that are wrong, or right in an unusual form. */
export const oddTimestamps: readonly unknown[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -1,
  8.64e15 + 1,
  1e300,
  'yesterday',
  '',
  '2026-13-45T99:99:99.000Z',
  '１２３',
  true,
  null,
  {},
  new Date(0),
  undefined,
];

/** Why a thrown getter or trap is thrown: never a BulwarkError, so a leak is visible. */
export class HostileError extends Error {
  override readonly name = 'HostileError';
}

/** How a record is presented to the plugin. */
export type Wrapping =
  | 'plain'
  | 'frozen'
  | 'proxy'
  | 'nullProto'
  | 'inherited'
  | 'jsonProto'
  | 'getters'
  | 'extraKeys'
  | 'classInstance'
  | 'throwingGetter'
  | 'throwingProxy'
  | 'revokedProxy'
  | 'array'
  | 'primitive';

export const wrappings: readonly Wrapping[] = [
  'plain',
  'frozen',
  'proxy',
  'nullProto',
  'inherited',
  'jsonProto',
  'getters',
  'extraKeys',
  'classInstance',
  'throwingGetter',
  'throwingProxy',
  'revokedProxy',
  'array',
  'primitive',
];

class Record_ {
  constructor(fields: Record<string, unknown>) {
    Object.assign(this, fields);
  }
}

/**
 * `fields` presented as `how`. Those that keep their content (plain … classInstance) read the
 * same as the plain object; the rest cannot be read as a record (malformed). `pick` chooses a
 * field (throwing getter) or a primitive, from the arbitrary's draw.
 */
export function wrap(fields: Record<string, unknown>, how: Wrapping, pick: number): unknown {
  const keys = Object.keys(fields);
  const key = keys[pick % Math.max(keys.length, 1)] ?? 'symbol';
  switch (how) {
    case 'plain':
      return { ...fields };
    case 'frozen':
      return Object.freeze({ ...fields });
    case 'proxy':
      return new Proxy({ ...fields }, {});
    case 'nullProto':
      return Object.assign(Object.create(null) as object, fields);
    case 'inherited':
      return Object.create({ ...fields }) as object; // every field read through the prototype
    case 'jsonProto': {
      // An own "__proto__" key (as JSON.parse makes it): data, not a prototype change.
      const o = JSON.parse('{"__proto__":{"close":-1,"symbol":"EVIL","polluted":true}}') as Record<string, unknown>;
      return Object.assign(o, fields);
    }
    case 'getters': {
      const o: Record<string, unknown> = {};
      for (const k of keys) Object.defineProperty(o, k, { get: () => fields[k], enumerable: true });
      return o;
    }
    case 'extraKeys':
      return { constructor: 'x', toString: 5, [Symbol('s')]: 1, extra: { deep: [1, 2, 3] }, ...fields };
    case 'classInstance':
      return new Record_(fields);
    case 'throwingGetter': {
      const o: Record<string, unknown> = { ...fields };
      Object.defineProperty(o, key, {
        get() {
          throw new HostileError(`getter ${key}`);
        },
        enumerable: true,
      });
      return o;
    }
    case 'throwingProxy':
      return new Proxy(
        { ...fields },
        {
          get(target, p) {
            if (p === key) throw new HostileError(`trap ${String(p)}`);
            return Reflect.get(target, p);
          },
        },
      );
    case 'revokedProxy': {
      const { proxy, revoke } = Proxy.revocable({ ...fields }, {});
      revoke();
      return proxy;
    }
    case 'array':
      return Object.values(fields);
    case 'primitive':
      return [null, undefined, 0, 42, 'bar', true, Symbol('bar'), BigInt(1)][pick % 8];
  }
}

/** A hostile change to one field (or its removal), chosen by the arbitrary. */
export interface FieldMutation {
  readonly field: string;
  readonly value: unknown;
  readonly remove: boolean;
}

/** One of `fields` set to a value from `values`, or removed. */
export function fieldMutation(fields: readonly string[], values: readonly unknown[]): fc.Arbitrary<FieldMutation> {
  return fc.record({
    field: fc.constantFrom(...fields),
    value: fc.constantFrom(...values),
    remove: fc.oneof({ arbitrary: fc.constant(true), weight: 1 }, { arbitrary: fc.constant(false), weight: 4 }),
  });
}

/** Applies a mutation to a plain copy. */
export function mutate(fields: Record<string, unknown>, m: FieldMutation | undefined): Record<string, unknown> {
  if (m === undefined) return fields;
  const copy = { ...fields };
  if (m.remove) delete copy[m.field];
  else copy[m.field] = m.value;
  return copy;
}
