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

  /**
   * {@link SymbolRegistry.register} with a guess: when `hint` is the slot of `symbol` (a feed
   * that sends its symbols in the same order every batch makes last batch's slot a near-
   * certain guess), the answer costs an array read and a string compare instead of a hash
   * lookup in a large map.
   *
   * @example
   * ```ts
   * const slot = reg.registerHinted('AAPL', lastSlotAtThisPosition);
   * ```
   */
  registerHinted(symbol: string, hint: number): number {
    return hint >= 0 && this.#names[hint] === symbol ? hint : this.register(symbol);
  }

  /** The symbol in `slot` ('' for a slot not yet used). */
  symbolAt(slot: number): string {
    return this.#names[slot] ?? '';
  }
}
