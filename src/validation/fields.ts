import { reject, type Validated } from './validated.js';

/** Bounds on individual input fields. */
export interface InputLimits {
  /** Longest symbol. Default 32. */
  readonly maxSymbolLength: number;
  /** Largest price accepted. Default 1e15. */
  readonly maxPrice: number;
  /** Largest quantity or volume accepted. Default 1e15. */
  readonly maxQuantity: number;
}

/** Defaults of {@link InputLimits}. */
export const DEFAULT_INPUT_LIMITS: InputLimits = Object.freeze({
  maxSymbolLength: 32,
  maxPrice: 1e15,
  maxQuantity: 1e15,
});

const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Largest epoch-ms timestamp accepted (the end of the ECMAScript date range). */
export const MAX_EPOCH_MS = 8.64e15;

/** True for 1..maxSymbolLength characters of [A-Za-z0-9._:/-], starting alphanumeric. */
export function isSymbol(v: string, limits: InputLimits): boolean {
  return v.length > 0 && v.length <= limits.maxSymbolLength && SYMBOL.test(v);
}

/** The record as a plain object, or undefined. */
export function asRecord(raw: unknown): Record<string, unknown> | undefined {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
}

/** A symbol: 1..maxSymbolLength characters of [A-Za-z0-9._:/-], starting alphanumeric. */
export function symbolField(
  rec: Record<string, unknown>,
  limits: InputLimits,
  field = 'symbol',
): Validated<never> | string {
  const v = rec[field];
  if (v === undefined) return reject('MISSING_FIELD', `${field} is missing`, field);
  if (typeof v !== 'string') return reject('MALFORMED_RECORD', `${field} must be a string`, field);
  if (!isSymbol(v, limits)) {
    return reject(
      'INVALID_SYMBOL',
      `${field} must be 1-${limits.maxSymbolLength} characters of [A-Za-z0-9._:/-]`,
      field,
    );
  }
  return v;
}

/** A finite number field (optionally > 0 and ≤ max). */
export function numberField(
  rec: Record<string, unknown>,
  field: string,
  opts: { positive?: boolean; nonNegative?: boolean; max?: number } = {},
): Validated<never> | number {
  const v = rec[field];
  if (v === undefined) return reject('MISSING_FIELD', `${field} is missing`, field);
  if (typeof v !== 'number') return reject('MALFORMED_RECORD', `${field} must be a number`, field);
  if (!Number.isFinite(v)) return reject('NON_FINITE_VALUE', `${field} must be finite`, field);
  if (opts.positive === true && !(v > 0)) return reject('NON_POSITIVE_PRICE', `${field} must be > 0`, field);
  if (opts.nonNegative === true && v < 0) return reject('NEGATIVE_VOLUME', `${field} must be ≥ 0`, field);
  if (opts.max !== undefined && v > opts.max)
    return reject('VALUE_OUT_OF_RANGE', `${field} must be ≤ ${opts.max}`, field);
  return v;
}

/**
 * Epoch ms from a finite number or an ISO-8601 string; undefined when neither.
 *
 * @example
 * ```ts
 * parseTimestamp('2026-03-02T14:30:00Z'); // 1772461800000
 * parseTimestamp('yesterday');            // undefined
 * ```
 */
export function parseTimestamp(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && v <= MAX_EPOCH_MS ? v : undefined;
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^\d{1,16}$/.test(s)) return parseTimestamp(Number(s));
    if (!ISO_8601.test(s)) return undefined;
    const ms = Date.parse(s);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

/** A timestamp field (epoch ms or ISO-8601). */
export function timestampField(rec: Record<string, unknown>, field = 'timestamp'): Validated<never> | number {
  const v = rec[field];
  if (v === undefined) return reject('MISSING_FIELD', `${field} is missing`, field);
  const ms = parseTimestamp(v);
  return ms === undefined ? reject('INVALID_TIMESTAMP', `${field} must be epoch ms or ISO-8601`, field) : ms;
}
