import { afterEach, describe, expect, it, vi } from 'vitest';
import { BrokerRequestError, VenueGuard } from '../../src/egress/venue-guard.js';
import { isBulwarkError, type TradingState } from '../../src/index.js';

afterEach(() => vi.useRealTimers());

const busy = () => new BrokerRequestError('RETRY', 503, -1008, 'server busy');
const rejected = () => new BrokerRequestError('REJECT', 400, -1013, 'bad quantity');

/** A request that fails `failures` times with `error`, then succeeds; counts its attempts. */
function flaky(failures: number, error: () => Error) {
  let calls = 0;
  return {
    attempt: async () => {
      calls++;
      if (calls <= failures) throw error();
      return 'ok';
    },
    calls: () => calls,
  };
}

describe('VenueGuard', () => {
  it('retries a busy venue (-1008) with backoff until it answers', async () => {
    vi.useFakeTimers({ now: 0 });
    const venue = new VenueGuard({ maxAttempts: 4, initialDelayMs: 100, breakAfter: 10 });
    const r = flaky(2, busy);
    const result = venue.run(true, r.attempt);
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(result).resolves.toBe('ok');
    expect(r.calls()).toBe(3);
  });

  it('never retries a rejection (-1013)', async () => {
    vi.useFakeTimers({ now: 0 });
    const venue = new VenueGuard();
    const r = flaky(1, rejected);
    const result = venue.run(true, r.attempt);
    const settled = expect(result).rejects.toBeInstanceOf(BrokerRequestError);
    await vi.advanceTimersByTimeAsync(10_000);
    await settled;
    expect(r.calls()).toBe(1);
  });

  it('gives up after maxAttempts attempts in all', async () => {
    vi.useFakeTimers({ now: 0 });
    const venue = new VenueGuard({ maxAttempts: 3, breakAfter: 100 });
    const r = flaky(99, busy);
    const result = venue.run(true, r.attempt);
    const settled = expect(result).rejects.toBeInstanceOf(BrokerRequestError);
    await vi.advanceTimersByTimeAsync(60_000);
    await settled;
    expect(r.calls()).toBe(3);
  });

  it('opens after consecutive venue failures: REDUCING, non-protective refused at once, protective requests go out anyway and probe it closed again', async () => {
    vi.useFakeTimers({ now: 0 });
    const states: TradingState[] = [];
    const venue = new VenueGuard({
      maxAttempts: 1,
      breakAfter: 3,
      halfOpenAfterMs: 10_000,
      onStateChange: (s) => states.push(s),
    });
    for (let i = 0; i < 3; i++)
      await expect(venue.run(true, flaky(1, busy).attempt)).rejects.toBeInstanceOf(BrokerRequestError);
    expect(venue.state).toBe('REDUCING');
    expect(venue.circuit).toBe('OPEN');
    const normal = flaky(0, busy);
    const refused = await venue.run(false, normal.attempt).catch((e: unknown) => e);
    expect(isBulwarkError(refused, 'VENUE_REDUCING')).toBe(true);
    expect(normal.calls()).toBe(0);
    // Still open, but a protective request is never held back by it: it goes out directly.
    const direct = flaky(0, busy);
    await expect(venue.run(true, direct.attempt)).resolves.toBe('ok');
    expect(direct.calls()).toBe(1);
    expect(venue.circuit).toBe('OPEN'); // a request that bypassed it does not close it
    vi.setSystemTime(10_001);
    await expect(venue.run(true, flaky(0, busy).attempt)).resolves.toBe('ok'); // the half-open probe
    expect(venue.state).toBe('ACTIVE');
    expect(states).toEqual(['REDUCING', 'ACTIVE']);
    await expect(venue.run(false, flaky(0, busy).attempt)).resolves.toBe('ok');
  });

  it('rejections do not trip the breaker: a bad order is not a sick venue', async () => {
    vi.useFakeTimers({ now: 0 });
    const venue = new VenueGuard({ maxAttempts: 1, breakAfter: 2 });
    for (let i = 0; i < 5; i++)
      await expect(venue.run(false, flaky(1, rejected).attempt)).rejects.toBeInstanceOf(BrokerRequestError);
    expect(venue.state).toBe('ACTIVE');
  });
});
