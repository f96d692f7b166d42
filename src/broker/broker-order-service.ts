import { BulwarkError } from '../errors.js';
import { FINAL_ORDER_STATUSES, observedOrderOf, type ExecutionReport } from '../egress/protocol.js';
import type { OrderEgress } from '../egress/order-egress.js';
import type { OrderJournal } from '../egress/order-journal.js';
import { BrokerRequestError } from '../egress/venue-guard.js';
import type { Fill } from '../vocabulary/market.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import type { AmendStyle, ObservedOrder, OpenOrder, OrderService } from '../vocabulary/services.js';
import { addTo, rememberIn } from '../util/bounded.js';
import { withDefaults, type WithDefaults } from '../util/defaults.js';

/** The broker requests this service makes besides those the egress sends. */
export interface BrokerQueries {
  request(
    method: 'openOrders.status' | 'order.status',
    params: Readonly<Record<string, unknown>>,
  ): Promise<Readonly<Record<string, unknown>>>;
}

/** Options of {@link BrokerOrderService}. */
export interface BrokerOrderServiceOptions {
  readonly egress: OrderEgress;
  readonly broker: BrokerQueries;
  readonly journal: OrderJournal;
  /** Each new execution of one of our orders, once, in the host's vocabulary. */
  readonly onFill: (fill: Fill) => void;
  /** The host's clock, for fill timestamps (the replay clock in a backtest). */
  readonly now: () => number;
  /** Orders whose executed quantity is remembered (to drop stale and repeated reports). Default 100 000. */
  readonly maxTrackedOrders?: number;
  /** Told each command's final outcome and how long it took from `send` (seconds), e.g. for a latency histogram. */
  readonly onSettled?: (command: ProtectiveCommand, result: CommandResult, seconds: number) => void;
  /**
   * Client ids of Bulwark's (an id this process never sent may still be Bulwark's: placed
   * before a restart). Reports for any other id are counted as `FOREIGN_EXECUTION` and left
   * to the host's portfolio snapshot. Default: the ids sent through this service and those
   * the journal knows.
   */
  readonly isOurs?: (clientOrderId: string) => boolean;
  /** Told each execution report that is not Bulwark's (counted `FOREIGN_EXECUTION`). */
  readonly onForeign?: (report: ExecutionReport['data']) => void;
}

/**
 * The host-facing order service over a real broker connection: protective commands go out
 * through the {@link OrderEgress} (queue, limiter, retries, breaker, journal, dead letters);
 * `openOrders()` asks the broker (`openOrders.status`), marking the stops our journal placed
 * as PROTECTIVE so a restarted plugin adopts them; execution reports become {@link Fill}s,
 * each executed quantity once however often, late or out of order it is reported. After a
 * reconnect or a `seq` gap, {@link BrokerOrderService.reconcile} re-runs the egress's
 * in-doubt reconciliation and asks the broker about every stop the journal holds live, so a
 * fill whose report was lost is still booked.
 *
 * @example
 * ```ts
 * const service = new BrokerOrderService({ egress, broker: client, journal, onFill: (f) => void engine.applyFill(f), now: () => engine.now() });
 * const engine = new Engine({ protectiveOrders: service });
 * ```
 */
export class BrokerOrderService implements OrderService {
  readonly #o: WithDefaults<BrokerOrderServiceOptions, 'maxTrackedOrders'>;
  /** Executed quantity booked per client order id (insertion-ordered, bounded). */
  readonly #booked = new Map<string, number>();
  #fills = 0;
  #foreign = 0;
  /** Client ids sent through this service (bounded like `#booked`). */
  readonly #sent = new Set<string>();
  #reconciling: Promise<void> | undefined;

  constructor(options: BrokerOrderServiceOptions) {
    this.#o = withDefaults(options, { maxTrackedOrders: 100_000 });
  }

  /** Fills booked so far. */
  get fills(): number {
    return this.#fills;
  }

  /** Execution reports for client ids Bulwark never sent (`FOREIGN_EXECUTION`): counted, not booked. */
  get foreignExecutions(): number {
    return this.#foreign;
  }

  /** How the venue changes a resting stop, as the egress's client declares it. */
  get amend(): AmendStyle {
    return this.#o.egress.amend;
  }

