import { bulkhead, BrokenCircuitError, type BulkheadPolicy } from 'cockatiel';
import { BulwarkError, isBulwarkError } from '../errors.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import type { CommandResult, OrderSink, ProtectiveCommand } from '../vocabulary/orders.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import type { OrderJournal } from './order-journal.js';
import { EgressQueue, type EgressLane } from './egress-queue.js';
import { FINAL_ORDER_STATUSES, observedOrderOf } from './protocol.js';
import { wire } from './decimal.js';
import type { AmendStyle, ObservedOrder } from '../vocabulary/services.js';
import type { Clock } from '../util/clock.js';

const PROTECTIVE_LANES: readonly EgressLane[] = Object.freeze(['PROTECTIVE']);
const OTHER_LANES: readonly EgressLane[] = Object.freeze(['REDUCE', 'NORMAL']);
import { SlidingWindowRateLimiter } from './rate-limiter.js';
import { BrokerRequestError, type VenueGuard } from './venue-guard.js';
import { withDefaults, type WithDefaults } from '../util/defaults.js';

/** Broker methods the egress calls. */
export type BrokerMethod = 'order.place' | 'order.amend' | 'order.replace' | 'order.cancel' | 'order.status';

/**
 * The broker connection as the egress sees it: one request, one answer. It rejects with a
 * {@link BrokerRequestError} for an error answer, and with any other error for a lost answer
 * (timeout, dropped connection) — both of which leave the outcome unknown.
 */
export interface BrokerClient {
  /** Writes the request before it returns (or rejects `NOT_CONNECTED` having written nothing). */
  request(method: BrokerMethod, params: Readonly<Record<string, unknown>>): Promise<Readonly<Record<string, unknown>>>;
  /** Resolves once requests can be written (logged on); the egress waits for it before taking a rate slot. */
  ready?(): Promise<void>;
  /**
   * How the venue changes a resting stop (see {@link AmendStyle}): `native` takes
   * `order.amend`, `cancel-replace` takes `order.replace` instead. Default `native`.
   */
  readonly amend?: AmendStyle;
}

/** What happened to one command, for logs and metrics (past tense). */
export type EgressEvent =
  | { readonly kind: 'SENT'; readonly command: ProtectiveCommand; readonly attempts: number }
  | {
      readonly kind: 'ADOPTED';
      readonly command: ProtectiveCommand;
      readonly reason: 'DUPLICATE' | 'IN_DOUBT_EXECUTED';
    }
  | { readonly kind: 'DEAD_LETTERED'; readonly command: ProtectiveCommand; readonly code: string }
  | { readonly kind: 'REFUSED'; readonly command: ProtectiveCommand; readonly code: string };

/** Options of {@link OrderEgress}. */
export interface OrderEgressOptions {
  readonly client: BrokerClient;
  readonly limiter: SlidingWindowRateLimiter;
  readonly venue: VenueGuard;
  readonly deadLetters?: DeadLetterQueue;
  /** Write-ahead journal: intents recorded before sending, outcomes after. */
  readonly journal?: OrderJournal;
  /** Requests in flight at once (bulkhead). Default 8. */
  readonly maxInFlight?: number;
  /** REDUCE/NORMAL queue capacity. Default 10 000. */
  readonly queueCapacity?: number;
  /** Times an unknown outcome is resolved by asking and re-sending before giving up. Default 3. */
  readonly maxInDoubtRounds?: number;
  /** Share of the rate limit only protective orders may use. Default 0.2. */
  readonly reserveForProtective?: number;
  /**
   * An order-rate budget shared with other instances (e.g. a `RedisCoordinator`): every
   * request also takes one order from it, waiting `sharedBudgetRetryMs` between refusals.
   * While the budget's owner is not ACTIVE (coordination failing), protective requests go on
   * under this instance's own limiter rather than wait for a budget nobody can grant.
   */
  readonly sharedBudget?: { tryTakeOrders(n?: number): Promise<boolean>; readonly state: TradingState };
  /** Default 20 ms. */
  readonly sharedBudgetRetryMs?: number;
  readonly onEvent?: (event: EgressEvent) => void;
  readonly now?: () => number;
  /** Time and timers of the normal-order reserve (a replay's virtual clock). Default the system clock. */
  readonly clock?: Clock;
}

