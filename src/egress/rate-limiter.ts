import { BulwarkError } from '../errors.js';
import { positiveIntegerProblem } from '../util/option-checks.js';
import { SYSTEM_CLOCK, type Clock, type TimerHandle } from '../util/clock.js';
import { f64At } from '../util/indexed.js';

/** Options of {@link SlidingWindowRateLimiter}. */
export interface RateLimiterOptions {
  /** Requests the broker allows in any window (from logon's `rateLimits`). */
  readonly limit: number;
  /** Window length in ms. Default 1000. */
  readonly windowMs?: number;
  /**
   * Added to the window when spacing requests (ms): the broker counts on receipt, and two
   * requests written exactly `windowMs` apart can arrive less than that apart when the first
   * took longer on the wire. Set it above the variation of the one-way latency (loopback and
   * a LAN: a few ms; raise it over a WAN). Default 20.
   */
  readonly jitterMs?: number;
  /** Fraction of `limit` used, for a safety margin. Default 0.9 (at least 1 request). */
  readonly safety?: number;
  /** Clock in epoch ms. Default: `clock`'s. */
  readonly now?: () => number;
  /** Time and timers (a replay's virtual clock). Default the system clock. */
  readonly clock?: Clock;
  /**
   * Further windows the venue announces, all honoured at once (e.g. Binance: orders per
   * 10 s and per day beside the per-second limit). Each admits at most ⌊limit·safety⌋ in any
   * of its windows; at most {@link MAX_RATE_WINDOWS} windows of at most
   * {@link MAX_WINDOW_LIMIT} requests each (one timestamp per admitted request is kept).
   */
  readonly windows?: readonly { readonly limit: number; readonly windowMs: number }[];
}

/** Windows a limiter honours at most (the main one and `windows`). */
export const MAX_RATE_WINDOWS = 8;
/** The largest limit of one window: its timestamps are kept (8 bytes each). */
export const MAX_WINDOW_LIMIT = 1_000_000;

