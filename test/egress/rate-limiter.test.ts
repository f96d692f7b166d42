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
