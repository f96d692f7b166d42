/** A timer handle of a {@link Clock}. */
export type TimerHandle = { readonly id: number } | ReturnType<typeof setTimeout>;

/**
 * Time as the order path sees it: `now()` in epoch ms and one-shot timers. The system clock
 * in production; a {@link VirtualClock} in a replay, so that the broker, the rate limiter,
 * timeouts and the plugin all run on the replay's time.
 */
export interface Clock {
  /** Current time in epoch ms. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now; returns the handle that cancels it. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels the timer of `handle`; does nothing for `undefined` or a timer that already fired. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** Wall-clock time and Node's timers (read through the globals, so fake timers apply). */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle | undefined) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
});

interface VirtualTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to: `advanceTo(t)` fires the timers due up to `t` in
 * time order (ties in creation order), setting `now()` to each one's time as it fires. A
 * replay drives it bar by bar, so the same data gives the same outcome every run.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock(Date.parse('2026-03-02T14:30:00Z'));
 * clock.setTimeout(() => console.log(clock.now()), 1_000);
 * clock.advanceTo(clock.now() + 5_000); // prints …14:30:01
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, VirtualTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  /** Current virtual time in epoch ms; it moves only through `advanceTo` and `fireNext`. */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `fn` at `now() + ms`; a negative or non-finite `ms` counts as 0. Nothing fires until
   * the clock is advanced.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { id: this.#next++, at: this.#now + Math.max(0, Number.isFinite(ms) ? ms : 0), fn };
    this.#timers.set(timer.id, timer);
    return { id: timer.id };
  }

  /** Cancels the timer that `handle` names by its id; `undefined`, fired timers and Node's handles are ignored. */
  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle !== undefined && 'id' in handle && typeof handle.id === 'number') this.#timers.delete(handle.id);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** When the next timer is due; undefined when none waits. */
  nextDue(): number | undefined {
    return this.#earliest()?.at;
  }

  /**
   * Fires the earliest timer if it is due at or before `limit` (now set to its time, never
   * backwards); true when one fired.
   */
  fireNext(limit: number): boolean {
    const best = this.#earliest();
    if (best === undefined || best.at > limit) return false;
    this.#timers.delete(best.id);
    if (best.at > this.#now) this.#now = best.at;
    best.fn();
    return true;
  }

  /** The timer due first (ties: the one set first). */
  #earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.#timers.values())
      if (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  }

  /** Fires every timer due up to `t` (synchronously, in order), then sets now to `t` (never backwards). */
  advanceTo(t: number): void {
    while (this.fireNext(t));
    if (t > this.#now) this.#now = t;
  }
}
