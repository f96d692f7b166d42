/**
 * Freezes `event` and hands it to every listener, each isolated: one that throws is skipped,
 * and neither the caller nor the other listeners notice. Returns the frozen event.
 *
 * @example
 * ```ts
 * notifyAll(this.#listeners, { kind: 'STATE_CHANGED', from, to });
 * ```
 */
export function notifyAll<E extends object>(listeners: Iterable<(event: E) => void>, event: E): Readonly<E> {
  const frozen = Object.freeze(event);
  for (const listener of listeners) {
    try {
      listener(frozen);
    } catch {
      // A failing subscriber must not break the sender or the other subscribers.
    }
  }
  return frozen;
}