interface Pending {
  readonly command: ProtectiveCommand;
  readonly resolve: (r: CommandResult) => void;
  readonly firstAttemptAt: number;
}

/** Times one command waits for a new logon after finding the connection down, before it is answered NOT_CONNECTED. */
const MAX_RECONNECT_WAITS = 5;

/** Which lane a protective command travels in: cancels reduce, everything else protects. */
export function laneOf(command: ProtectiveCommand): EgressLane {
  return command.kind === 'CANCEL' ? 'REDUCE' : 'PROTECTIVE';
}

/** The defaults of {@link OrderEgressOptions}, in one place. */
const EGRESS_DEFAULTS = {
  queueCapacity: 10_000,
  maxInFlight: 8,
  reserveForProtective: 0.2,
  maxInDoubtRounds: 3,
  sharedBudgetRetryMs: 20,
} as const;

/**
 * The order path to the broker, an {@link OrderSink}: a priority queue (protective first,
 * never dropped), the broker's rate limit (shared by place, amend and cancel, paused on
 * 429/418), retries and a per-venue breaker ({@link VenueGuard}), a bulkhead on requests in
 * flight, and a dead-letter queue for what cannot be delivered. An unknown outcome (-1007, a
 * lost answer) is resolved by asking `order.status` with the same client order id: adopted
 * if the broker has it, re-sent with the same id only if it never saw it (-2013); a duplicate
 * (-2010) is adopted, never re-sent. So one intent executes at most once.
 *
 * @example
 * ```ts
 * const egress = new OrderEgress({ client, limiter, venue, deadLetters });
 * const result = await egress.send({ kind: 'PLACE_STOP', clientOrderId, symbol, side: 'SELL', quantity, stopPrice });
 * ```
 */
export class OrderEgress implements OrderSink {
  readonly #o: WithDefaults<OrderEgressOptions, keyof typeof EGRESS_DEFAULTS>;
  readonly #queue: EgressQueue<ProtectiveCommand>;
  readonly #waiting = new Map<string, Pending[]>();
  readonly #bulkhead: BulkheadPolicy;
  /** Commands this process is delivering now (a reconcile must not settle them under it). */
  readonly #inFlightKeys = new Set<string>();
  /** Places in flight only protective requests may take (a quarter of maxInFlight, at least one; none when it is 1). */
  readonly #reservedSlots: number;
  readonly #now: () => number;
  readonly #slotWanted = { PROTECTIVE: false, OTHER: false };
  #closed = false;
  #active = 0;
  readonly #idleWaiters: Array<() => void> = [];
  readonly #otherGate: SlidingWindowRateLimiter;
  #started: Promise<void> = Promise.resolve();

