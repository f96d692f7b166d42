import { ExponentialBackoff } from 'cockatiel';
import { SYSTEM_CLOCK, type Clock, type TimerHandle } from '../util/clock.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import type { ObservedOrder } from '../vocabulary/services.js';
import { roundQuantity, roundStopPrice } from '../egress/decimal.js';
import { classifyResult, type ResultClass } from './result-class.js';
import { withDefaults, type WithDefaults } from '../util/defaults.js';
import type {
  DesiredStop,
  ProtectionRow,
  ProtectionState,
  ProtectionSummary,
  StopReconcilerOptions,
} from './protection-types.js';
import { awaitsBooking, isLive, type Action, type Entry, type Tracked } from './reconciler-entry.js';

export type {
  DesiredStop,
  ProtectionChange,
  ProtectionRow,
  ProtectionState,
  ProtectionSummary,
  StopReconcilerOptions,
} from './protection-types.js';

/** The defaults of {@link StopReconcilerOptions}, in one place. */
const RECONCILER_DEFAULTS = {
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  rereadMs: 30_000,
  fenceMs: 5_000,
  unprotectedAfterMs: 10_000,
  orphanGraceMs: 300_000,
  hardRetryMs: 60_000,
} as const;

/**
 * Converges the broker's protective stops (observed) to the plugin's (desired), as a
 * controller does. Desired state per symbol comes from the plugin: side, size and stop price,
 * or flat. Observed state is only what the broker has shown: its answers carrying an order,
 * `order.status` and open-order reads, and the host's fills of Bulwark's orders. A command
 * whose outcome is unknown is never taken as done: the order stays UNKNOWN until the broker
 * shows it. Each symbol has at most one command in flight; every step re-plans from the
 * latest desired and observed state, so a stop that moved five times while an amend was in
 * flight costs one more amend, not five.
 *
 * Per symbol it places, amends (price and size; or, where the order path declares
 * `amend: 'cancel-replace'`, replaces the stop under a new client id), cancels extra or wrong-side stops and
 * orphans of Bulwark's own ids, and retries with exponential backoff until converged. A hard
 * rejection makes the symbol UNPROTECTED (with the broker's code) until the desired stop
 * changes or `hardRetryMs` passes; so does a position with no stop resting for
 * `unprotectedAfterMs`. It re-reads the broker's open orders every `rereadMs`, and on
 * {@link StopReconciler.reread} (after a reconnect, a `seq` gap, a restart).
 *
 * @example
 * ```ts
 * const r = new StopReconciler({ orders, nextId, isOurs: (id) => id.startsWith('bw-'), tickSize: () => 0.01, lotSize: () => 1 });
 * await r.start();
 * r.setDesired('AAPL', { side: 'SELL', quantity: 10, stopPrice: 98.1 });
 * await r.whenConverged();
 * ```
 */
export class StopReconciler {
  readonly #o: WithDefaults<StopReconcilerOptions, keyof typeof RECONCILER_DEFAULTS>;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #backoff: ExponentialBackoff<unknown>;
  readonly #counts = { CONVERGED: 0, PENDING: 0, UNPROTECTED: 0 };
  #active = 0;
  readonly #idle: Array<() => void> = [];
  readonly #converged: Array<() => void> = [];
  #rereadTimer: TimerHandle | undefined;
  #rereading: Promise<void> | undefined;
  #rereadAgain = false;
  #disposed = false;
  /** Versions of amends: rising, so an order path that drops stale amends never drops ours. */
  #version = 0;
  /** Commands sent, by kind, and status reads. */
  readonly sent = { place: 0, amend: 0, replace: 0, cancel: 0, status: 0, reads: 0 };

  constructor(options: StopReconcilerOptions) {
    this.#o = withDefaults(options, RECONCILER_DEFAULTS);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#backoff = new ExponentialBackoff({ initialDelay: this.#o.initialBackoffMs, maxDelay: this.#o.maxBackoffMs });
  }

  /** Reads the broker once (adopting Bulwark's resting stops) and starts the periodic re-read. */
  async start(): Promise<void> {
    await this.reread();
  }