  /** True for a client id Bulwark sent (through this service, or recorded in the journal). */
  isOurs(clientOrderId: string): boolean {
    if (this.#o.isOurs !== undefined) return this.#o.isOurs(clientOrderId);
    return this.#sent.has(clientOrderId) || this.#o.journal.knows(clientOrderId);
  }

  /** Sends a protective command through the egress; resolves with its final outcome. */
  async send(command: ProtectiveCommand): Promise<CommandResult> {
    if (command.kind === 'PLACE_STOP' || command.kind === 'REPLACE_STOP' || command.kind === 'CLOSE_POSITION') {
      addTo(this.#sent, command.clientOrderId, this.#o.maxTrackedOrders);
    }
    const started = performance.now();
    const result = await this.#o.egress.send(command);
    this.#o.onSettled?.(command, result, (performance.now() - started) / 1000);
    // A replace's answer shows the cancelled link as the broker left it: what it executed is
    // booked and it is retired. Without it, a status read or a reconcile does the same later.
    if (command.kind === 'REPLACE_STOP' && result.ok && result.replaced !== undefined) this.#settle(result.replaced);
    return result;
  }

  /** The broker's open orders; the stops our journal holds live are marked PROTECTIVE. */
  async openOrders(): Promise<readonly OpenOrder[]> {
    const result = await this.#o.broker.request('openOrders.status', {});
    const orders = Array.isArray(result['orders']) ? (result['orders'] as readonly Record<string, unknown>[]) : [];
    const ours = new Set(this.#o.journal.liveStops().map((c) => c.clientOrderId));
    const out: OpenOrder[] = [];
    for (const o of orders) {
      const clientOrderId = o['clientOrderId'];
      const symbol = o['symbol'];
      const side = o['side'];
      const quantity = Number(o['quantity']);
      if (
        typeof clientOrderId !== 'string' ||
        typeof symbol !== 'string' ||
        (side !== 'BUY' && side !== 'SELL') ||
        !(quantity > 0)
      )
        continue;
      const stop = o['type'] === 'STOP_MARKET';
      const price = Number(stop ? o['stopPrice'] : o['price']);
      out.push({
        clientOrderId,
        symbol,
        side,
        quantity,
        type: stop ? 'STOP' : o['type'] === 'LIMIT' ? 'LIMIT' : 'MARKET',
        ...(price > 0 ? { price } : {}),
        intent: ours.has(clientOrderId) ? 'PROTECTIVE' : o['reduceOnly'] === true ? 'EXIT' : 'ENTRY',
      });
    }
    return out;
  }

  /**
   * The order with this client id as the broker shows it (`order.status`); undefined when the
   * broker never accepted it (-2013). Rejects when the broker cannot say.
   */
  async orderStatus(symbol: string, clientOrderId: string): Promise<ObservedOrder | undefined> {
    try {
      const order = observedOrderOf(
        await this.#o.broker.request('order.status', { symbol, origClientOrderId: clientOrderId }),
      );
      if (order === undefined)
        throw new BulwarkError('UNEXPECTED_ANSWER', 'order.status answered with no order object');
      this.#settle(order);
      return order;
    } catch (e) {
      if (e instanceof BrokerRequestError && e.action === 'NOT_FOUND') return undefined;
      throw e;
    }
  }

  /** The broker's open orders with their executed quantities and statuses (`openOrders.status`). */
  async observedOpenOrders(): Promise<readonly ObservedOrder[]> {
    const result = await this.#o.broker.request('openOrders.status', {});
    const orders = Array.isArray(result['orders']) ? (result['orders'] as readonly Record<string, unknown>[]) : [];
    const out: ObservedOrder[] = [];
    for (const o of orders) {
      const order = observedOrderOf(o);
      if (order !== undefined) out.push(order);
    }
    return out;
  }

  /**
   * Books what the broker shows executed of one of Bulwark's orders beyond what was booked
   * (the stop reconciler saw it in `order.status` or an open-order read, and no report came):
   * priced at the order's stop price, as a reconcile does.
   */
  bookExecuted(order: ObservedOrder): void {
    if (!this.isOurs(order.clientOrderId) || order.price === undefined) return;
    this.#book(order.clientOrderId, order.symbol, order.side, order.executedQty, order.price);
  }

  /**
   * Books one execution report (the adapter has already dropped exact duplicates), if it is
   * for one of Bulwark's client ids; any other is counted as `FOREIGN_EXECUTION` and left to
   * the host's portfolio snapshot (the account trades outside Bulwark too).
   */
  onReport(report: ExecutionReport['data']): void {
    if (!this.isOurs(report.clientOrderId)) {
      this.#foreign++;
      this.#o.onForeign?.(report);
      return;
    }
    // A report without a fill in it (a cancel, an amend) can still show a cumQty whose fill
    // report was lost: booked at the stop price (the order object carries no fill price)
    // before the stop is retired, or it would never be booked.
    const last = Number(report.lastPrice);
    const stop = this.#o.journal.liveStop(report.clientOrderId);
    const price = last > 0 ? last : stop?.kind === 'PLACE_STOP' ? stop.stopPrice : Number.NaN;
    this.#book(report.clientOrderId, report.symbol, report.side, Number(report.cumQty), price);
    if (FINAL_ORDER_STATUSES.has(report.status)) void this.#o.journal.done(report.clientOrderId);
  }

  /**
   * Resolves the egress's in-doubt intents with the broker, then asks `order.status` for every
   * stop the journal holds live: executions not yet booked are booked (priced at the stop
   * price, the order object carrying no fill price), and stops that are no longer working
   * are retired from the journal. Concurrent calls share one run.
   */
  reconcile(): Promise<void> {
    this.#reconciling ??= this.#reconcile().finally(() => {
      this.#reconciling = undefined;
    });
    return this.#reconciling;
  }

  async #reconcile(): Promise<void> {
    await this.#o.egress.start();
    for (const stop of this.#o.journal.liveStops()) {
      if (stop.kind !== 'PLACE_STOP') continue;
      let o: Readonly<Record<string, unknown>>;
      try {
        o = await this.#o.broker.request('order.status', {
          symbol: stop.symbol,
          origClientOrderId: stop.clientOrderId,
        });
      } catch (e) {
        // The broker never had it (or no longer knows it): nothing rests there to track.
        if (e instanceof BrokerRequestError && e.action === 'NOT_FOUND') await this.#o.journal.done(stop.clientOrderId);
        continue; // otherwise asked again at the next reconcile
      }
      const status = String(o['status']);
      this.#book(
        stop.clientOrderId,
        stop.symbol,
        stop.side,
        Number(o['executedQty']),
        Number(o['stopPrice'] ?? stop.stopPrice),
      );
      if (FINAL_ORDER_STATUSES.has(status)) await this.#o.journal.done(stop.clientOrderId);
    }
  }

  /**
   * A journaled stop the broker shows ended (filled, cancelled, expired): what it executed is
   * booked (at its stop price, the order object carrying no fill price) and it is retired from
   * the journal. Anything else is left as it is.
   */
  #settle(order: ObservedOrder): void {
    const stop = this.#o.journal.liveStop(order.clientOrderId);
    if (stop?.kind !== 'PLACE_STOP' || !FINAL_ORDER_STATUSES.has(order.status)) return;
    this.#book(order.clientOrderId, stop.symbol, stop.side, order.executedQty, order.price ?? stop.stopPrice);
    void this.#o.journal.done(order.clientOrderId).catch(() => {}); // asked again at the next reconcile if the write fails
  }

  /** Books the part of `cumQty` not booked yet for `clientOrderId`. */
  #book(clientOrderId: string, symbol: string, side: 'BUY' | 'SELL', cumQty: number, price: number): void {
    // What this process booked, or an earlier one (the journal): never booked twice across a restart.
    const booked = Math.max(this.#booked.get(clientOrderId) ?? 0, this.#o.journal.bookedQty(clientOrderId));
    if (!(cumQty > booked) || !(price > 0)) return; // stale, repeated, or nothing executed
    void this.#o.journal.booked(clientOrderId, cumQty).catch(() => {}); // a failed write is re-booked at most once, after a restart
    rememberIn(this.#booked, clientOrderId, cumQty, this.#o.maxTrackedOrders);
    this.#fills++;
    this.#o.onFill({
      fillId: `${clientOrderId}:${cumQty}`,
      orderId: clientOrderId,
      symbol,
      side,
      quantity: cumQty - booked,
      price,
      timestamp: this.#o.now(),
    });
  }
}