  constructor(options: OrderEgressOptions) {
    const o = (this.#o = withDefaults(options, EGRESS_DEFAULTS));
    this.#queue = new EgressQueue<ProtectiveCommand>({ capacity: o.queueCapacity });
    this.#bulkhead = bulkhead(o.maxInFlight, 0);
    const places = o.maxInFlight;
    this.#reservedSlots = places > 1 ? Math.max(1, Math.floor(places / 4)) : 0;
    const clock = options.clock;
    this.#now = options.now ?? (clock === undefined ? Date.now : () => clock.now());
    const reserve = o.reserveForProtective;
    this.#otherGate = new SlidingWindowRateLimiter({
      limit: options.limiter.capacity,
      windowMs: options.limiter.windowMs,
      safety: Math.min(1, Math.max(0.01, 1 - reserve)),
      now: this.#now,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
  }

  /**
   * Reconciles the journal's in-doubt intents with the broker before anything new is sent:
   * an order the broker has is recorded as executed; one it never saw is re-sent with the
   * same client order id, and settled before this resolves; one it cannot say about stays in
   * doubt (and is dead-lettered as `IN_DOUBT`). Sends made meanwhile wait for it.
   *
   * @example
   * ```ts
   * const egress = new OrderEgress({ client, limiter, venue, journal, deadLetters });
   * await egress.start(); // after every (re)start or reconnect
   * ```
   */
  start(): Promise<{ readonly executed: number; readonly resent: number; readonly unknown: number }> {
    const run = (async () => {
      const tally = { executed: 0, resent: 0, unknown: 0 };
      const journal = this.#o.journal;
      if (journal === undefined) return tally;
      const resends: Promise<CommandResult>[] = [];
      for (const command of journal.inDoubt()) {
        // Being delivered by this process right now: its own delivery settles it.
        if (this.#inFlightKeys.has(this.#key(command))) continue;
        const known = await this.#status(command);
        if (known.kind === 'KNOWN' && appliedAt(command, known.order) === 'APPLIED') {
          tally.executed++;
          await journal.outcome(command, { ok: true, clientOrderId: command.clientOrderId, order: known.order });
          this.#emit({ kind: 'ADOPTED', command, reason: 'IN_DOUBT_EXECUTED' });
        } else if (known.kind === 'KNOWN' || (known.kind === 'NEVER_SEEN' && command.kind !== 'CLOSE_POSITION')) {
          // Not applied (or a stop command the broker never saw): the stop reconciler redoes
          // what is still wanted from the broker's open orders, so nothing stale is re-sent.
          await journal.outcome(command, {
            ok: false,
            clientOrderId: command.clientOrderId,
            code: 'NOT_APPLIED',
            message: 'the broker does not show it applied',
          });
        } else if (known.kind === 'NEVER_SEEN') {
          tally.resent++;
          resends.push(new Promise((resolve) => this.#enqueue(command, resolve)));
        } else {
          // The broker could not say: the intent stays in doubt (asked again at the next start
          // or reconcile), never taken as done or dropped.
          tally.unknown++;
        }
      }
      // Re-sent intents are settled before start resolves, so what the broker then lists as
      // open (a restarted plugin adopts those stops) includes them.
      await Promise.all(resends);
      return tally;
    })();
    this.#started = run.then(() => undefined);
    return run;
  }

  /**
   * Stops sending: every queued command is answered `EGRESS_CLOSED` (it never left, so it is
   * not a dead letter); requests already in flight finish.
   */
  close(): void {
    this.#closed = true;
    for (let next = this.#queue.dequeue(); next !== undefined; next = this.#queue.dequeue()) {
      const key = this.#key(next.item);
      for (const w of this.#waiting.get(key) ?? [])
        w.resolve({
          ok: false,
          clientOrderId: next.item.clientOrderId,
          code: 'EGRESS_CLOSED',
          message: 'egress closed',
        });
      this.#waiting.delete(key);
    }
    this.#settleIdle();
  }

  /** How the venue changes a resting stop: the client's declaration (default `native`). */
  get amend(): AmendStyle {
    return this.#o.client.amend ?? 'native';
  }

  /** Commands waiting to be sent. */
  get queued(): number {
    return this.#queue.size();
  }

  /** Commands being delivered now (sent, or being retried or reconciled). */
  get inFlight(): number {
    return this.#active;
  }

  /**
   * Resolves once nothing is queued or in flight (at once if so now): for a clean shutdown,
   * or a replay that waits for its last protective commands to reach the broker.
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#active === 0 && this.#queue.size() === 0;
  }

  #settleIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /**
   * Queues `command` in its lane (stops and closes PROTECTIVE, cancels REDUCE; a caller may
   * send ordinary orders in the NORMAL lane); resolves with its final outcome.
   */
  async send(command: ProtectiveCommand, lane: EgressLane = laneOf(command)): Promise<CommandResult> {
    await this.#started;
    return new Promise((resolve) => this.#enqueue(command, resolve, lane));
  }

  #enqueue(command: ProtectiveCommand, resolve: (r: CommandResult) => void, lane: EgressLane = laneOf(command)): void {
    if (this.#closed) {
      resolve({ ok: false, clientOrderId: command.clientOrderId, code: 'EGRESS_CLOSED', message: 'egress closed' });
      return;
    }
    const pending: Pending = { command, resolve, firstAttemptAt: this.#now() };
    const queued = this.#queue.enqueue(lane, command);
    if (!queued.ok) {
      this.#emit({ kind: 'REFUSED', command, code: queued.code });
      resolve({ ok: false, clientOrderId: command.clientOrderId, code: queued.code, message: 'egress queue full' });
      return;
    }
    // A coalesced amend shares the outcome of the one it replaced.
    const key = this.#key(command);
    const list = this.#waiting.get(key) ?? [];
    list.push(pending);
    this.#waiting.set(key, list);
    this.#pump();
  }

  #key(command: ProtectiveCommand): string {
    return `${command.kind}:${command.clientOrderId}`;
  }

  /**
   * Two pumps move commands from the queue into the bulkhead of requests in flight. The
   * broker's rate limit is taken later, at the moment each attempt is written (see #outcome),
   * protective attempts first. The other pump must also pass a gate that gives REDUCE and
   * NORMAL orders at most (1 − reserveForProtective) of the rate, and may not take the
   * bulkhead's last places, so a burst of normal orders can never hold a stop back.
   */
  #pump(): void {
    this.#pumpLanes('PROTECTIVE');
    this.#pumpLanes('OTHER');
  }

  #pumpLanes(which: 'PROTECTIVE' | 'OTHER'): void {
    if (this.#closed) return;
    const lanes = which === 'PROTECTIVE' ? PROTECTIVE_LANES : OTHER_LANES;
    const waiting = lanes.reduce((n, l) => n + this.#queue.size(l), 0);
    // Requests in flight wait for their rate slot inside the bulkhead: normal orders may not take
    // its last places, so a protective request never waits behind normal ones for a place.
    const free = which === 'PROTECTIVE' ? 0 : this.#reservedSlots;
    if (this.#slotWanted[which] || waiting === 0 || this.#bulkhead.executionSlots <= free) return;
    this.#slotWanted[which] = true;
    // The broker's limit itself is taken at the moment of writing (see #outcome); here only the
    // reserve keeps normal orders to their share.
    const gate = which === 'PROTECTIVE' ? Promise.resolve() : this.#otherGate.acquire();
    void gate.then(() => {
      this.#slotWanted[which] = false;
      // The other pump may have taken the last bulkhead place meanwhile: then nothing is
      // dequeued now (a gate slot goes unused), and the pump runs again when a request finishes.
      const next = this.#bulkhead.executionSlots > free && !this.#closed ? this.#queue.dequeue(lanes) : undefined;
      if (next !== undefined) {
        this.#active++;
        void this.#bulkhead
          .execute(() => this.#deliver(next.lane, next.item))
          .finally(() => {
            this.#active--;
            this.#pump();
            this.#settleIdle();
          });
      }
      this.#pump();
    });
  }

  async #deliver(lane: EgressLane, command: ProtectiveCommand): Promise<void> {
    const key = this.#key(command);
    const waiters = this.#waiting.get(key) ?? [];
    this.#waiting.delete(key);
    const attempts = { count: 0 };
    this.#inFlightKeys.add(key);
    await this.#o.journal?.intent(command);
    const result = await this.#outcome(lane, command, attempts);
    this.#inFlightKeys.delete(key);
    // An outcome still unknown stays in doubt in the journal: the next reconcile asks the broker.
    if (result.ok || result.code !== 'IN_DOUBT') await this.#o.journal?.outcome(command, result);
    for (const w of waiters) w.resolve(result);
    // Stop placements, amends, replaces and cancels are the stop reconciler's to retry until the broker
    // shows them converged (or the position is reported UNPROTECTED): a dead letter of one
    // would be a stale copy of a decision that has moved on. Closes and normal orders are
    // dead-lettered.
    const reconciled = command.kind !== 'CLOSE_POSITION';
    if (
      !result.ok &&
      !reconciled &&
      result.code !== 'VENUE_REDUCING' &&
      result.code !== 'ORDER_FINAL' &&
      this.#o.deadLetters !== undefined
    ) {
      const first = waiters[0]?.firstAttemptAt ?? this.#now();
      const added = await this.#o.deadLetters.add({
        command,
        code: result.code,
        attempts: attempts.count,
        firstAttemptAt: first,
        deadAt: this.#now(),
      });
      // A full queue refuses the entry (its onFull fires): say so, not that it was dead-lettered.
      this.#emit(
        added === 'ADDED'
          ? { kind: 'DEAD_LETTERED', command, code: result.code }
          : { kind: 'REFUSED', command, code: 'DLQ_FULL' },
      );
    }
  }

  async #outcome(lane: EgressLane, command: ProtectiveCommand, attempts: { count: number }): Promise<CommandResult> {
    const id = command.clientOrderId;
    // The breaker holds back normal orders only: stops, closes and cancels (which remove a stop
    // that no longer protects anything, or an entry order on a halt) always go out.
    const protective = lane !== 'NORMAL';
    // Stops and closes go first at the limiter and bypass a shared budget nobody can grant.
    const urgent = lane === 'PROTECTIVE';
    const rounds = this.#o.maxInDoubtRounds;
    let reconnects = 0;
    for (let round = 0; round <= rounds; round++) {
      try {
        const answer = await this.#o.venue.run(protective, async () => {
          attempts.count++;
          // Connected first, then the slot: a slot is taken only to be written at once.
          await this.#o.client.ready?.();
          await this.#takeShared(urgent);
          try {
            // Every attempt takes its slot at the moment it is written: the broker counts on receipt.
            return await this.#o.limiter.run(() => {
              // Closed while this waited for its slot: nothing more leaves.
              if (this.#closed) return Promise.reject(new BulwarkError('EGRESS_CLOSED', 'egress closed'));
              return this.#o.client.request(methodOf(command), paramsOf(command));
            }, urgent);
          } catch (e) {
            if (
              e instanceof BrokerRequestError &&
              (e.action === 'RATE_LIMITED' || e.action === 'BANNED') &&
              e.retryAfter !== undefined
            ) {
              this.#o.limiter.pauseUntil(e.retryAfter);
            }
            throw e;
          }
        });
        this.#emit({ kind: 'SENT', command, attempts: attempts.count });
        const order = observedOrderOf(answer);
        const cancelled = answer['cancelled'];
        const replaced =
          command.kind === 'REPLACE_STOP' && typeof cancelled === 'object' && cancelled !== null
            ? observedOrderOf(cancelled as Record<string, unknown>)
            : undefined;
        return {
          ok: true,
          clientOrderId: id,
          ...(order === undefined ? {} : { order }),
          ...(replaced === undefined ? {} : { replaced }),
        };
      } catch (e) {
        if (isBulwarkError(e, 'VENUE_REDUCING'))
          return { ok: false, clientOrderId: id, code: 'VENUE_REDUCING', message: e.message };
        if (e instanceof BrokenCircuitError)
          return { ok: false, clientOrderId: id, code: 'VENUE_REDUCING', message: 'the venue breaker is open' };
        if (isBulwarkError(e, 'NOT_CONNECTED') && !this.#closed && reconnects++ < MAX_RECONNECT_WAITS) {
          // Never written (the connection dropped between the wait and the write): wait for the next logon.
          round--;
          continue;
        }
        if (
          isBulwarkError(e, 'NOT_CONNECTED') ||
          isBulwarkError(e, 'CLIENT_CLOSED') ||
          isBulwarkError(e, 'EGRESS_CLOSED')
        ) {
          // Never written: nothing happened at the broker.
          return { ok: false, clientOrderId: id, code: e.code, message: e.message };
        }
        const action = e instanceof BrokerRequestError ? e.action : 'IN_DOUBT';
        if (action === 'QUERY_STATUS') {
          // An amend or cancel of an order the broker calls unknown or final: if it is final
          // (filled, cancelled, expired, rejected) the command is moot, not a failure to chase.
          const known = await this.#status(command);
          if (known.kind === 'KNOWN' && FINAL_ORDER_STATUSES.has(known.order.status)) {
            return {
              ok: false,
              clientOrderId: id,
              code: 'ORDER_FINAL',
              message: `order is ${known.order.status} at the broker`,
            };
          }
        }
        if (action === 'REJECT' || action === 'QUERY_STATUS' || action === 'NOT_FOUND' || action === 'RELOGON') {
          const code = e instanceof BrokerRequestError ? String(e.brokerCode) : 'REJECTED';
          return { ok: false, clientOrderId: id, code, message: e instanceof Error ? e.message : String(e) };
        }
        if (action === 'RETRY' || action === 'RATE_LIMITED' || action === 'BANNED') {
          return {
            ok: false,
            clientOrderId: id,
            code: 'RETRIES_EXHAUSTED',
            message: e instanceof Error ? e.message : String(e),
          };
        }
        // IN_DOUBT or DUPLICATE: ask the broker before anything else, and count the command as
        // applied only if the order the broker shows is what the command asked for.
        const known = await this.#status(command);
        if (known.kind === 'UNKNOWN')
          return { ok: false, clientOrderId: id, code: 'IN_DOUBT', message: 'outcome still unknown' };
        if (known.kind === 'KNOWN') {
          const verdict = appliedAt(command, known.order);
          if (verdict === 'APPLIED') {
            this.#emit({
              kind: 'ADOPTED',
              command,
              reason: action === 'DUPLICATE' ? 'DUPLICATE' : 'IN_DOUBT_EXECUTED',
            });
            return { ok: true, clientOrderId: id, order: known.order };
          }
          if (verdict === 'FINAL')
            return {
              ok: false,
              clientOrderId: id,
              code: 'ORDER_FINAL',
              message: `order is ${known.order.status} at the broker`,
            };
          if (command.kind === 'PLACE_STOP' || command.kind === 'REPLACE_STOP' || command.kind === 'CLOSE_POSITION') {
            // The broker holds a different order under this id: never send the id again.
            return {
              ok: false,
              clientOrderId: id,
              code: '-2010',
              message: 'the client id is taken by an order with other terms',
            };
          }
          // An amend or cancel the broker has not applied: send it again (next round).
          continue;
        }
        // NEVER_SEEN: an amend or cancel of an order the broker never had is moot; a placement
        // is re-sent with the same client order id (next round), and so is a replace (the
        // broker cancels the old stop only if it still works, and the new id can exist once).
        if (command.kind === 'AMEND_STOP' || command.kind === 'CANCEL')
          return { ok: false, clientOrderId: id, code: '-2013', message: 'the broker never had this order' };
      }
    }
    return { ok: false, clientOrderId: id, code: 'IN_DOUBT', message: 'outcome unresolved after re-sending' };
  }

  /** Takes one order from the shared budget, if any (see `sharedBudget`). */
  async #takeShared(protective: boolean): Promise<void> {
    const budget = this.#o.sharedBudget;
    if (budget === undefined) return;
    for (;;) {
      if (protective && budget.state !== 'ACTIVE') return;
      if (await budget.tryTakeOrders(1)) return;
      if (this.#closed) return;
      await new Promise((r) => setTimeout(r, this.#o.sharedBudgetRetryMs));
    }
  }

  /**
   * The command's order as the broker shows it, asked by client id (`order.status` is not
   * counted against the rate limit). NEVER_SEEN is the broker's -2013; UNKNOWN, any other failure.
   */
  async #status(
    command: ProtectiveCommand,
  ): Promise<{ readonly kind: 'KNOWN'; readonly order: ObservedOrder } | { readonly kind: 'NEVER_SEEN' | 'UNKNOWN' }> {
    try {
      // order.status is not an order request: the broker does not count it against the limit.
      const order = observedOrderOf(
        await this.#o.client.request('order.status', {
          symbol: command.symbol,
          origClientOrderId: command.clientOrderId,
        }),
      );
      return order === undefined ? { kind: 'UNKNOWN' } : { kind: 'KNOWN', order };
    } catch (e) {
      return { kind: e instanceof BrokerRequestError && e.action === 'NOT_FOUND' ? 'NEVER_SEEN' : 'UNKNOWN' };
    }
  }

  #emit(event: EgressEvent): void {
    this.#o.onEvent?.(Object.freeze(event));
  }
}

