import { BulwarkError } from '../errors.js';
import type { Rejection } from '../validation/validated.js';
import type { Bar } from '../vocabulary/market.js';

/**
 * The bounded inbound queue for bars. While one batch is processed, newly delivered bars
 * wait here, at most `capacity` symbols, keeping only the latest bar of each symbol (an older
 * one is coalesced away and counted); a bar for a new symbol beyond capacity is refused with
 * `QUEUE_FULL`. Fills never pass through here: they are never dropped.
 *
 * @example
 * ```ts
 * const box = new BarMailbox(10_000);
 * if (!box.busy) await box.run(() => process(myBatch), (queued) => process(queued));
 * else await box.queue(copies, (r) => counter.add(r.code));
 * ```
 */
export class BarMailbox {
  readonly capacity: number;
  readonly #pending = new Map<string, Bar>();
  #running: Promise<void> | undefined;
  /** While {@link BarMailbox.runNow} runs its batch: what bars queued meanwhile are handed to. */
  #laterNow: ((batch: readonly Bar[]) => Promise<void>) | undefined;
  #coalesced = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bars replaced by a newer bar of the same symbol before they were processed. */
  get coalesced(): number {
    return this.#coalesced;
  }

  /** Bars waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** True while a batch is being processed (new bars would wait here). */
  get busy(): boolean {
    return this.#running !== undefined || this.#laterNow !== undefined;
  }

  /**
   * Whether a bar of `symbol` delivered now would find room, counting the symbols already
   * `planned` for the same delivery (and adding `symbol` to them when it would take a new
   * place). Lets a caller refuse a bar with QUEUE_FULL before recording anything about it.
   */
  admits(symbol: string, planned: Set<string>): boolean {
    if (!this.busy || this.#pending.has(symbol) || planned.has(symbol)) return true;
    if (this.#pending.size + planned.size >= this.capacity) return false;
    planned.add(symbol);
    return true;
  }

  /**
   * Starts processing while idle: runs `now` (the caller's own batch), then, batch by batch,
   * hands `later` the bars that were queued meanwhile ({@link BarMailbox.queue}). Resolves
   * when the mailbox is empty again.
   */
  run(now: () => Promise<void>, later: (batch: readonly Bar[]) => Promise<void>): Promise<void> {
    if (this.busy) throw new BulwarkError('INVALID_STATE', 'BarMailbox.run while busy: queue() the bars instead');
    this.#running = this.#drain(now, later);
    return this.#running;
  }

  /**
   * Runs `now` (a batch processed synchronously) at once while idle, busy meanwhile: bars
   * delivered during it — from a listener or a send it calls — are queued, not mixed into it,
   * and handed to `later` right after it (from a microtask). Returns undefined when none were;
   * else the promise of that, which their own deliveries resolve with too. Throws what `now`
   * throws (bars queued meanwhile are still processed).
   */
  runNow(now: () => void, later: (batch: readonly Bar[]) => Promise<void>): Promise<void> | undefined {
    if (this.busy) throw new BulwarkError('INVALID_STATE', 'BarMailbox.runNow while busy: queue() the bars instead');
    this.#laterNow = later;
    try {
      now();
    } finally {
      this.#laterNow = undefined;
    }
    return this.#running;
  }

  /**
   * While busy: queues `bars` (private copies: they are kept) behind the batch in progress,
   * the latest per symbol; a bar of a new symbol beyond capacity is refused (`reject`,
   * QUEUE_FULL). Resolves when they (or the bars that replaced them) have been processed.
   */
  queue(bars: readonly Bar[], reject: (r: Rejection) => void): Promise<void> {
    // During runNow the drain that will take these bars starts with the first of them: its
    // first step waits a microtask, so it runs once the synchronous batch has finished.
    const laterNow = this.#laterNow;
    const running =
      this.#running ??
      (laterNow === undefined ? undefined : (this.#running = this.#drain(() => Promise.resolve(), laterNow)));
    if (running === undefined)
      throw new BulwarkError('INVALID_STATE', 'BarMailbox.queue while idle: run() the batch instead');
    for (const bar of bars) {
      if (this.#pending.has(bar.symbol)) {
        this.#pending.set(bar.symbol, bar);
        this.#coalesced++;
      } else if (this.#pending.size >= this.capacity) {
        reject({ code: 'QUEUE_FULL', message: `inbound bar queue full (${this.capacity} symbols)`, field: 'symbol' });
      } else {
        this.#pending.set(bar.symbol, bar);
      }
    }
    return running;
  }

  async #drain(now: () => Promise<void>, later: (batch: readonly Bar[]) => Promise<void>): Promise<void> {
    try {
      await now();
      while (this.#pending.size > 0) {
        const next = [...this.#pending.values()];
        this.#pending.clear();
        await later(next);
      }
    } finally {
      this.#running = undefined;
    }
  }
}
