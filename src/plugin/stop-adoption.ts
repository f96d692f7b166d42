import type { RestoredStop, StopManager } from '../stops/stop-manager.js';
import type { OpenOrder, OrderService } from '../vocabulary/services.js';

/** What adopting resting stops works with. */
export interface StopAdoptionParts {
  readonly orders: OrderService;
  readonly stops: StopManager;
  /** The client order id prefix of Bulwark's orders (`bw`): ids start with it and a dash. */
  readonly prefix: string;
  /** Whether this instance manages `symbol` (undefined: every symbol, no coordinator). */
  readonly owns: ((symbol: string) => boolean) | undefined;
  /** Aborted at dispose: a broker read that completes afterwards adopts nothing. */
  readonly signal: AbortSignal;
}

/**
 * The resting stops Bulwark placed among `open`, for the symbols `wanted` accepts: marked
 * PROTECTIVE by the order service, or carrying a Bulwark client id (placed by another
 * instance, or an earlier process).
 *
 * @example
 * ```ts
 * ourStops(await orders.openOrders(), 'bw', (s) => s === 'AAPL');
 * ```
 */
export function ourStops(
  open: readonly OpenOrder[],
  prefix: string,
  wanted: (symbol: string) => boolean,
): RestoredStop[] {
  const start = `${prefix}-`;
  const out: RestoredStop[] = [];
  for (const o of open) {
    if (o.type !== 'STOP' || typeof o.price !== 'number' || !(o.price > 0) || !wanted(o.symbol)) continue;
    if (o.intent === 'PROTECTIVE' || o.clientOrderId.startsWith(start))
      out.push({ clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, stopPrice: o.price });
  }
  return out;
}

/**
 * BROKER mode: the stops the plugin takes over instead of placing again. At start, after a
 * restart, every resting Bulwark stop of a symbol this instance manages (and every stop the
 * last process wanted but had not seen resting); later, the resting stop of a symbol this
 * instance has just acquired from another one.
 *
 * @example
 * ```ts
 * const adoption = new StopAdoption(parts);
 * await adoption.restore();
 * adoption.restored; // stops adopted from the broker
 * ```
 */
export class StopAdoption {
  readonly #p: StopAdoptionParts;
  #restored = 0;
  #failed = false;

  constructor(parts: StopAdoptionParts) {
    this.#p = parts;
  }

  /** Protective stops adopted from the broker at start. */
  get restored(): number {
    return this.#restored;
  }

  /** True when, at start, the broker could not list its open orders (fresh stops are placed). */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * At start: adopts the stops already resting at the broker. If the broker cannot list
   * them, fresh stops are placed: a duplicate reduce-only stop is the lesser risk than an
   * unprotected position.
   */
  async restore(): Promise<void> {
    const { orders, stops, owns, signal } = this.#p;
    let open: readonly OpenOrder[];
    try {
      open = await orders.openOrders();
    } catch {
      if (!signal.aborted) this.#failed = true;
      return;
    }
    if (signal.aborted) return;
    // With a coordinator, another instance's symbols (and their stops) are not ours to touch.
    const mine = (symbol: string) => owns?.(symbol) !== false;
    this.#restored = stops.restore(ourStops(open, this.#p.prefix, mine));
    // Stops the last process wanted but had not seen resting when it stopped: restored too
    // (the tighter of the two wins), so a tightened stop is not lost to a looser one.
    const pending = orders.pendingStops?.() ?? [];
    stops.restore(
      pending
        .filter((p) => mine(p.symbol))
        .map((p) => ({ clientOrderId: `pending:${p.symbol}`, symbol: p.symbol, side: p.side, stopPrice: p.stopPrice })),
    );
  }

  /** Adopts the resting Bulwark stop of a symbol this instance has just acquired, if there is one. */
  async adopt(symbol: string): Promise<void> {
    const { orders, stops, signal } = this.#p;
    try {
      const open = await orders.openOrders();
      if (signal.aborted) return;
      stops.restore(ourStops(open, this.#p.prefix, (s) => s === symbol).slice(0, 1));
    } catch {
      // The order service cannot list: the next snapshot places a fresh stop (the lesser risk).
    }
  }
}