/**
 * Whether `order` (as the broker shows it) has what `command` asked for: a placement exists;
 * an amend shows the new stop price and quantity; a cancel shows CANCELED. FINAL when the
 * order has ended otherwise; PENDING when it is working but not as asked.
 */
function appliedAt(command: ProtectiveCommand, order: ObservedOrder): 'APPLIED' | 'FINAL' | 'PENDING' {
  switch (command.kind) {
    case 'PLACE_STOP':
    case 'REPLACE_STOP':
      return order.side === command.side &&
        order.type === 'STOP' &&
        same(order.quantity, command.quantity) &&
        same(order.price, command.stopPrice)
        ? 'APPLIED'
        : 'PENDING';
    case 'CLOSE_POSITION':
      return order.side === command.side && same(order.quantity, command.quantity) ? 'APPLIED' : 'PENDING';
    case 'CANCEL':
      return order.status === 'CANCELED' ? 'APPLIED' : FINAL_ORDER_STATUSES.has(order.status) ? 'FINAL' : 'PENDING';
    case 'AMEND_STOP':
      if (FINAL_ORDER_STATUSES.has(order.status)) return 'FINAL';
      return same(order.price, command.stopPrice) &&
        (command.quantity === undefined || same(order.quantity, command.quantity))
        ? 'APPLIED'
        : 'PENDING';
  }
}

