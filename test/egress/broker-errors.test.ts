import { describe, expect, it } from 'vitest';
import { classifyBrokerError, isRetryable } from '../../src/egress/broker-errors.js';

describe('broker error classification (the protocol’s table, row by row)', () => {
  it.each([
    [400, -1013, '', 'REJECT', false],
    [400, -1100, '', 'REJECT', false],
    [400, -2010, 'Duplicate order sent.', 'DUPLICATE', false],
    [400, -2010, 'Insufficient margin', 'REJECT', false],
    [400, -2011, '', 'QUERY_STATUS', false],
    [400, -2013, '', 'NOT_FOUND', false],
    [401, -1002, '', 'RELOGON', false],
    [401, -1022, '', 'RELOGON', false],
    [418, -1003, '', 'BANNED', false],
    [429, -1015, '', 'RATE_LIMITED', true],
    [503, -1007, '', 'IN_DOUBT', false],
    [500, -1007, '', 'IN_DOUBT', false],
    [503, -1008, '', 'RETRY', true],
    [502, -9999, '', 'IN_DOUBT', false],
    [400, -9999, '', 'REJECT', false],
  ] as const)('status %i code %i %s → %s', (status, code, msg, action, retryable) => {
    const a = classifyBrokerError(status, code, msg);
    expect(a).toBe(action);
    expect(isRetryable(a)).toBe(retryable);
  });
});
