import { asRecord, numberField, symbolField, type InputLimits } from '../validation/fields.js';
import { validateOrder } from '../validation/records.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import type { ObservedOrder, OpenOrder, OrderService } from '../vocabulary/services.js';
import { CodeCounter } from '../util/code-counter.js';
import type { FillSimulator, NewOrder } from './fill-simulator.js';
import type { Portfolio } from './portfolio.js';

/** Why the in-process order service refused a command (`CommandResult.code`). */
export const COMMAND_FAILURE_CODES = Object.freeze([
  'INVALID_COMMAND', // unknown kind, or a field of the wrong type or out of range
  'UNKNOWN_ORDER', // no order with that client id (or it was forgotten, see maxOrderHistory)
  'ORDER_CLOSED', // the order already filled or was cancelled
  'NOT_A_STOP', // AMEND_STOP of an order that is not a STOP
  'SYMBOL_MISMATCH', // the command's symbol is not the order's
  'DUPLICATE_CLIENT_ORDER_ID', // the id is taken by a different order
  'NO_POSITION', // CLOSE_POSITION with no position that its side would reduce
  'ORDER_LIMIT', // maxWorkingOrders reached
] as const);

/** A reason a command was refused. */
export type CommandFailureCode = (typeof COMMAND_FAILURE_CODES)[number];

/** The kinds of {@link ProtectiveCommand}. */
export type CommandKind = ProtectiveCommand['kind'];

const KINDS: readonly string[] = ['PLACE_STOP', 'AMEND_STOP', 'REPLACE_STOP', 'CANCEL', 'CLOSE_POSITION'];

function ok(clientOrderId: string): CommandResult {
  return Object.freeze({ ok: true, clientOrderId });
}

function fail(clientOrderId: string, code: CommandFailureCode, message: string): CommandResult {
  return Object.freeze({ ok: false, clientOrderId, code, message });
}

/**
 * The engine's in-process {@link OrderService} ("the simple in-process sender"): each
 * {@link ProtectiveCommand} is applied to the {@link FillSimulator} at once and answered.
 * - PLACE_STOP: a reduce-only STOP with intent PROTECTIVE. Resending the same command (same
 *   id and terms) is an idempotent retry: `ok`, nothing new placed.
 * - AMEND_STOP: moves the stop; an amend whose version is ≤ the last applied one is ignored
 *   (answered `ok`, counted in `amendsIgnored`). Tightening or loosening is not checked.
 * - REPLACE_STOP: cancels the working stop `replaces` and places the new one under its own id,
 *   in one step; nothing happens when the old stop is not working (`ORDER_CLOSED`,
 *   `UNKNOWN_ORDER`) or the new one is invalid. Resending it once done is an idempotent retry.
 * - CANCEL: `ok` if it was working or was already cancelled; `ORDER_CLOSED` if it filled.
 * - CLOSE_POSITION: a reduce-only MARKET order (intent PROTECTIVE) for at most the position;
 *   `NO_POSITION` when there is no position its side would reduce.
 * Commands are counted by kind, refusals by code.
 *
 * @example
 * ```ts
 * const r = await engine.orders.send({ kind: 'PLACE_STOP', clientOrderId: 'stop-1', symbol: 'ACME', side: 'SELL', quantity: 10, stopPrice: 95 });
 * if (!r.ok) console.warn(r.code, r.message);
 * ```
 */
export class SimulatedOrderService implements OrderService {
  readonly #sim: FillSimulator;
  readonly #portfolio: Portfolio;
  readonly #limits: InputLimits;
  readonly #batch: () => number;
  readonly #kinds = new CodeCounter<CommandKind>();
  readonly #failures = new CodeCounter<CommandFailureCode>();
  #amendsIgnored = 0;

  /** `batch` tells the index of the batch being processed (for fill timing). */
  constructor(sim: FillSimulator, portfolio: Portfolio, limits: InputLimits, batch: () => number) {
    this.#sim = sim;
    this.#portfolio = portfolio;
    this.#limits = limits;
    this.#batch = batch;
  }

  /** Commands received, by kind (invalid kinds are counted only as INVALID_COMMAND failures). */
  get commands(): CodeCounter<CommandKind> {
    return this.#kinds;
  }

