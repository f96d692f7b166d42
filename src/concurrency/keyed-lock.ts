import { Mutex } from 'async-mutex';

interface Entry {
  readonly mutex: Mutex;
  users: number;
}

/**
 * One async-mutex per key, created on first use and removed as soon as no caller holds or
 * waits for it, so the map holds only keys in use: after 10⁵ keys are each used once it is
 * empty. Work for one key is serialised; different keys never wait for each other (no global
 * lock on the update path, unlike the review's ISSUE-2968).
 *
 * @example
 * ```ts
 * const locks = new KeyedLock<string>();
 * await locks.run('AAPL', async () => updateStop('AAPL'));
 * ```
 */
export class KeyedLock<K> {
  readonly #entries = new Map<K, Entry>();

  /** Runs `fn` while holding `key`'s lock; resolves or rejects with its result. */
  async run<T>(key: K, fn: () => T | Promise<T>): Promise<T> {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { mutex: new Mutex(), users: 0 };
      this.#entries.set(key, entry);
    }
    entry.users++;
    try {
      return await entry.mutex.runExclusive(fn);
    } finally {
      entry.users--;
      if (entry.users === 0) this.#entries.delete(key);
    }
  }

  /** True while some caller holds or waits for `key`. */
  isLocked(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Keys currently held or awaited. */
  get size(): number {
    return this.#entries.size;
  }
}
