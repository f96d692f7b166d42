import type { Fill } from '../../src/vocabulary/market.js';
import type { CommandResult, ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { ObservedOrder, OpenOrder, OrderService } from '../../src/vocabulary/services.js';

/** What the venue does with the next call of one kind. */
export type VenueFault =
  /** Never reaches the venue; the caller learns nothing (its outcome is unknown). */
  | 'LOST_BEFORE'
  /** The venue applies it; the answer is lost (outcome unknown to the caller). */
  | 'LOST_AFTER'
  /** Refused as invalid (-1013), not applied. */
  | 'REJECT'
  /** Busy (-1008), not applied. */
  | 'BUSY';

interface VenueOrder {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  quantity: number;
  executed: number;
  price: number;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED';
}

/**
 * A small venue written for these tests from the order-service contract (not from the egress
 * or the reconciler): it holds stop orders, applies commands, answers like an order path does
 * (an order object on success; `IN_DOUBT` when the answer is lost; the protocol's codes on
 * refusal), and can be told to lose, refuse or delay the next call of a kind. Its `orders` are
 * the truth the tests judge by.
 */
export class ScriptedVenue implements OrderService {
  readonly orders = new Map<string, VenueOrder>();
  readonly calls: string[] = [];
  readonly #faults = new Map<string, VenueFault[]>();

  /** Queues faults for the next calls of `kind` (PLACE_STOP, AMEND_STOP, CANCEL, CLOSE_POSITION, STATUS, OPEN). */
  fail(kind: string, ...faults: VenueFault[]): void {
    this.#faults.set(kind, [...(this.#faults.get(kind) ?? []), ...faults]);
  }

  /** Working orders, optionally of one symbol. */
  live(symbol?: string): VenueOrder[] {
    return [...this.orders.values()].filter(
      (o) => (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED') && (symbol === undefined || o.symbol === symbol),
    );
  }

  /** Executes `quantity` of a working order at `price`; returns the fill a host would book. */
  execute(clientOrderId: string, quantity: number, price: number, timestamp = 0): Fill {
    const o = this.orders.get(clientOrderId);
    if (o === undefined || (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED'))
      throw new Error(`${clientOrderId} is not working`);
    o.executed += quantity;
    o.status = o.executed >= o.quantity ? 'FILLED' : 'PARTIALLY_FILLED';
    return {
      fillId: `${clientOrderId}:${o.executed}`,
      orderId: clientOrderId,
      symbol: o.symbol,
      side: o.side,
      quantity,
      price,
      timestamp,
    };
  }

  async send(c: ProtectiveCommand): Promise<CommandResult> {
    this.calls.push(`${c.kind} ${c.clientOrderId}`);
    const fault = this.#next(c.kind);
    if (fault === 'LOST_BEFORE')
      return { ok: false, clientOrderId: c.clientOrderId, code: 'IN_DOUBT', message: 'answer lost' };
    if (fault === 'REJECT')
      return { ok: false, clientOrderId: c.clientOrderId, code: '-1013', message: 'Filter failure' };
    if (fault === 'BUSY') return { ok: false, clientOrderId: c.clientOrderId, code: '-1008', message: 'busy' };
    const result = this.#apply(c);
    return fault === 'LOST_AFTER'
      ? { ok: false, clientOrderId: c.clientOrderId, code: 'IN_DOUBT', message: 'answer lost' }
      : result;
  }

  async orderStatus(_symbol: string, clientOrderId: string): Promise<ObservedOrder | undefined> {
    this.calls.push(`STATUS ${clientOrderId}`);
    if (this.#next('STATUS') !== undefined) throw new Error('status answer lost');
    const o = this.orders.get(clientOrderId);
    return o === undefined ? undefined : observed(o);
  }

  async observedOpenOrders(): Promise<readonly ObservedOrder[]> {
    if (this.#next('OPEN') !== undefined) throw new Error('open orders answer lost');
    return this.live().map(observed);
  }

  async openOrders(): Promise<readonly OpenOrder[]> {
    return this.live().map((o) => ({
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      quantity: o.quantity - o.executed,
      type: 'STOP',
      price: o.price,
      intent: 'PROTECTIVE',
    }));
  }

  #next(kind: string): VenueFault | undefined {
    return this.#faults.get(kind)?.shift();
  }

  #apply(c: ProtectiveCommand): CommandResult {
    const o = this.orders.get(c.clientOrderId);
    switch (c.kind) {
      case 'PLACE_STOP':
        if (o !== undefined)
          return { ok: false, clientOrderId: c.clientOrderId, code: '-2010', message: 'Duplicate order sent.' };
        this.orders.set(c.clientOrderId, {
          clientOrderId: c.clientOrderId,
          symbol: c.symbol,
          side: c.side,
          quantity: c.quantity,
          executed: 0,
          price: c.stopPrice,
          status: 'NEW',
        });
        break;
      case 'AMEND_STOP':
        if (o === undefined || (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED'))
          return { ok: false, clientOrderId: c.clientOrderId, code: '-2011', message: 'unknown or final order' };
        o.price = c.stopPrice;
        if (c.quantity !== undefined) o.quantity = c.quantity;
        break;
      case 'REPLACE_STOP': {
        // Binance's cancel-replace (STOP_ON_FAILURE): nothing happens unless the old stop works.
        const old = this.orders.get(c.replaces);
        if (old === undefined || (old.status !== 'NEW' && old.status !== 'PARTIALLY_FILLED'))
          return { ok: false, clientOrderId: c.clientOrderId, code: '-2022', message: 'Order cancel-replace failed.' };
        if (o !== undefined)
          return { ok: false, clientOrderId: c.clientOrderId, code: '-2010', message: 'Duplicate order sent.' };
        old.status = 'CANCELED';
        this.orders.set(c.clientOrderId, {
          clientOrderId: c.clientOrderId,
          symbol: c.symbol,
          side: c.side,
          quantity: c.quantity,
          executed: 0,
          price: c.stopPrice,
          status: 'NEW',
        });
        break;
      }
      case 'CANCEL':
        if (o === undefined || (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED'))
          return { ok: false, clientOrderId: c.clientOrderId, code: '-2011', message: 'unknown or final order' };
        o.status = 'CANCELED';
        break;
      case 'CLOSE_POSITION':
        return { ok: true, clientOrderId: c.clientOrderId };
    }
    const now = this.orders.get(c.clientOrderId);
    return now === undefined
      ? { ok: true, clientOrderId: c.clientOrderId }
      : { ok: true, clientOrderId: c.clientOrderId, order: observed(now) };
  }
}

function observed(o: VenueOrder): ObservedOrder {
  return {
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: 'STOP',
    quantity: o.quantity,
    executedQty: o.executed,
    price: o.price,
    status: o.status,
  };
}