  /**
   * Sets what `symbol`'s stop should be (undefined: the position is flat, so no stop).
   * `sizeConfirmed`: the size comes from a position update (a snapshot) made after every
   * execution seen so far; a stop's price move passes false. Until a confirmed size follows an
   * execution of one of our stops, no stop is placed or changed for the old size.
   */
  setDesired(symbol: string, desired: DesiredStop | undefined, sizeConfirmed = true): void {
    if (this.#disposed) return;
    const e = this.#entry(symbol);
    if (sizeConfirmed) {
      e.sizeEpoch++;
      if (e.fenceEpoch !== undefined && e.sizeEpoch > e.fenceEpoch) this.#kick(e);
    }
    const d = e.desired;
    if (
      desired !== undefined &&
      d != null &&
      d.side === desired.side &&
      d.quantity === desired.quantity &&
      d.stopPrice === desired.stopPrice
    )
      return;
    if (desired === undefined && d === undefined) return;
    e.desired =
      desired === undefined
        ? undefined
        : Object.freeze({ side: desired.side, quantity: desired.quantity, stopPrice: desired.stopPrice });
    this.#kick(e);
  }

  /**
   * Stops managing `symbol` without touching its orders at the broker (another instance took
   * it over and adopts them).
   */
  release(symbol: string): void {
    const e = this.#entries.get(symbol);
    if (e === undefined) return;
    this.#clock.clearTimeout(e.timer);
    this.#setState(e, 'CONVERGED', undefined, undefined);
    this.#counts.CONVERGED--;
    this.#entries.delete(symbol);
  }

  /** True when `clientOrderId` is one of the stop orders this reconciler manages. */
  isStopOrder(symbol: string, clientOrderId: string): boolean {
    return this.#entries.get(symbol)?.orders.has(clientOrderId) === true;
  }

  /**
   * The host booked `quantity` of `clientOrderId` (one of Bulwark's stops on `symbol`) as a
   * fill: the broker executed it. The position's size still comes from the host's snapshots:
   * nothing is placed or resized for the symbol until the next one (see `setDesired`).
   */
  fillApplied(symbol: string, clientOrderId: string, quantity: number): void {
    const e = this.#entries.get(symbol);
    const t = e?.orders.get(clientOrderId);
    if (e === undefined || t === undefined || !(quantity > 0)) return;
    t.acked += quantity;
    if (t.acked > t.executed) {
      this.#fence(e, t.acked - t.executed);
      t.executed = t.acked;
    }
    if (t.acked >= t.executed) t.unbookedSince = Number.NaN;
    if (t.executed >= t.quantity - 1e-12 && t.status !== 'UNKNOWN') t.status = 'FILLED';
    else if (t.status === 'NEW') t.status = 'PARTIALLY_FILLED';
    this.#kick(e);
  }

  /** Symbols UNPROTECTED now (what `summary().unprotected` says, without building the summary). */
  get unprotected(): number {
    return this.#counts.UNPROTECTED;
  }

  /** Counts of states over managed symbols. */
  summary(): ProtectionSummary {
    return Object.freeze({
      converged: this.#counts.CONVERGED,
      pending: this.#counts.PENDING,
      unprotected: this.#counts.UNPROTECTED,
    });
  }

  /** The state of `symbol`'s protection (CONVERGED for a symbol never managed). */
  stateOf(symbol: string): ProtectionState {
    return this.#entries.get(symbol)?.state ?? 'CONVERGED';
  }

  /** Every managed symbol's protection, for reports. */
  rows(): ProtectionRow[] {
    const out: ProtectionRow[] = [];
    for (const e of this.#entries.values()) {
      const live = [...e.orders.values()].filter(isLive).map((t) =>
        Object.freeze({
          clientOrderId: t.id,
          side: t.side,
          quantity: t.quantity - t.executed,
          stopPrice: t.stopPrice,
        }),
      );
      out.push(
        Object.freeze({
          symbol: e.symbol,
          state: e.state,
          ...(e.code === undefined ? {} : { code: e.code }),
          ...(e.desired == null ? {} : { desired: e.desired }),
          live,
        }),
      );
    }
    return out;
  }

  /** True while a command or read is in flight. */
  get busy(): boolean {
    return this.#active > 0;
  }

  /** Resolves when no command or read is in flight (what is left waits for a timer, or nothing is left). */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Resolves once every managed symbol is CONVERGED. */
  whenConverged(): Promise<void> {
    if (this.#allConverged()) return Promise.resolve();
    return new Promise((resolve) => this.#converged.push(resolve));
  }

  /**
   * Reads Bulwark's orders at the broker (`observedOpenOrders`, else `openOrders`) and merges
   * them: unknown ones of ours are adopted under their symbol, tracked live ones missing from
   * the list are asked about by `order.status`. Then every symbol is re-planned. Concurrent
   * calls share one read (and one more runs after it if asked meanwhile).
   */
  reread(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    if (this.#rereading !== undefined) {
      this.#rereadAgain = true;
      return this.#rereading;
    }
    this.#active++;
    this.#rereading = this.#read()
      .catch(() => {
        // The broker could not list: asked again at the next re-read, sooner than usual.
        this.#scheduleReread(this.#o.initialBackoffMs);
      })
      .finally(() => {
        this.#rereading = undefined;
        this.#done();
        if (this.#rereadAgain) {
          this.#rereadAgain = false;
          void this.reread();
        }
      });
    return this.#rereading;
  }

  /** Stops every timer; nothing changes state afterwards. */
  dispose(): void {
    this.#disposed = true;
    this.#clock.clearTimeout(this.#rereadTimer);
    for (const e of this.#entries.values()) this.#clock.clearTimeout(e.timer);
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #read(): Promise<void> {
    this.sent.reads++;
    const protective = new Set<string>();
    const orders = await this.#listOpen(protective);
    if (this.#disposed) return;
    const seen = new Set<string>();
    for (const o of orders) {
      if (
        o.type !== 'STOP' ||
        !(this.#o.isOurs(o.clientOrderId) || protective.has(o.clientOrderId)) ||
        this.#o.manages?.(o.symbol) === false
      )
        continue;
      seen.add(o.clientOrderId);
      const e = this.#entry(o.symbol);
      let t = e.orders.get(o.clientOrderId);
      if (t === undefined) {
        t = {
          id: o.clientOrderId,
          side: o.side,
          quantity: o.quantity,
          executed: o.executedQty,
          acked: o.executedQty,
          stopPrice: o.price ?? Number.NaN,
          status: o.status,
          unbookedSince: Number.NaN,
          bookAsked: 0,
        };
        e.orders.set(t.id, t);
      } else this.#update(t, o, e);
    }
    for (const e of this.#entries.values()) {
      for (const t of e.orders.values()) if (isLive(t) && !seen.has(t.id)) t.status = 'UNKNOWN'; // no longer open: ask what became of it
      this.#kick(e);
    }
    this.#scheduleReread(this.#o.rereadMs);
  }

  /** The broker's open orders; `protective` collects those the order service marks PROTECTIVE (its own record of Bulwark's orders). */
  async #listOpen(protective?: Set<string>): Promise<readonly ObservedOrder[]> {
    const orders = this.#o.orders;
    if (orders.observedOpenOrders !== undefined) return orders.observedOpenOrders();
    const open = await orders.openOrders();
    for (const o of open) if (o.intent === 'PROTECTIVE') protective?.add(o.clientOrderId);
    return open.map((o) => ({
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      quantity: o.quantity,
      executedQty: 0,
      ...(o.price === undefined ? {} : { price: o.price }),
      status: 'NEW' as const,
    }));
  }

  #scheduleReread(ms: number): void {
    if (this.#disposed) return;
    this.#clock.clearTimeout(this.#rereadTimer);
    this.#rereadTimer = this.#clock.setTimeout(() => {
      this.#rereadTimer = undefined;
      void this.reread();
    }, ms);
    if (typeof this.#rereadTimer === 'object' && 'unref' in this.#rereadTimer) this.#rereadTimer.unref();
  }

  #entry(symbol: string): Entry {
    let e = this.#entries.get(symbol);
    if (e === undefined) {
      e = {
        symbol,
        desired: null,
        orders: new Map(),
        running: false,
        kicked: false,
        timer: undefined,
        backoff: undefined,
        state: 'CONVERGED',
        code: undefined,
        message: undefined,
        hard: undefined,
        since: this.#clock.now(),
        bareSince: Number.NaN,
        sizeEpoch: 0,
        fenceEpoch: undefined,
        fenceSince: Number.NaN,
        fenceExecuted: 0,
      };
      this.#counts.CONVERGED++;
      this.#entries.set(symbol, e);
    }
    return e;
  }

  #update(t: Tracked, o: ObservedOrder, e: Entry): void {
    t.side = o.side;
    t.quantity = o.quantity;
    const before = t.executed;
    t.executed = Math.max(o.executedQty, t.acked);
    if (t.executed > before) this.#fence(e, t.executed - before);
    if (t.executed > t.acked && Number.isNaN(t.unbookedSince)) t.unbookedSince = this.#clock.now();
    if (o.price !== undefined) t.stopPrice = o.price;
    t.status = o.status;
  }

  /** Notes that `executed` more of one of `e`'s stops executed at the broker (see `setDesired`). */
  #fence(e: Entry, executed: number): void {
    if (e.fenceEpoch === undefined) {
      e.fenceEpoch = e.sizeEpoch;
      e.fenceSince = this.#clock.now();
      e.fenceExecuted = 0;
    }
    e.fenceExecuted += executed;
  }

  /**
   * Starts `e`'s step unless one runs (it re-plans from the latest state anyway), after the
   * current synchronous work: a host that books a fill and then updates the position in one
   * call is planned for once, with both applied.
   */
  #kick(e: Entry): void {
    if (this.#disposed || e.running || e.kicked) return;
    e.kicked = true;
    this.#clock.clearTimeout(e.timer);
    e.timer = undefined;
    this.#active++; // a step is due: not idle
    queueMicrotask(() => {
      e.kicked = false;
      this.#done();
      void this.#step(e);
    });
  }

  #later(e: Entry, ms: number): void {
    this.#clock.clearTimeout(e.timer);
    e.timer = this.#clock.setTimeout(
      () => {
        e.timer = undefined;
        void this.#step(e);
      },
      Math.max(0, ms),
    );
  }

  /** Read through a call, so that a check after an `await` is not narrowed by one before it. */
  #isDisposed(): boolean {
    return this.#disposed;
  }

  async #step(e: Entry): Promise<void> {
    if (e.running || e.kicked || this.#disposed) return;
    e.running = true;
    this.#active++;
    try {
      // A released symbol (another instance took it over) is left as it is, mid-step included.
      for (let i = 0; i < 64 && !this.#isDisposed() && this.#entries.get(e.symbol) === e; i++) {
        const action = this.#plan(e);
        if (action.kind === 'DONE') {
          this.#setState(e, action.state, action.code, action.message);
          e.backoff = undefined;
          this.#prune(e);
          // An unbooked execution not yet due to be booked: look again when it is.
          const due = this.#bookDue(e);
          if (due !== undefined && this.#entries.get(e.symbol) === e) this.#later(e, due - this.#clock.now());
          return;
        }
        if (action.kind === 'WAIT') {
          this.#setState(e, action.state, action.code, action.message);
          this.#later(e, action.until - this.#clock.now());
          return;
        }
        if (e.state === 'CONVERGED') this.#setState(e, 'PENDING', undefined, undefined);
        const progressed = await this.#act(e, action);
        if (this.#entries.get(e.symbol) !== e) return;
        if (!progressed) {
          e.backoff = (e.backoff ?? this.#backoff).next(undefined);
          const bare = this.#bareFor(e);
          this.#setState(e, bare ? 'UNPROTECTED' : e.state, bare ? 'NO_STOP_AT_BROKER' : e.code, e.message);
          this.#later(e, e.backoff.duration);
          return;
        }
      }
      if (!this.#isDisposed() && this.#entries.get(e.symbol) === e) this.#later(e, 0);
    } finally {
      e.running = false;
      this.#done();
    }
  }

  /** When the earliest execution the host has not booked is due to be booked from the broker's record; undefined when none waits. */
  #bookDue(e: Entry): number | undefined {
    let due: number | undefined;
    for (const t of e.orders.values()) {
      if (!awaitsBooking(t)) continue;
      const at = t.unbookedSince + this.#o.fenceMs;
      if (due === undefined || at < due) due = at;
    }
    return due;
  }

  /** True when the position has had no stop of its side resting for `unprotectedAfterMs`. */
  #bareFor(e: Entry): boolean {
    return !Number.isNaN(e.bareSince) && this.#clock.now() - e.bareSince >= this.#o.unprotectedAfterMs;
  }

  #plan(e: Entry): Action {
    const now = this.#clock.now();
    for (const t of e.orders.values()) if (t.status === 'UNKNOWN') return { kind: 'STATUS', order: t };
    // An execution of one of our stops seen after the last position update: the desired size
    // predates it. Wait for an update (the host's snapshot), or, after fenceMs, take what
    // executed off the size.
    if (e.fenceEpoch !== undefined) {
      if (e.sizeEpoch <= e.fenceEpoch) {
        const until = e.fenceSince + this.#o.fenceMs;
        if (now < until) return { kind: 'WAIT', until, state: 'PENDING' };
        if (e.desired != null) {
          const rest = e.desired.quantity - e.fenceExecuted;
          e.desired = rest > 1e-12 ? Object.freeze({ ...e.desired, quantity: rest }) : undefined;
        }
      }
      e.fenceEpoch = undefined;
      e.fenceSince = Number.NaN;
      e.fenceExecuted = 0;
    }
    // An execution the host has not booked for fenceMs (its report lost, with no later report
    // to show a seq gap): the order path is asked to book it from the broker's record.
    for (const t of e.orders.values()) {
      if (!awaitsBooking(t)) continue;
      if (now < t.unbookedSince + this.#o.fenceMs) continue;
      t.bookAsked = t.executed;
      this.#o.orders.bookExecuted?.({
        clientOrderId: t.id,
        symbol: e.symbol,
        side: t.side,
        type: 'STOP',
        quantity: t.quantity,
        executedQty: t.executed,
        price: t.stopPrice,
        status: t.executed >= t.quantity ? 'FILLED' : 'PARTIALLY_FILLED',
      });
    }
    const live = [...e.orders.values()].filter(isLive);
    let desired = e.desired;
    if (desired === null) {
      // Found at the broker before the plugin spoke of the symbol: wait for its position.
      if (live.length === 0) return { kind: 'DONE', state: 'CONVERGED' };
      const until = e.since + this.#o.orphanGraceMs;
      if (now < until) return { kind: 'WAIT', until, state: 'PENDING' };
      desired = undefined;
    }
    if (desired === undefined) {
      e.bareSince = Number.NaN;
      const first = live[0];
      return first === undefined ? { kind: 'DONE', state: 'CONVERGED' } : { kind: 'CANCEL', order: first };
    }
    const want = this.#rounded(e.symbol, desired);
    if (!(want.quantity > 0)) {
      e.bareSince = Number.NaN;
      const first = live[0];
      if (first !== undefined) return { kind: 'CANCEL', order: first };
      return {
        kind: 'DONE',
        state: 'UNPROTECTED',
        code: 'QUANTITY_BELOW_LOT',
        message: `${desired.quantity} rounds to 0 at lot ${this.#o.lotSize(e.symbol)}`,
      };
    }
    const tick = this.#o.tickSize(e.symbol);
    const lot = this.#o.lotSize(e.symbol);
    const matches = (t: Tracked) =>
      t.side === want.side &&
      Math.abs(t.stopPrice - want.stopPrice) < tick / 2 &&
      Math.abs(t.quantity - t.executed - want.quantity) < lot / 2;
    const keep = live.find(matches) ?? live.find((t) => t.side === want.side);
    const extra = live.find((t) => t !== keep);
    if (extra !== undefined) return { kind: 'CANCEL', order: extra };
    if (keep === undefined) {
      if (Number.isNaN(e.bareSince)) e.bareSince = now;
    } else e.bareSince = Number.NaN;
    const key = `${want.side}:${want.quantity}:${want.stopPrice}`;
    const hard = e.hard !== undefined && e.hard.key === key && now < e.hard.until ? e.hard : undefined;
    if (keep !== undefined && matches(keep)) {
      e.hard = undefined;
      return { kind: 'DONE', state: 'CONVERGED' };
    }
    if (hard !== undefined)
      return { kind: 'WAIT', until: hard.until, state: 'UNPROTECTED', code: hard.code, message: hard.message };
    // A placement the broker never saw is re-sent under the same client id (so it can exist once only).
    const unsent = [...e.orders.values()].find((t) => t.status === 'NEVER' && t.side === want.side && t.executed === 0);
    if (keep !== undefined) {
      // A venue that cannot amend in place replaces the stop under a new id, in one request.
      if (this.#o.orders.amend === 'cancel-replace')
        return { kind: 'REPLACE', order: keep, id: unsent?.id ?? this.#o.nextId(), want };
      return { kind: 'AMEND', order: keep, want };
    }
    return { kind: 'PLACE', id: unsent?.id ?? this.#o.nextId(), want };
  }

  #rounded(symbol: string, d: DesiredStop): DesiredStop {
    return {
      side: d.side,
      quantity: roundQuantity(d.quantity, this.#o.lotSize(symbol)),
      stopPrice: roundStopPrice(d.stopPrice, d.side, this.#o.tickSize(symbol)),
    };
  }

  /** Sends one command or read; true when it moved things on (the next plan may act at once), false to back off. */
  async #act(e: Entry, a: Exclude<Action, { kind: 'DONE' | 'WAIT' }>): Promise<boolean> {
    const orders = this.#o.orders;
    switch (a.kind) {
      case 'STATUS': {
        this.sent.status++;
        const t = a.order;
        if (orders.orderStatus === undefined) {
          // No status query: the open-order list is all we can read.
          const open = await this.#listOpen().catch(() => undefined);
          if (open === undefined) return false;
          const o = open.find((x) => x.clientOrderId === t.id);
          if (o === undefined) t.status = t.executed > 0 ? 'FILLED' : 'NEVER';
          else this.#update(t, o, e);
          return true;
        }
        let o: ObservedOrder | undefined;
        try {
          o = await orders.orderStatus(e.symbol, t.id);
        } catch {
          return false; // still unknown: asked again after a backoff
        }
        if (o === undefined) t.status = 'NEVER';
        else this.#update(t, o, e);
        return true;
      }
      case 'CANCEL': {
        this.sent.cancel++;
        const t = a.order;
        const r = await this.#send({ kind: 'CANCEL', clientOrderId: t.id, symbol: e.symbol });
        return this.#after(e, t, r, () => (t.status = 'CANCELED'));
      }
      case 'PLACE': {
        this.sent.place++;
        const { want } = a;
        const t = this.#placing(e, a.id, want);
        const r = await this.#send({
          kind: 'PLACE_STOP',
          clientOrderId: t.id,
          symbol: e.symbol,
          side: want.side,
          quantity: want.quantity,
          stopPrice: want.stopPrice,
        });
        return this.#after(
          e,
          t,
          r,
          () => (t.status = 'NEW'),
          `${want.side}:${want.quantity}:${want.stopPrice}`,
          'STOP_REJECTED',
        );
      }
      case 'REPLACE': {
        this.sent.replace++;
        const { want, order: old } = a;
        const t = this.#placing(e, a.id, want);
        const r = await this.#send({
          kind: 'REPLACE_STOP',
          clientOrderId: t.id,
          replaces: old.id,
          symbol: e.symbol,
          side: want.side,
          quantity: want.quantity,
          stopPrice: want.stopPrice,
        });
        const cls: ResultClass = r === undefined ? 'UNKNOWN' : classifyResult(r);
        // Done: the old link is as the broker showed it in the answer (cancelled, with what had
        // executed). Not sent: the old link is untouched. Anything else (an answer without the
        // old link, a venue's partial failure that cancels the old stop and refuses the new
        // one, an unknown outcome): the broker is asked what became of it.
        if (cls === 'OK' && r?.ok === true && r.replaced !== undefined) this.#update(old, r.replaced, e);
        else if (cls !== 'NOT_SENT') old.status = 'UNKNOWN';
        return this.#after(
          e,
          t,
          r,
          () => (t.status = 'NEW'),
          `${want.side}:${want.quantity}:${want.stopPrice}`,
          'STOP_REJECTED',
        );
      }
      case 'AMEND': {
        this.sent.amend++;
        const { want, order: t } = a;
        const quantity = t.executed + want.quantity;
        const r = await this.#send({
          kind: 'AMEND_STOP',
          clientOrderId: t.id,
          symbol: e.symbol,
          stopPrice: want.stopPrice,
          quantity,
          version: ++this.#version,
        });
        return this.#after(
          e,
          t,
          r,
          () => {
            t.stopPrice = want.stopPrice;
            t.quantity = quantity;
          },
          `${want.side}:${want.quantity}:${want.stopPrice}`,
          'AMEND_REJECTED',
        );
      }
    }
  }

  /** The tracked order a placement (or a replace's new link) is sent as: UNKNOWN until the broker answers. */
  #placing(e: Entry, id: string, want: DesiredStop): Tracked {
    let t = e.orders.get(id);
    if (t === undefined) {
      t = {
        id,
        side: want.side,
        quantity: want.quantity,
        executed: 0,
        acked: 0,
        stopPrice: want.stopPrice,
        status: 'UNKNOWN',
        unbookedSince: Number.NaN,
        bookAsked: 0,
      };
      e.orders.set(t.id, t);
    }
    // Unknown until the broker answers: a lost answer leaves it to `order.status`.
    t.side = want.side;
    t.quantity = want.quantity;
    t.stopPrice = want.stopPrice;
    t.status = 'UNKNOWN';
    return t;
  }

  async #send(command: ProtectiveCommand): Promise<CommandResult | undefined> {
    try {
      return await this.#o.orders.send(command);
    } catch {
      return undefined; // the order path threw: the outcome is unknown
    }
  }

  /**
   * Applies a command's answer to `t`: an order shown is taken as observed; an answer without
   * one (an in-process order service) applies `assume`; a hard rejection is remembered under
   * `hardKey`; an unknown outcome leaves `t` UNKNOWN for `order.status`.
   */
  #after(
    e: Entry,
    t: Tracked,
    r: CommandResult | undefined,
    assume: () => void,
    hardKey?: string,
    hardCode?: string,
  ): boolean {
    const cls: ResultClass = r === undefined ? 'UNKNOWN' : classifyResult(r);
    switch (cls) {
      case 'OK':
        if (r?.ok === true && r.order !== undefined) this.#update(t, r.order, e);
        else assume();
        e.hard = undefined;
        return true;
      case 'UNKNOWN':
      case 'RECHECK':
        t.status = 'UNKNOWN';
        return cls === 'RECHECK';
      case 'NOT_SENT':
        // Not executed (busy, rate-limited, not connected, closed): a placement never reached it.
        if (t.status === 'UNKNOWN') t.status = 'NEVER';
        return false;
      case 'HARD': {
        if (t.status === 'UNKNOWN') t.status = 'NEVER';
        const code = r !== undefined && !r.ok ? r.code : 'REJECTED';
        const message = r !== undefined && !r.ok ? r.message : '';
        if (hardKey !== undefined)
          e.hard = {
            key: hardKey,
            until: this.#clock.now() + this.#o.hardRetryMs,
            code: hardCode ?? 'STOP_REJECTED',
            message: `${code}: ${message}`,
          };
        return true;
      }
    }
  }

  /** Drops final and never-accepted orders of a converged symbol, and the symbol when nothing is left. */
  #prune(e: Entry): void {
    for (const [id, t] of e.orders)
      if (!isLive(t) && t.status !== 'UNKNOWN' && t.executed <= t.acked) e.orders.delete(id);
    if (e.orders.size === 0 && e.desired == null && e.state === 'CONVERGED' && e.timer === undefined) {
      this.#counts.CONVERGED--;
      this.#entries.delete(e.symbol);
    }
  }

  #setState(e: Entry, to: ProtectionState, code: string | undefined, message: string | undefined): void {
    const from = e.state;
    const changed = from !== to || e.code !== code;
    e.code = to === 'CONVERGED' ? undefined : code;
    e.message = to === 'CONVERGED' ? undefined : message;
    if (from !== to) {
      this.#counts[from]--;
      this.#counts[to]++;
      e.state = to;
    }
    if (changed)
      this.#o.onChange?.(
        Object.freeze({
          symbol: e.symbol,
          from,
          to,
          ...(e.code === undefined ? {} : { code: e.code }),
          ...(e.message === undefined ? {} : { message: e.message }),
        }),
      );
    if (to === 'CONVERGED' && this.#allConverged()) for (const resolve of this.#converged.splice(0)) resolve();
  }

  #allConverged(): boolean {
    return this.#counts.PENDING === 0 && this.#counts.UNPROTECTED === 0;
  }

  #done(): void {
    this.#active--;
    if (this.#active === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}
