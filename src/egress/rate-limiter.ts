import { BulwarkError } from '../errors.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/** Options of {@link SlidingWindowRateLimiter}. */
export interface RateLimiterOptions {
  /** Requests the broker allows in any window (from logon's `rateLimits`). */
  readonly limit: number;
  /** Window length in ms. Default 1000. */
  readonly windowMs?: number;
  /** Fraction of `limit` used, for a safety margin. Default 0.9 (at least 1 request). */
  readonly safety?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Admits at most ⌊limit·safety⌋ requests in ANY window of `windowMs` — a true sliding window
 * over the times of the last admitted requests, so no burst at a window edge can exceed the
 * broker's limit (a fixed-window counter can let through twice the limit across an edge).
 * Waiters are served first come, first served. `pauseUntil` (a 429's or 418's `retryAfter`)
 * stops everyone until then. Memory is one slot per admitted request in the window.
 *
 * @example
 * ```ts
 * const limiter = new SlidingWindowRateLimiter({ limit: 50 });
 * await limiter.acquire(); // then send one order.place / amend / cancel
 * ```
 */
export class SlidingWindowRateLimiter {
  /** Requests admitted per window. */
  readonly capacity: number;
  readonly windowMs: number;
  readonly #now: () => number;
  readonly #stamps: Float64Array;
  #head = 0;
  #count = 0;
  #pausedUntil = Number.NEGATIVE_INFINITY;
  readonly #waiters: Array<() => void> = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: RateLimiterOptions) {
    const { limit, windowMs = 1_000, safety = 0.9, now = Date.now } = options;
    const problems: string[] = [];
    for (const p of [positiveIntegerProblem('limit', limit), positiveIntegerProblem('windowMs', windowMs)]) if (p !== undefined) problems.push(p);
    if (!(safety > 0 && safety <= 1)) problems.push(`safety must be in (0, 1], got ${String(safety)}`);
    if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
    this.capacity = Math.max(1, Math.floor(limit * safety));
    this.windowMs = windowMs;
    this.#now = now;
    this.#stamps = new Float64Array(this.capacity);
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Stops admitting anyone before `epochMs` (a 429/418 `retryAfter`); never shortens a pause. */
  pauseUntil(epochMs: number): void {
    if (epochMs > this.#pausedUntil) this.#pausedUntil = epochMs;
    this.#schedule();
  }

  /** Admits now if a slot is free and nobody is waiting; else false. */
  tryAcquire(): boolean {
    if (this.#waiters.length > 0 || this.#delay(this.#now()) > 0) return false;
    this.#record(this.#now());
    return true;
  }

  /** Resolves when this request may be sent. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#schedule();
    });
  }

  /** Ms until a slot frees (0: one is free now). */
  #delay(now: number): number {
    const paused = this.#pausedUntil - now;
    if (this.#count < this.capacity) return Math.max(0, paused);
    const oldest = this.#stamps[this.#head] as number;
    return Math.max(0, paused, oldest + this.windowMs - now);
  }

  #record(now: number): void {
    const i = (this.#head + this.#count) % this.capacity;
    if (this.#count < this.capacity) {
      this.#stamps[i] = now;
      this.#count++;
    } else {
      this.#stamps[this.#head] = now; // the oldest has left the window
      this.#head = (this.#head + 1) % this.capacity;
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waiters.length === 0) return;
    const wait = this.#delay(this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release();
    }, wait);
  }

  #release(): void {
    while (this.#waiters.length > 0 && this.#delay(this.#now()) === 0) {
      this.#record(this.#now());
      (this.#waiters.shift() as () => void)();
    }
    this.#schedule();
  }
}
