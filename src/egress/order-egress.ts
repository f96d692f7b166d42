import { bulkhead, BrokenCircuitError, type BulkheadPolicy } from 'cockatiel';
import { isBulwarkError } from '../errors.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import type { CommandResult, OrderSink, ProtectiveCommand } from '../vocabulary/orders.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import type { OrderJournal } from './order-journal.js';
import { EgressQueue, type EgressLane } from './egress-queue.js';
import { FINAL_ORDER_STATUSES } from './protocol.js';

const PROTECTIVE_LANES: readonly EgressLane[] = Object.freeze(['PROTECTIVE']);
const OTHER_LANES: readonly EgressLane[] = Object.freeze(['REDUCE', 'NORMAL']);
import { SlidingWindowRateLimiter } from './rate-limiter.js';
import { BrokerRequestError, type VenueGuard } from './venue-guard.js';

/** Broker methods the egress calls. */
export type BrokerMethod = 'order.place' | 'order.amend' | 'order.cancel' | 'order.status';

/**
 * The broker connection as the egress sees it: one request, one answer. It rejects with a
 * {@link BrokerRequestError} for an error answer, and with any other error for a lost answer
 * (timeout, dropped connection) — both of which leave the outcome unknown.
 */
export interface BrokerClient {
  request(method: BrokerMethod, params: Readonly<Record<string, unknown>>): Promise<Readonly<Record<string, unknown>>>;
}

/** What happened to one command, for logs and metrics (past tense). */
export type EgressEvent =
  | { readonly kind: 'SENT'; readonly command: ProtectiveCommand; readonly attempts: number }
  | { readonly kind: 'ADOPTED'; readonly command: ProtectiveCommand; readonly reason: 'DUPLICATE' | 'IN_DOUBT_EXECUTED' }
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
  /** Wait before retrying a protective command the open breaker refused (ms). Default 1 000. */
  readonly probeDelayMs?: number;
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
}

interface Pending {
  readonly command: ProtectiveCommand;
  readonly resolve: (r: CommandResult) => void;
  readonly firstAttemptAt: number;
}