  /** Commands refused, by code. */
  get failures(): CodeCounter<CommandFailureCode> {
    return this.#failures;
  }

  /** AMEND_STOPs ignored because their version was not newer. */
  get amendsIgnored(): number {
    return this.#amendsIgnored;
  }

  /** Applies one command. Never throws: a bad command is answered `INVALID_COMMAND`. */
  send(command: ProtectiveCommand): Promise<CommandResult> {
    const result = this.#apply(command);
    if (!result.ok) this.#failures.add(result.code as CommandFailureCode);
    const order = result.ok ? this.#observed(result.clientOrderId) : undefined;
    // An answer carries the order as it now stands, as a broker's does.
    return Promise.resolve(order === undefined ? result : Object.freeze({ ...result, order }));
  }

  /** Every working order with its intent. */
  openOrders(): Promise<readonly OpenOrder[]> {
    return Promise.resolve(this.#sim.openOrders());
  }

  /** The order with this client id as the simulator holds it; undefined when it never had it. */
  orderStatus(_symbol: string, clientOrderId: string): Promise<ObservedOrder | undefined> {
    return Promise.resolve(this.#observed(clientOrderId));
  }

  /** Every working order, as observed orders. */
  observedOpenOrders(): Promise<readonly ObservedOrder[]> {
    const out: ObservedOrder[] = [];
    for (const o of this.#sim.openOrders()) {
      const seen = this.#observed(o.clientOrderId);
      if (seen !== undefined) out.push(seen);
    }
    return Promise.resolve(out);
  }

  #observed(clientOrderId: string): ObservedOrder | undefined {
    const o = this.#sim.get(clientOrderId);
    if (o === undefined) return undefined;
    const st = o.state;
    const executedQty = st.status === 'FILLED' ? st.quantity : 0;
    return Object.freeze({
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      quantity: o.quantity,
      executedQty,
      ...(o.price === undefined ? {} : { price: o.price }),
      status: st.status === 'WORKING' ? 'NEW' : st.status === 'FILLED' ? 'FILLED' : 'CANCELED',
    });
  }

  #apply(command: ProtectiveCommand): CommandResult {
    const rec = asRecord(command);
    const id = typeof rec?.['clientOrderId'] === 'string' ? rec['clientOrderId'] : '';
    const kind = rec?.['kind'];
    if (rec === undefined || typeof kind !== 'string' || !KINDS.includes(kind))
      return fail(id, 'INVALID_COMMAND', `unknown command kind ${String(rec?.['kind'])}`);
    this.#kinds.add(command.kind);
    switch (command.kind) {
      case 'PLACE_STOP':
        return this.#place(rec, 'STOP', command.stopPrice);
      case 'CLOSE_POSITION':
        return this.#close(rec);
      case 'AMEND_STOP':
        return this.#amend(rec, command);
      case 'REPLACE_STOP':
        return this.#replace(rec, command);
      case 'CANCEL':
        return this.#cancel(rec, command);
    }
  }