/** One sliding window: the times of the last `capacity` admitted requests. */
class Window {
  readonly #stamps: Float64Array;
  #head = 0;
  #count = 0;

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    /** The window plus the wire's jitter: how far apart the first and the (capacity+1)-th request are written. */
    readonly spacing: number,
  ) {
    this.#stamps = new Float64Array(capacity);
  }

  /** Ms until this window has a free slot. */
  delay(now: number): number {
    if (this.#count < this.capacity) return 0;
    return Math.max(0, f64At(this.#stamps, this.#head) + this.spacing - now);
  }

  record(now: number): void {
    const i = (this.#head + this.#count) % this.capacity;
    if (this.#count < this.capacity) {
      this.#stamps[i] = now;
      this.#count++;
    } else {
      this.#stamps[this.#head] = now; // the oldest has left the window
      this.#head = (this.#head + 1) % this.capacity;
    }
  }

  inWindow(now: number): number {
    let n = 0;
    for (let k = 0; k < this.#count; k++)
      if (f64At(this.#stamps, (this.#head + k) % this.capacity) > now - this.windowMs) n++;
    return n;
  }
}

/**
 * Admits at most ⌊limit·safety⌋ requests in ANY window of `windowMs` — a true sliding window
 * over the times of the last admitted requests, so no burst at a window edge can exceed the
 * broker's limit (a fixed-window counter can let through twice the limit across an edge).
 * Waiters are served first come, first served, urgent ones (protective orders) before the
 * rest. A slot is recorded at the moment it is granted, so the caller must send in the same
 * synchronous step (nothing awaited between the grant and the write to the socket): then the
 * limiter's times are the broker's receive times, give or take the wire. `pauseUntil` (a
 * 429's or 418's `retryAfter`, or one window after a restart, since the broker remembers the
 * previous process's requests) stops everyone until then. Memory is one slot per admitted
 * request in the window.
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
  /** The main window's length (ms). */
  readonly windowMs: number;
  readonly #now: () => number;
  /** The main window first, then the further ones. */
  readonly #windows: readonly Window[];
  #pausedUntil = Number.NEGATIVE_INFINITY;
  readonly #waiters: Array<() => void> = [];
  readonly #urgent: Array<() => void> = [];
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;

  constructor(options: RateLimiterOptions) {
    const { limit, windowMs = 1_000, safety = 0.9, clock = SYSTEM_CLOCK, jitterMs = 20 } = options;
    const now = options.now ?? (() => clock.now());
    const problems: string[] = [];
    for (const p of [positiveIntegerProblem('limit', limit), positiveIntegerProblem('windowMs', windowMs)])
      if (p !== undefined) problems.push(p);
    if (!(typeof jitterMs === 'number' && jitterMs >= 0 && jitterMs <= 60_000))
      problems.push(`jitterMs must be in [0, 60000], got ${String(jitterMs)}`);
    if (!(safety > 0 && safety <= 1)) problems.push(`safety must be in (0, 1], got ${String(safety)}`);
    const all = [{ limit, windowMs }, ...(options.windows ?? [])];
    if (all.length > MAX_RATE_WINDOWS) problems.push(`at most ${MAX_RATE_WINDOWS} windows, got ${all.length}`);
    all.forEach((w, i) => {
      const name = i === 0 ? '' : `windows[${i - 1}].`;
      for (const p of [
        positiveIntegerProblem(`${name}limit`, w.limit),
        positiveIntegerProblem(`${name}windowMs`, w.windowMs),
      ])
        if (p !== undefined && i > 0) problems.push(p);
      if (w.limit > MAX_WINDOW_LIMIT) problems.push(`${name}limit must be at most ${MAX_WINDOW_LIMIT}, got ${w.limit}`);
    });
    if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
    this.#windows = all.map(
      (w) => new Window(Math.max(1, Math.floor(w.limit * safety)), w.windowMs, w.windowMs + jitterMs),
    );
    this.capacity = Math.max(1, Math.floor(limit * safety));
    this.windowMs = windowMs;
    this.#now = now;
    this.#clock = clock;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length + this.#urgent.length;
  }

  /** Stops admitting anyone before `epochMs` (a 429/418 `retryAfter`); never shortens a pause. */
  pauseUntil(epochMs: number): void {
    if (epochMs > this.#pausedUntil) this.#pausedUntil = epochMs;
    this.#schedule();
  }

  /** Admits now if a slot is free and nobody (no urgent waiter, for an urgent request) is waiting; else false. */
  tryAcquire(urgent = false): boolean {
    if (this.#urgent.length > 0 || (!urgent && this.#waiters.length > 0) || this.#delay(this.#now()) > 0) return false;
    this.#record(this.#now());
    return true;
  }

  /**
   * Resolves when this request may be sent, the slot recorded at that moment: send before
   * awaiting anything else. Urgent requests (protective orders) are served before the others.
   */
  acquire(urgent = false): Promise<void> {
    if (this.tryAcquire(urgent)) return Promise.resolve();
    return new Promise((resolve) => {
      (urgent ? this.#urgent : this.#waiters).push(resolve);
      this.#schedule();
    });
  }

  /**
   * Runs `send` at the moment a slot is granted, synchronously in the same step, so that the
   * slot's time is the time the request is written (not the time a waiter was woken). `send`
   * must write before its first await. Urgent requests are served first.
   *
   * @example
   * ```ts
   * const answer = await limiter.run(() => client.request('order.place', params), true);
   * ```
   */
  run<T>(send: () => Promise<T>, urgent = false): Promise<T> {
    const call = (): Promise<T> => {
      try {
        return send();
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new BulwarkError('SEND_FAILED', String(e), { thrown: e }));
      }
    };
    if (this.tryAcquire(urgent)) return call();
    return new Promise<T>((resolve, reject) => {
      (urgent ? this.#urgent : this.#waiters).push(() => void call().then(resolve, reject));
      this.#schedule();
    });
  }

  /** Requests sent in the last window (by this limiter's record). */
  get inWindow(): number {
    return this.#windows[0]?.inWindow(this.#now()) ?? 0;
  }

  /** Stops every timer; waiters are left waiting (nothing is sent after dispose). */
  dispose(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#urgent.length = 0;
    this.#waiters.length = 0;
  }

  /** Ms until a slot frees (0: one is free now). */
  #delay(now: number): number {
    let wait = Math.max(0, this.#pausedUntil - now);
    for (const w of this.#windows) wait = Math.max(wait, w.delay(now));
    return wait;
  }

  #record(now: number): void {
    for (const w of this.#windows) w.record(now);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.waiting === 0) return;
    const wait = this.#delay(this.#now());
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#release();
    }, wait);
  }

  #release(): void {
    while (this.waiting > 0 && this.#delay(this.#now()) === 0) {
      this.#record(this.#now());
      const next = this.#urgent.shift() ?? this.#waiters.shift();
      next?.();
    }
    this.#schedule();
  }
}
