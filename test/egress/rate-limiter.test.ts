import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { isBulwarkError } from '../../src/index.js';

afterEach(() => vi.useRealTimers());

describe('SlidingWindowRateLimiter', () => {
  it('admits ⌊limit·safety⌋ at once, then each next request when the oldest leaves the window', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new SlidingWindowRateLimiter({ limit: 10, safety: 0.5, jitterMs: 0 });
    expect(limiter.capacity).toBe(5);
    const admitted: number[] = [];
    const all = Array.from({ length: 7 }, () => limiter.acquire().then(() => admitted.push(Date.now())));
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted).toEqual([0, 0, 0, 0, 0]);
    await vi.advanceTimersByTimeAsync(999);
    expect(admitted).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(all);
    expect(admitted).toEqual([0, 0, 0, 0, 0, 1000, 1000]);
  });

  it('spaces the (capacity+1)-th request a window plus the wire’s jitter after the first: two requests written a window apart can arrive closer (default jitter 20 ms)', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new SlidingWindowRateLimiter({ limit: 2, safety: 1 });
    const admitted: number[] = [];
    const all = Array.from({ length: 3 }, () => limiter.acquire().then(() => admitted.push(Date.now())));
    await vi.advanceTimersByTimeAsync(1_019);
    expect(admitted).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(all);
    expect(admitted).toEqual([0, 0, 1_020]);
  });

  it('never admits more than capacity in any window, whatever the arrival pattern (property, fake timers)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 12 }),
        async (arrivals, limit) => {
          vi.useFakeTimers({ now: 0 });
          const limiter = new SlidingWindowRateLimiter({ limit, safety: 1 });
          const admitted: number[] = [];
          const sorted = [...arrivals].sort((a, b) => a - b);
          const done: Promise<void>[] = [];
          for (const at of sorted) {
            await vi.advanceTimersByTimeAsync(at - Date.now());
            done.push(limiter.acquire().then(() => void admitted.push(Date.now())));
          }
          await vi.advanceTimersByTimeAsync(10 * 1_000 + (arrivals.length / limit) * 1_000);
          await Promise.all(done);
          vi.useRealTimers();
          expect(admitted).toHaveLength(arrivals.length);
          for (let i = limit; i < admitted.length; i++) {
            expect((admitted[i] as number) - (admitted[i - limit] as number)).toBeGreaterThanOrEqual(1_000);
          }
        },
      ),
      { seed: 11, numRuns: 150 },
    );
  });

  it('serves waiters first come, first served, and tryAcquire does not jump the queue', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new SlidingWindowRateLimiter({ limit: 1, safety: 1, jitterMs: 0 });
    const order: string[] = [];
    await limiter.acquire();
    const a = limiter.acquire().then(() => order.push('a'));
    const b = limiter.acquire().then(() => order.push('b'));
    expect(limiter.tryAcquire()).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
  });

  it('pauseUntil (a 429’s retryAfter) holds everyone until then and is never shortened', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new SlidingWindowRateLimiter({ limit: 100 });
    limiter.pauseUntil(5_000);
    limiter.pauseUntil(2_000);
    let at = -1;
    const p = limiter.acquire().then(() => (at = Date.now()));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(at).toBe(-1);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(at).toBe(5_000);
  });

  it('refuses bad options with one coded error', () => {
    try {
      new SlidingWindowRateLimiter({ limit: 0, windowMs: -1, safety: 2 });
      expect.unreachable();
    } catch (e) {
      expect(isBulwarkError(e, 'INVALID_OPTION')).toBe(true);
      expect((e as { details: { problems: string[] } }).details.problems).toHaveLength(3);
    }
  });
});

describe('SlidingWindowRateLimiter with several windows (a venue that announces orders per 10 s and per day)', () => {
  /** Independent check: the most admitted in any half-open interval (t − windowMs, t] ending at an admission. */
  const mostInAnyWindow = (times: readonly number[], windowMs: number): number => {
    let most = 0;
    for (const t of times) most = Math.max(most, times.filter((u) => u > t - windowMs && u <= t).length);
    return most;
  };

  it('never admits more than ⌊limit·safety⌋ in any window of any of them, and admits when all have room (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }), // per second
        fc.integer({ min: 1, max: 20 }), // per 10 s
        fc.integer({ min: 1, max: 40 }), // per minute
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 200 }), // gaps between attempts (ms)
        (perSecond, per10s, perMinute, gaps) => {
          let now = 0;
          const limiter = new SlidingWindowRateLimiter({
            limit: perSecond,
            windowMs: 1_000,
            safety: 1,
            jitterMs: 0,
            now: () => now,
            windows: [
              { limit: per10s, windowMs: 10_000 },
              { limit: perMinute, windowMs: 60_000 },
            ],
          });
          const admitted: number[] = [];
          for (const gap of gaps) {
            now += gap;
            const room = [
              [perSecond, 1_000],
              [per10s, 10_000],
              [perMinute, 60_000],
            ].every(([limit = 0, ms = 0]) => admitted.filter((u) => u > now - ms).length < limit);
            const ok = limiter.tryAcquire();
            expect(ok).toBe(room); // admits exactly when every window has room (safety 1, no jitter)
            if (ok) admitted.push(now);
          }
          expect(mostInAnyWindow(admitted, 1_000)).toBeLessThanOrEqual(perSecond);
          expect(mostInAnyWindow(admitted, 10_000)).toBeLessThanOrEqual(per10s);
          expect(mostInAnyWindow(admitted, 60_000)).toBeLessThanOrEqual(perMinute);
        },
      ),
      { seed: 1402, numRuns: 300 },
    );
  });

  it('a waiter is released when the last of the windows frees, on fake timers', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new SlidingWindowRateLimiter({
      limit: 10,
      windowMs: 1_000,
      safety: 1,
      jitterMs: 0,
      windows: [{ limit: 2, windowMs: 10_000 }],
    });
    await limiter.acquire();
    await limiter.acquire();
    let third = false;
    void limiter.acquire().then(() => (third = true));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(third).toBe(false); // the per-second window has room, the 10 s one does not
    await vi.advanceTimersByTimeAsync(1);
    expect(third).toBe(true);
    limiter.dispose();
  });

  it('refuses more than 8 windows, a window over the limit, and bad window values, every problem at once', () => {
    const many = Array.from({ length: 8 }, () => ({ limit: 1, windowMs: 1_000 }));
    expect(() => new SlidingWindowRateLimiter({ limit: 1, windows: many })).toThrow(/at most 8 windows/);
    let caught: unknown;
    try {
      new SlidingWindowRateLimiter({
        limit: 1,
        windows: [
          { limit: 2_000_000, windowMs: 1_000 },
          { limit: 0, windowMs: -1 },
        ],
      });
    } catch (e) {
      caught = e;
    }
    expect(isBulwarkError(caught, 'INVALID_OPTION')).toBe(true);
    expect((caught as { details: { problems: string[] } }).details.problems).toEqual([
      'windows[0].limit must be at most 1000000, got 2000000',
      expect.stringMatching(/^windows\[1\]\.limit must be a positive integer/),
      expect.stringMatching(/^windows\[1\]\.windowMs must be a positive integer/),
    ]);
  });
});
