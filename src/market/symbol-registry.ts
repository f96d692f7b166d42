/**
 * Symbol → slot registry with a fixed capacity. Slots are handed out in registration order
 * and never reused, so every per-symbol column sized to the capacity is indexed by slot.
 * A new symbol beyond the capacity is refused (slot −1), never evicting another.
 *
 * @example
 * ```ts
 * const reg = new SymbolRegistry(2);
 * reg.register('AAPL'); // 0
 * reg.register('MSFT'); // 1
 * reg.register('TSLA'); // -1: full
 * reg.symbolAt(1);      // 'MSFT'
 * ```
 */
export class SymbolRegistry {
  /** Most symbols held. */
  readonly capacity: number;
  readonly #slots = new Map<string, number>();
  readonly #names: string[];

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#names = new Array<string>(capacity).fill('');
  }

  /** Symbols registered. */
  get size(): number {
    return this.#slots.size;
  }

  /** The slot of `symbol`, or −1 when it is not registered. */
  slotOf(symbol: string): number {
    return this.#slots.get(symbol) ?? -1;
  }

  /** The slot of `symbol`, registering it when new; −1 when new and the registry is full. */
  register(symbol: string): number {
    const slot = this.#slots.get(symbol);
    if (slot !== undefined) return slot;
    const next = this.#slots.size;
    if (next >= this.capacity) return -1;
    this.#slots.set(symbol, next);
    this.#names[next] = symbol;
    return next;
  }

  /** The symbol in `slot` ('' for a slot not yet used). */
  symbolAt(slot: number): string {
    return this.#names[slot] ?? '';
  }
}
