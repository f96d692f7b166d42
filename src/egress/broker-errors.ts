/**
 * What the egress does with a broker error, from the protocol's error table
 * (`shared/docs/broker-protocol.md`):
 * - `REJECT`: the order itself is bad; never retried; dead-lettered.
 * - `DUPLICATE`: the client id was already used; ask `order.status` and adopt that order.
 * - `QUERY_STATUS`: a cancel/amend was refused (unknown or final order); ask its status.
 * - `RELOGON`: not logged on / bad signature; log on again, never retry blindly.
 * - `RATE_LIMITED`: 429; everyone waits until `retryAfter`, then this request is retried.
 * - `BANNED`: 418; everyone stops until `retryAfter`.
 * - `IN_DOUBT`: -1007, the execution status is unknown; `order.status` first, retry with the
 *   same client id only if the broker never saw the order.
 * - `RETRY`: -1008, busy and not executed; retry with backoff.
 * - `NOT_FOUND`: the order does not exist (-2013), the answer to a status query.
 */
export type BrokerErrorAction =
  'REJECT' | 'DUPLICATE' | 'QUERY_STATUS' | 'RELOGON' | 'RATE_LIMITED' | 'BANNED' | 'IN_DOUBT' | 'RETRY' | 'NOT_FOUND';

/**
 * The action for a broker error response. Unknown codes are treated by status: 5xx as
 * `IN_DOUBT` (safe: ask before resending), 4xx as `REJECT`.
 *
 * @example
 * ```ts
 * classifyBrokerError(503, -1007); // 'IN_DOUBT'
 * classifyBrokerError(429, -1015); // 'RATE_LIMITED'
 * ```
 */
export function classifyBrokerError(status: number, code: number, msg = ''): BrokerErrorAction {
  switch (code) {
    case -1013:
    case -1100:
      return 'REJECT';
    case -2010:
      return /duplicate/i.test(msg) ? 'DUPLICATE' : 'REJECT';
    case -2011:
      return 'QUERY_STATUS';
    case -2013:
      return 'NOT_FOUND';
    case -1002:
    case -1022:
      return 'RELOGON';
    case -1015:
      return 'RATE_LIMITED';
    case -1003:
      return 'BANNED';
    case -1007:
      return 'IN_DOUBT';
    case -1008:
      return 'RETRY';
    default:
      if (status === 429) return 'RATE_LIMITED';
      if (status === 418) return 'BANNED';
      if (status === 401) return 'RELOGON';
      return status >= 500 ? 'IN_DOUBT' : 'REJECT';
  }
}

/** True for the actions a retry policy may retry (after the limiter or a status query). */
export function isRetryable(action: BrokerErrorAction): boolean {
  return action === 'RETRY' || action === 'RATE_LIMITED';
}