/** Which lane a protective command travels in: cancels reduce, everything else protects. */
export function laneOf(command: ProtectiveCommand): EgressLane {
  return command.kind === 'CANCEL' ? 'REDUCE' : 'PROTECTIVE';
}

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
  readonly #o: OrderEgressOptions;
  readonly #queue: EgressQueue<ProtectiveCommand>;
  readonly #waiting = new Map<string, Pending[]>();
  readonly #bulkhead: BulkheadPolicy;
  readonly #now: () => number;
  readonly #slotWanted = { PROTECTIVE: false, OTHER: false };
  #closed = false;
  #active = 0;
  readonly #idleWaiters: Array<() => void> = [];
  readonly #otherGate: SlidingWindowRateLimiter;
  #started: Promise<void> = Promise.resolve();

  constructor(options: OrderEgressOptions) {
    this.#o = options;
    this.#queue = new EgressQueue<ProtectiveCommand>({ capacity: options.queueCapacity ?? 10_000 });
    this.#bulkhead = bulkhead(options.maxInFlight ?? 8, 0);
    this.#now = options.now ?? Date.now;
    const reserve = options.reserveForProtective ?? 0.2;
    this.#otherGate = new SlidingWindowRateLimiter({
      limit: options.limiter.capacity,
      windowMs: options.limiter.windowMs,
      safety: Math.min(1, Math.max(0.01, 1 - reserve)),
      now: this.#now,
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
        const known = (await this.#status(command)).kind;
        if (known === 'KNOWN') {
          tally.executed++;
          await journal.outcome(command, { ok: true, clientOrderId: command.clientOrderId });
          this.#emit({ kind: 'ADOPTED', command, reason: 'IN_DOUBT_EXECUTED' });
        } else if (known === 'NEVER_SEEN') {
          tally.resent++;
          resends.push(new Promise((resolve) => this.#enqueue(command, resolve)));
        } else {
          tally.unknown++;
          const result = { ok: false, clientOrderId: command.clientOrderId, code: 'IN_DOUBT', message: 'broker could not say' } as const;
          await journal.outcome(command, result);
          await this.#o.deadLetters?.add({ command, code: 'IN_DOUBT', attempts: 0, firstAttemptAt: this.#now(), deadAt: this.#now() });
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
      for (const w of this.#waiting.get(key) ?? []) w.resolve({ ok: false, clientOrderId: next.item.clientOrderId, code: 'EGRESS_CLOSED', message: 'egress closed' });
      this.#waiting.delete(key);
    }
    this.#settleIdle();
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
   * Two pumps share the broker's rate limit. Each takes a rate-limit slot first and only then
   * picks the item to send, so the choice is made at the moment of sending. The protective
   * pump waits only for the shared limiter; the other pump must also pass a gate that gives
   * REDUCE and NORMAL orders at most (1 − reserveForProtective) of the rate, so a burst of
   * normal orders can never take the whole window from a stop.
   */
  #pump(): void {
    this.#pumpLanes('PROTECTIVE');
    this.#pumpLanes('OTHER');
  }

  #pumpLanes(which: 'PROTECTIVE' | 'OTHER'): void {
    if (this.#closed) return;
    const lanes = which === 'PROTECTIVE' ? PROTECTIVE_LANES : OTHER_LANES;
    const waiting = lanes.reduce((n, l) => n + this.#queue.size(l), 0);
    if (this.#slotWanted[which] || waiting === 0 || this.#bulkhead.executionSlots === 0) return;
    this.#slotWanted[which] = true;
    const gate = which === 'PROTECTIVE' ? Promise.resolve() : this.#otherGate.acquire();
    void gate
      .then(() => this.#o.limiter.acquire())
      .then(() => {
        this.#slotWanted[which] = false;
        // The other pump may have taken the last bulkhead place meanwhile: then this rate slot
        // goes unused, and the pump runs again when a request finishes.
        const next = this.#bulkhead.executionSlots > 0 && !this.#closed ? this.#queue.dequeue(lanes) : undefined;
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
    await this.#o.journal?.intent(command);
    const result = await this.#outcome(lane, command, attempts);
    await this.#o.journal?.outcome(command, result);
    for (const w of waiters) w.resolve(result);
    if (!result.ok && result.code !== 'VENUE_REDUCING' && result.code !== 'ORDER_FINAL' && this.#o.deadLetters !== undefined) {
      const first = waiters[0]?.firstAttemptAt ?? this.#now();
      const added = await this.#o.deadLetters.add({ command, code: result.code, attempts: attempts.count, firstAttemptAt: first, deadAt: this.#now() });
      // A full queue refuses the entry (its onFull fires): say so, not that it was dead-lettered.
      this.#emit(added === 'ADDED' ? { kind: 'DEAD_LETTERED', command, code: result.code } : { kind: 'REFUSED', command, code: 'DLQ_FULL' });
    }
  }

  async #outcome(lane: EgressLane, command: ProtectiveCommand, attempts: { count: number }): Promise<CommandResult> {
    const id = command.clientOrderId;
    const protective = lane === 'PROTECTIVE';
    const rounds = this.#o.maxInDoubtRounds ?? 3;
    for (let round = 0; round <= rounds; round++) {
      try {
        await this.#o.venue.run(protective, async () => {
          // The first attempt uses the slot the pump took; every retry takes its own.
          if (attempts.count++ > 0) await this.#o.limiter.acquire();
          await this.#takeShared(protective);
          try {
            return await this.#o.client.request(methodOf(command), paramsOf(command));
          } catch (e) {
            if (e instanceof BrokerRequestError && (e.action === 'RATE_LIMITED' || e.action === 'BANNED') && e.retryAfter !== undefined) {
              this.#o.limiter.pauseUntil(e.retryAfter);
            }
            throw e;
          }
        });
        this.#emit({ kind: 'SENT', command, attempts: attempts.count });
        return { ok: true, clientOrderId: id };
      } catch (e) {
        if (isBulwarkError(e, 'VENUE_REDUCING')) return { ok: false, clientOrderId: id, code: 'VENUE_REDUCING', message: e.message };
        if (e instanceof BrokenCircuitError) {
          // A protective command is never dropped: wait for the breaker's next probe window.
          await new Promise((r) => setTimeout(r, this.#o.probeDelayMs ?? 1_000));
          round--;
          continue;
        }
        const action = e instanceof BrokerRequestError ? e.action : 'IN_DOUBT';
        if (action === 'QUERY_STATUS') {
          // An amend or cancel of an order the broker calls unknown or final: if it is final
          // (filled, cancelled, expired, rejected) the command is moot, not a failure to chase.
          const known = await this.#status(command);
          if (known.kind === 'KNOWN' && FINAL_ORDER_STATUSES.has(known.status)) {
            return { ok: false, clientOrderId: id, code: 'ORDER_FINAL', message: `order is ${known.status} at the broker` };
          }
        }
        if (action === 'REJECT' || action === 'QUERY_STATUS' || action === 'NOT_FOUND' || action === 'RELOGON') {
          const code = e instanceof BrokerRequestError ? String(e.code) : 'REJECTED';
          return { ok: false, clientOrderId: id, code, message: e instanceof Error ? e.message : String(e) };
        }
        if (action === 'RETRY' || action === 'RATE_LIMITED' || action === 'BANNED') {
          return { ok: false, clientOrderId: id, code: 'RETRIES_EXHAUSTED', message: e instanceof Error ? e.message : String(e) };
        }
        // IN_DOUBT or DUPLICATE: ask the broker before anything else.
        const known = (await this.#status(command)).kind;
        if (known === 'KNOWN') {
          this.#emit({ kind: 'ADOPTED', command, reason: action === 'DUPLICATE' ? 'DUPLICATE' : 'IN_DOUBT_EXECUTED' });
          return { ok: true, clientOrderId: id };
        }
        if (known === 'UNKNOWN') return { ok: false, clientOrderId: id, code: 'IN_DOUBT', message: 'outcome still unknown' };
        // NEVER_SEEN: re-send with the same client order id (next round).
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
      await new Promise((r) => setTimeout(r, this.#o.sharedBudgetRetryMs ?? 20));
    }
  }

  /**
   * Whether the broker has the command's order, and its status: asked by client id, through
   * the limiter. NEVER_SEEN is the broker's -2013; UNKNOWN, any other failure.
   */
  async #status(command: ProtectiveCommand): Promise<{ readonly kind: 'KNOWN'; readonly status: string } | { readonly kind: 'NEVER_SEEN' | 'UNKNOWN' }> {
    try {
      await this.#o.limiter.acquire();
      const order = await this.#o.client.request('order.status', { symbol: command.symbol, origClientOrderId: command.clientOrderId });
      return { kind: 'KNOWN', status: typeof order['status'] === 'string' ? order['status'] : '' };
    } catch (e) {
      return { kind: e instanceof BrokerRequestError && e.action === 'NOT_FOUND' ? 'NEVER_SEEN' : 'UNKNOWN' };
    }
  }

  #emit(event: EgressEvent): void {
    this.#o.onEvent?.(Object.freeze(event));
  }
}

function methodOf(c: ProtectiveCommand): BrokerMethod {
  switch (c.kind) {
    case 'PLACE_STOP':
    case 'CLOSE_POSITION':
      return 'order.place';
    case 'AMEND_STOP':
      return 'order.amend';
    case 'CANCEL':
      return 'order.cancel';
  }
}

function paramsOf(c: ProtectiveCommand): Readonly<Record<string, unknown>> {
  switch (c.kind) {
    case 'PLACE_STOP':
      return { symbol: c.symbol, side: c.side, type: 'STOP_MARKET', quantity: String(c.quantity), stopPrice: String(c.stopPrice), reduceOnly: true, newClientOrderId: c.clientOrderId };
    case 'CLOSE_POSITION':
      return { symbol: c.symbol, side: c.side, type: 'MARKET', quantity: String(c.quantity), reduceOnly: true, newClientOrderId: c.clientOrderId };
    case 'AMEND_STOP':
      return { symbol: c.symbol, origClientOrderId: c.clientOrderId, stopPrice: String(c.stopPrice) };
    case 'CANCEL':
      return { symbol: c.symbol, origClientOrderId: c.clientOrderId };
  }
}
