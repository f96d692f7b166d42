import type { CommandResult } from '../vocabulary/orders.js';

/**
 * What a command's answer says about the broker's state:
 * - `OK`: done as asked (an order shown when the broker answered with one);
 * - `UNKNOWN`: it may or may not have happened (lost answer, -1007, a dropped connection): ask `order.status`;
 * - `RECHECK`: refused because the order is not what we thought (-2011, final, duplicate id): ask `order.status`;
 * - `NOT_SENT`: not executed and worth trying again later (busy, rate-limited, not connected, closed);
 * - `HARD`: refused for what it is (invalid price or quantity): sending it again unchanged will not help.
 */
export type ResultClass = 'OK' | 'UNKNOWN' | 'RECHECK' | 'NOT_SENT' | 'HARD';

const RECHECK: ReadonlySet<string> = new Set([
  '-2011',
  '-2010',
  '-2013',
  'ORDER_FINAL',
  'UNKNOWN_ORDER',
  'ORDER_CLOSED',
  'NOT_FOUND',
]);
const NOT_SENT: ReadonlySet<string> = new Set([
  '-1008',
  '-1015',
  '-1003',
  '-1002',
  '-1022',
  'RETRIES_EXHAUSTED',
  'VENUE_REDUCING',
  'EGRESS_CLOSED',
  'EGRESS_QUEUE_FULL',
  'NOT_CONNECTED',
  'CLIENT_CLOSED',
  'ORDER_LIMIT',
]);
const HARD: ReadonlySet<string> = new Set([
  '-1013',
  '-2014', // a venue's API key refused (format): not executed; the symbol says so until it is fixed
  '-2015', // a venue's API key, IP or permissions refused: likewise
  '-1100',
  'REJECTED',
  'INVALID_COMMAND',
  'NOT_A_STOP',
  'SYMBOL_MISMATCH',
  'DUPLICATE_CLIENT_ORDER_ID',
  'NO_POSITION',
]);

/**
 * Classifies a {@link CommandResult} by its code (the protocol's error codes as strings, or the
 * order path's own codes). A code not known here counts as UNKNOWN: asking the broker is
 * always safe, assuming is not.
 *
 * @example
 * ```ts
 * classifyResult({ ok: false, clientOrderId: 'x', code: '-1007', message: 'timeout' }); // 'UNKNOWN'
 * ```
 */
export function classifyResult(r: CommandResult): ResultClass {
  if (r.ok) return 'OK';
  if (RECHECK.has(r.code)) return 'RECHECK';
  if (NOT_SENT.has(r.code)) return 'NOT_SENT';
  if (HARD.has(r.code)) return 'HARD';
  return 'UNKNOWN';
}