  #place(rec: Record<string, unknown>, type: 'STOP' | 'MARKET', price: unknown): CommandResult {
    const id = String(rec['clientOrderId']);
    const v = validateOrder(
      { ...rec, type, intent: 'PROTECTIVE', reduceOnly: true, price: type === 'STOP' ? price : undefined },
      this.#limits,
    );
    if (!v.ok) return fail(id, 'INVALID_COMMAND', v.rejection.message);
    const o = v.value;
    const order: NewOrder = {
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      quantity: o.quantity,
      type,
      price: o.price,
      reduceOnly: true,
      intent: 'PROTECTIVE',
      origin: 'COMMAND',
    };
    const placed = this.#sim.place(order, this.#batch());
    switch (placed.outcome) {
      case 'PLACED':
        return ok(id);
      case 'DUPLICATE':
        return placed.identical
          ? ok(id)
          : fail(id, 'DUPLICATE_CLIENT_ORDER_ID', `client order id ${id} is taken by a different order`);
      case 'LIMIT_REACHED':
        return fail(id, 'ORDER_LIMIT', 'maxWorkingOrders reached');
    }
  }

  #close(rec: Record<string, unknown>): CommandResult {
    const id = String(rec['clientOrderId']);
    const known = this.#sim.get(id);
    if (known === undefined) {
      const symbol = rec['symbol'];
      const pos = typeof symbol === 'string' ? this.#portfolio.position(symbol) : undefined;
      const side = rec['side'];
      if ((side === 'BUY' || side === 'SELL') && (pos === undefined || (pos.side === 'LONG') !== (side === 'SELL'))) {
        return fail(id, 'NO_POSITION', `no position in ${String(symbol)} that a ${side} would reduce`);
      }
    }
    return this.#place(rec, 'MARKET', undefined);
  }

  #amend(rec: Record<string, unknown>, command: Extract<ProtectiveCommand, { kind: 'AMEND_STOP' }>): CommandResult {
    const id = String(rec['clientOrderId']);
    const symbol = symbolField(rec, this.#limits);
    if (typeof symbol !== 'string')
      return fail(id, 'INVALID_COMMAND', symbol.ok ? 'bad symbol' : symbol.rejection.message);
    const stopPrice = numberField(rec, 'stopPrice', { positive: true, max: this.#limits.maxPrice });
    if (typeof stopPrice !== 'number')
      return fail(id, 'INVALID_COMMAND', stopPrice.ok ? 'bad stopPrice' : stopPrice.rejection.message);
    if (typeof command.version !== 'number' || Number.isNaN(command.version))
      return fail(id, 'INVALID_COMMAND', 'version must be a number');
    const quantity =
      command.quantity === undefined
        ? undefined
        : numberField(rec, 'quantity', { positive: true, max: this.#limits.maxQuantity });
    if (quantity !== undefined && typeof quantity !== 'number')
      return fail(id, 'INVALID_COMMAND', quantity.ok ? 'bad quantity' : quantity.rejection.message);
    const r = this.#sim.amendStop(id, symbol, stopPrice, command.version, this.#batch(), quantity);
    if (r.outcome === 'REFUSED') return fail(id, r.code as CommandFailureCode, r.message);
    if (r.outcome === 'STALE') this.#amendsIgnored++;
    return ok(id);
  }

  #replace(rec: Record<string, unknown>, command: Extract<ProtectiveCommand, { kind: 'REPLACE_STOP' }>): CommandResult {
    const id = String(rec['clientOrderId']);
    const replaces = rec['replaces'];
    if (typeof replaces !== 'string' || replaces === id)
      return fail(id, 'INVALID_COMMAND', 'replaces must be the client id of another order');
    // Done already (a retry of a replace that went through): the new stop exists as asked.
    const done = this.#sim.get(id);
    if (done !== undefined) return this.#place(rec, 'STOP', command.stopPrice);
    const old = this.#sim.get(replaces);
    if (old === undefined) return fail(id, 'UNKNOWN_ORDER', `no order ${replaces}`);
    if (old.symbol !== command.symbol)
      return fail(id, 'SYMBOL_MISMATCH', `order ${replaces} is for ${old.symbol}, not ${String(command.symbol)}`);
    if (old.state.status !== 'WORKING') return fail(id, 'ORDER_CLOSED', `order ${replaces} is ${old.state.status}`);
    if (old.type !== 'STOP') return fail(id, 'NOT_A_STOP', `order ${replaces} is a ${old.type} order`);
    const v = validateOrder(
      { ...rec, type: 'STOP', intent: 'PROTECTIVE', reduceOnly: true, price: command.stopPrice },
      this.#limits,
    );
    if (!v.ok) return fail(id, 'INVALID_COMMAND', v.rejection.message);
    this.#sim.cancel(replaces, 'CANCEL_COMMAND');
    return this.#place(rec, 'STOP', command.stopPrice);
  }

  #cancel(rec: Record<string, unknown>, command: Extract<ProtectiveCommand, { kind: 'CANCEL' }>): CommandResult {
    const id = String(rec['clientOrderId']);
    const o = this.#sim.get(id);
    if (o === undefined) return fail(id, 'UNKNOWN_ORDER', `no order ${id}`);
    if (o.symbol !== command.symbol)
      return fail(id, 'SYMBOL_MISMATCH', `order ${id} is for ${o.symbol}, not ${String(command.symbol)}`);
    if (o.state.status === 'FILLED') return fail(id, 'ORDER_CLOSED', `order ${id} already filled`);
    this.#sim.cancel(id, 'CANCEL_COMMAND');
    return ok(id);
  }
}