/** Equal as the wire carries them (decimal strings of at most 12 places). */
function same(a: number | undefined, b: number): boolean {
  return a !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

function methodOf(c: ProtectiveCommand): BrokerMethod {
  switch (c.kind) {
    case 'PLACE_STOP':
    case 'CLOSE_POSITION':
      return 'order.place';
    case 'AMEND_STOP':
      return 'order.amend';
    case 'REPLACE_STOP':
      return 'order.replace';
    case 'CANCEL':
      return 'order.cancel';
  }
}

function paramsOf(c: ProtectiveCommand): Readonly<Record<string, unknown>> {
  switch (c.kind) {
    case 'PLACE_STOP':
    case 'REPLACE_STOP':
      return {
        symbol: c.symbol,
        // A replace is the same stop, placed by cancelling the live one in the same request.
        ...(c.kind === 'REPLACE_STOP' ? { cancelOrigClientOrderId: c.replaces } : {}),
        side: c.side,
        type: 'STOP_MARKET',
        quantity: wire(c.quantity),
        stopPrice: wire(c.stopPrice),
        reduceOnly: true,
        newClientOrderId: c.clientOrderId,
      };
    case 'CLOSE_POSITION':
      return {
        symbol: c.symbol,
        side: c.side,
        type: 'MARKET',
        quantity: wire(c.quantity),
        reduceOnly: true,
        newClientOrderId: c.clientOrderId,
      };
    case 'AMEND_STOP':
      return {
        symbol: c.symbol,
        origClientOrderId: c.clientOrderId,
        stopPrice: wire(c.stopPrice),
        ...(c.quantity === undefined ? {} : { quantity: wire(c.quantity) }),
      };
    case 'CANCEL':
      return { symbol: c.symbol, origClientOrderId: c.clientOrderId };
  }
}
