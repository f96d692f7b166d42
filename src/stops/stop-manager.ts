import type { CommandCoalescer } from '../concurrency/command-coalescer.js';
import { closingSide, type Bar, type Fill, type Position, type PositionSide } from '../vocabulary/market.js';
import type { ProtectiveCommand } from '../vocabulary/orders.js';
import { candidateStop, isTighter, isTriggered, type StopInputs, type StopPolicy } from './stop-rules.js';
import { StopColumns, type StopState } from './stop-columns.js';
import { grown } from '../util/typed-arrays.js';
import type { DesiredStop, ProtectionState } from '../protection/stop-reconciler.js';
import { at, f64At, i32At } from '../util/indexed.js';
import { withDefaults, type WithDefaults } from '../util/defaults.js';

/**
 * `LOCAL`: Bulwark watches bars and sends CLOSE_POSITION when a stop is traded through
 * (so a quarantined symbol's stop can be held for a bar). `BROKER`: the stop rests at the
 * broker as a stop order: the manager states what each position's stop should be (side,
 * size, price) and a {@link ProtectionPort} (the stop reconciler) makes the broker hold it;
 * while the broker cannot be made to (UNPROTECTED), the manager watches bars as in LOCAL mode.
 */
export type StopMode = 'LOCAL' | 'BROKER';

/** What BROKER mode needs of the stop reconciler (see `StopReconciler`). */
export interface ProtectionPort {
  /** What `symbol`'s stop should be; undefined when the position is flat. `sizeConfirmed`: from a position update (see `StopReconciler.setDesired`). */
  setDesired(symbol: string, desired: DesiredStop | undefined, sizeConfirmed?: boolean): void;
  /** The host booked a fill of one of Bulwark's stop orders. */
  fillApplied(symbol: string, clientOrderId: string, quantity: number): void;
  /** True for one of the stop orders managed for `symbol`. */
  isStopOrder(symbol: string, clientOrderId: string): boolean;
  /** The symbol's protection: UNPROTECTED makes the manager watch its bars itself. */
  stateOf(symbol: string): ProtectionState;
  /** Stops managing `symbol` without touching its orders at the broker. */
  release(symbol: string): void;
}

/** The live stop of one position. Read-only to callers; changed only by the manager. */
export interface StopView {
  /** Instrument of the position. */
  readonly symbol: string;
  /** LONG or SHORT. */
  readonly side: PositionSide;
  /** Position size as the latest snapshot showed it, > 0. */
  readonly quantity: number;
  /** Entry price from the snapshot that first showed the position; later snapshots do not change it. */
  readonly entryPrice: number;
  /** Current stop price; NaN while no rule has an opinion. */
  readonly stop: number;
  /** Bumped on every change; a change carrying a lower or equal version is stale. */
  readonly version: number;
  /** OPEN while the stop is live; CLOSING once it triggered or its stop order filled. */
  readonly status: 'OPEN' | 'CLOSING';
}

/** Counters of what the manager did. */
export interface StopCounters {
  /** First stop prices set, one per position at most. */
  placed: number;
  /** Tightenings of a stop after its first price. */
  moved: number;
  /** Stops triggered: traded through and closed here (LOCAL, or BROKER while UNPROTECTED), or filled at the broker. */
  triggered: number;
  /** Triggers held back because the symbol was quarantined. */
  suppressed: number;
  /** Stop changes refused as stale (old version) or loosening. */
  refused: number;
  /** New positions refused over maxPositions. */
  overLimit: number;
}

/** Options of {@link StopManager}. */
export interface StopManagerOptions {
  readonly policy: StopPolicy;
  readonly mode: StopMode;
  readonly maxPositions: number;
  readonly coalescer: CommandCoalescer;
  /** A new client order id for each new intent (a stop, or a close). */
  readonly nextId: () => string;
  /** True while a symbol's bars are suspected bad ticks. */
  readonly isQuarantined: (symbol: string) => boolean;
  /** How long a restored stop waits for its position (ms of the `now` given to syncPositions). Default 300 000. */
  readonly restoreGraceMs?: number;
  /** BROKER mode: where desired stops go. Without it, BROKER mode sends PLACE/AMEND/CANCEL commands itself (no reconciliation). */
  readonly protection?: ProtectionPort;
  /** Told each decision of a kind it `wants` (asked first, so nothing is built for nobody). */
  readonly decisions?: { wants(action: StopAction): boolean; report(decision: StopDecision): void };
}

/** What a stop decision was. */
export type StopAction = 'PLACED' | 'MOVED' | 'TRIGGERED' | 'SUPPRESSED';

/** One stop decision with the inputs it used (for logs and audit). */
export interface StopDecision {
  /** What was decided. */
  readonly action: StopAction;
  /** Instrument of the position. */
  readonly symbol: string;
  /** Side of the position the stop protects. */
  readonly side: PositionSide;
  /** The stop after the decision. */
  readonly stop: number;
  /** The stop before it (NaN for a first stop). */
  readonly previous: number;
  /** The stop's version after the decision (unchanged for TRIGGERED and SUPPRESSED). */
  readonly version: number;
  /** The bar's (or snapshot's) time; NaN when the decision came from outside (a proposal). */
  readonly timestamp: number;
  /** What the rules saw: the close and ATR of the bar, and the position's high and low water. */
  readonly inputs: {
    readonly close: number;
    readonly atr: number;
    readonly highWater: number;
    readonly lowWater: number;
  };
}

/** A protective stop found resting at the broker on start (BROKER mode). */
export interface RestoredStop {
  readonly clientOrderId: string;
  readonly symbol: string;
  /** The stop order's side: SELL protects a LONG position, BUY a SHORT one. */
  readonly side: 'BUY' | 'SELL';
  readonly stopPrice: number;
}

/** What a change request decided. */
export type StopChange = 'MOVED' | 'UNCHANGED' | 'STALE' | 'LOOSER' | 'UNKNOWN';

/**
 * Per-position stop-loss for longs and shorts: the tightest candidate of the policy's rules
 * (fixed, percent, ATR multiple, chandelier, trailing with activation, breakeven), ratcheted
 * so it only tightens, versioned so a stale change never overwrites a newer one. State per
 * position is a dozen numbers, bounded by `maxPositions`; market history lives in the WASM
 * kernels, not here.
 *
 * @example
 * ```ts
 * const stops = new StopManager({ policy, mode: 'LOCAL', maxPositions: 10_000, coalescer, nextId: () => ids.next(), isQuarantined });
 * stops.syncPositions(snapshot.positions);
 * stops.onBar(bar, atrOfSymbol);
 * ```
 */
export class StopManager {
  readonly #o: WithDefaults<StopManagerOptions, 'restoreGraceMs'>;
  readonly #states = new Map<string, StopState>();
  /** The hot numbers of every managed position, one row each (see StopColumns). */
  readonly #cols: StopColumns;
  /** The row of the position of each slot bars are keyed by: -1 when not looked up yet. */
  #rowOfSlot = new Int32Array(0);
  readonly #inputs: { -readonly [K in keyof StopInputs]: StopInputs[K] } = {
    side: 'LONG',
    entryPrice: 0,
    highWater: 0,
    lowWater: 0,
    close: 0,
    atr: Number.NaN,
  };
  readonly counters: StopCounters = { placed: 0, moved: 0, triggered: 0, suppressed: 0, refused: 0, overLimit: 0 };
  /** Stops found resting at the broker on start, by symbol, until their position shows up. */
  readonly #restored = new Map<string, RestoredStop>();
  /** The time of the bar or snapshot being applied (for decision records). */
  #time = Number.NaN;
  /** When the first sync after `restore` ran (the grace period starts there). */
  #restoredSince = Number.NaN;

  constructor(options: StopManagerOptions) {
    this.#o = withDefaults(options, { restoreGraceMs: 300_000 });
    this.#cols = new StopColumns(options.maxPositions);
  }

  /** Positions under management. */
  get size(): number {
    return this.#states.size;
  }

  /** The live stop of `symbol`'s position, or undefined. */
  get(symbol: string): StopView | undefined {
    const s = this.#states.get(symbol);
    return s === undefined ? undefined : view(s);
  }

  /** Every managed stop, as fresh frozen views. */
  views(): StopView[] {
    return [...this.#states.values()].map(view);
  }

  /**
   * Adopts stops already resting at the broker (after a restart): when the position a stop
   * protects next appears in {@link StopManager.syncPositions}, it is managed under that
   * order's client id and price (amended as it tightens, never placed twice). A restored
   * stop whose position has not shown up `restoreGraceMs` after the first sync is cancelled
   * (at once when syncs carry no time). Returns how many were taken (one per symbol; later
   * duplicates for a symbol are cancelled at once).
   */
  restore(stops: readonly RestoredStop[]): number {
    let taken = 0;
    if (this.#restored.size === 0) this.#restoredSince = Number.NaN; // a new grace period
    for (const r of stops) {
      // The same order again (e.g. found at start and again when its symbol's lease comes): nothing to do.
      if (
        this.#restored.get(r.symbol)?.clientOrderId === r.clientOrderId ||
        this.#states.get(r.symbol)?.orderId === r.clientOrderId
      )
        continue;
      if (this.#states.has(r.symbol) || this.#restored.has(r.symbol)) {
        const kept = this.#restored.get(r.symbol);
        // Two stops found for one symbol: the tighter price is the one to keep, the other is
        // cancelled (a reconciler cancels the extra order itself).
        let extra = r;
        if (
          kept !== undefined &&
          kept.side === r.side &&
          isTighter(r.side === 'SELL' ? 'LONG' : 'SHORT', r.stopPrice, kept.stopPrice)
        ) {
          this.#restored.set(r.symbol, r);
          extra = kept;
        }
        if (this.#o.protection === undefined) this.#cancel(r.symbol, extra.clientOrderId);
        continue;
      }
      this.#restored.set(r.symbol, r);
      taken++;
    }
    return taken;
  }

  /**
   * Aligns managed positions with the portfolio: adds new ones (up to maxPositions),
   * updates quantities, drops closed ones (cancelling their resting stops). Returns the
   * symbols refused over the limit. `now` (the snapshot's time) times the grace period of
   * restored stops.
   */
  syncPositions(positions: readonly Position[], now?: number): string[] {
    this.#time = now ?? Number.NaN;
    this.#inputs.atr = Number.NaN;
    // Closed positions are dropped first: counted against maxPositions, they would get a new
    // position that replaces them refused (left without a stop until the next snapshot).
    const live = new Set<string>();
    for (const p of positions) live.add(p.symbol);
    for (const s of [...this.#states.values()]) if (!live.has(s.symbol)) this.#drop(s);
    const refused: string[] = [];
    for (const p of positions) {
      const s = this.#states.get(p.symbol);
      if (s !== undefined && s.side === p.side) {
        s.quantity = p.quantity;
        if (s.stopFilled) {
          s.stopFilled = false;
          s.status = 'OPEN';
        }
        // Every snapshot confirms the size, changed or not (the reconciler waits for one after
        // an execution of the stop before it places or resizes anything).
        this.#desire(s, true);
        continue;
      }
      if (s !== undefined) this.#drop(s); // flipped: a new position on the other side
      if (this.#states.size >= this.#o.maxPositions) {
        this.counters.overLimit++;
        refused.push(p.symbol);
        continue;
      }
      const restored = this.#restored.get(p.symbol);
      const adopt = restored !== undefined && restored.side === closingSide(p.side);
      if (restored !== undefined) this.#restored.delete(p.symbol);
      if (restored !== undefined && !adopt && this.#o.protection === undefined)
        this.#cancel(p.symbol, restored.clientOrderId);
      const state = this.#cols.create({
        symbol: p.symbol,
        side: p.side,
        quantity: p.quantity,
        entryPrice: p.entryPrice,
        openedAt: p.openedAt,
        stop: adopt ? restored.stopPrice : Number.NaN,
        version: adopt ? 1 : 0,
        placed: adopt,
        // With a reconciler the resting order is its to track; this id is for a local close.
        orderId: adopt && this.#o.protection === undefined ? restored.clientOrderId : this.#nextId(),
      });
      this.#states.set(p.symbol, state);
      if (adopt) this.#desire(state, true);
      this.#refresh(state.row, p.entryPrice, Number.NaN);
    }
    // Restored stops whose position has not come back within the grace period protect
    // nothing: cancel them.
    if (this.#restored.size > 0) {
      if (Number.isNaN(this.#restoredSince)) this.#restoredSince = now ?? Number.NEGATIVE_INFINITY;
      const expired = now === undefined || now - this.#restoredSince >= this.#o.restoreGraceMs;
      if (expired) {
        // With a reconciler, orphans of ours are its to cancel (after its own grace).
        if (this.#o.protection === undefined)
          for (const r of this.#restored.values()) this.#cancel(r.symbol, r.clientOrderId);
        this.#restored.clear();
      }
    }
    return refused;
  }

  /**
   * Applies one validated bar: trails the stop with the new high/low, close and ATR, then
   * fires it (LOCAL mode) if the bar traded through it. A quarantined symbol's bar is held
   * back entirely: it neither moves nor fires the stop. `quarantined` defaults to asking
   * the `isQuarantined` option; a caller that already knows passes it. `slot`, a stable
   * small integer per symbol (e.g. a registry slot), lets the lookup be an array index.
   */
  onBar(bar: Bar, atr: number, quarantined?: boolean, slot = -1): void {
    let row: number;
    if (slot >= 0) {
      row = slot < this.#rowOfSlot.length ? i32At(this.#rowOfSlot, slot) : -1;
      if (row < 0) row = this.#bind(bar.symbol, slot);
    } else {
      row = this.#states.get(bar.symbol)?.row ?? -1;
    }
    const c = this.#cols;
    if (row < 0 || c.open[row] === 0) return;
    const side: PositionSide = c.long[row] === 1 ? 'LONG' : 'SHORT';
    const traded = isTriggered(side, f64At(c.stop, row), bar.low, bar.high);
    this.#time = bar.timestamp;
    if (quarantined ?? this.#o.isQuarantined(bar.symbol)) {
      if (traded) {
        const s = at(c.state, row);
        this.counters.suppressed++;
        this.#report('SUPPRESSED', s, s.stop, bar.close, atr);
      }
      return;
    }
    if (traded && (this.#o.mode === 'LOCAL' || this.#o.protection?.stateOf(bar.symbol) === 'UNPROTECTED')) {
      const s = at(c.state, row);
      this.#report('TRIGGERED', s, s.stop, bar.close, atr);
      this.#trigger(s);
      return;
    }
    if (bar.high > f64At(c.highWater, row)) c.highWater[row] = bar.high;
    if (bar.low < f64At(c.lowWater, row)) c.lowWater[row] = bar.low;
    this.#refresh(row, bar.close, atr);
  }

  /**
   * Requests a stop of `price` for `symbol`, valid only if `version` is newer than the live
   * one and the price is tighter: the guard against stale or loosening updates from any
   * source (security finding 4 of the review).
   */
  propose(symbol: string, price: number, version: number): StopChange {
    const s = this.#states.get(symbol);
    if (s === undefined || s.status !== 'OPEN') return 'UNKNOWN';
    if (version <= s.version) {
      this.counters.refused++;
      return 'STALE';
    }
    if (!Number.isFinite(price) || !(price > 0) || !isTighter(s.side, price, s.stop)) {
      this.counters.refused++;
      return 'LOOSER';
    }
    this.#time = Number.NaN; // a proposal from outside: no bar behind it
    this.#inputs.close = Number.NaN;
    this.#inputs.atr = Number.NaN;
    this.#apply(s, price, version);
    return 'MOVED';
  }

  /**
   * Tightens every open stop by `fraction` of its distance to `lastClose` (an anomaly action).
   * `lastClose` gives each symbol's latest close.
   */
  tightenAll(fraction: number, lastClose: (symbol: string) => number): number {
    let moved = 0;
    for (const s of this.#states.values()) {
      const close = lastClose(s.symbol);
      if (s.status !== 'OPEN' || Number.isNaN(s.stop) || !Number.isFinite(close)) continue;
      const target = s.stop + (close - s.stop) * fraction;
      if (isTighter(s.side, target, s.stop) && this.propose(s.symbol, target, s.version + 1) === 'MOVED') moved++;
    }
    return moved;
  }

  /**
   * A fill of one of our stop or close orders marks the stop triggered. In BROKER mode with a
   * reconciler, a partial fill of the resting stop shrinks the position it protects (the rest
   * stays protected), and a full one closes it.
   */
  onFill(fill: Fill): void {
    const s = this.#states.get(fill.symbol);
    const port = this.#o.protection;
    if (port !== undefined && port.isStopOrder(fill.symbol, fill.orderId)) {
      // The position's size comes from the host's snapshots, not from this fill: a fill can
      // arrive after a snapshot that already shows it (or after a flip). The reconciler holds
      // the stop as it is until the next snapshot confirms the size.
      if (s !== undefined && s.status === 'OPEN' && fill.quantity >= s.quantity - 1e-12) {
        // Filled at the broker: the stop stops trailing until a snapshot says whether the
        // position is gone (it usually is) or still there (the fill was old news: re-opened).
        this.counters.triggered++;
        this.#time = fill.timestamp;
        this.#report('TRIGGERED', s, s.stop, fill.price, Number.NaN);
        s.status = 'CLOSING';
        s.stopFilled = true;
      }
      port.fillApplied(fill.symbol, fill.orderId, fill.quantity);
      return;
    }
    if (s === undefined || fill.orderId !== s.orderId) return;
    if (s.status === 'OPEN') {
      // A stop resting at the broker (BROKER mode) executed: the trigger happened there.
      this.counters.triggered++;
      this.#time = fill.timestamp;
      this.#report('TRIGGERED', s, s.stop, fill.price, Number.NaN);
    }
    s.status = 'CLOSING';
  }

  /**
   * The final outcome of a command this manager sent. A close that failed for good re-arms
   * the stop under a new client order id, so the next bar through it fires again.
   */
  onCommandResult(command: ProtectiveCommand, ok: boolean): void {
    if (ok || command.kind !== 'CLOSE_POSITION') return;
    const s = this.#states.get(command.symbol);
    if (s === undefined || s.orderId !== command.clientOrderId || s.status !== 'CLOSING') return;
    s.status = 'OPEN';
    s.orderId = this.#nextId();
    this.#desire(s, false);
  }

  /**
   * Stops managing `symbol`'s position without touching its order at the broker (another
   * instance took it over and adopts that order). True when there was one.
   */
  release(symbol: string): boolean {
    const s = this.#states.get(symbol);
    this.#restored.delete(symbol);
    this.#o.protection?.release(symbol);
    if (s === undefined) return false;
    this.#forget(s);
    return true;
  }

  /** Removes every position (on dispose). */
  clear(): void {
    this.#states.clear();
    this.#cols.clear();
    this.#rowOfSlot.fill(-1);
    this.#restored.clear();
  }

  /** Looks a symbol's position up by name once and remembers its row under `slot`; -1 when none. */
  #bind(symbol: string, slot: number): number {
    const s = this.#states.get(symbol);
    if (s === undefined) return -1;
    const bound = this.#rowOfSlot.length;
    if (slot >= bound) {
      this.#rowOfSlot = grown(this.#rowOfSlot, Math.max(slot + 1, 2 * bound, 64));
      this.#rowOfSlot.fill(-1, bound);
    }
    s.slot = slot;
    this.#rowOfSlot[slot] = s.row;
    return s.row;
  }

  #nextId(): string {
    return this.#o.nextId();
  }

  /** Tightens row `row`'s stop to the policy's candidate for this close and ATR, if tighter. */
  #refresh(row: number, close: number, atr: number): void {
    const c = this.#cols;
    const x = this.#inputs; // one scratch object, refilled: no allocation per bar
    x.side = c.long[row] === 1 ? 'LONG' : 'SHORT';
    x.entryPrice = f64At(c.entryPrice, row);
    x.highWater = f64At(c.highWater, row);
    x.lowWater = f64At(c.lowWater, row);
    x.close = close;
    x.atr = atr;
    const candidate = candidateStop(this.#o.policy, x);
    if (candidate > 0 && isTighter(x.side, candidate, f64At(c.stop, row))) {
      this.#apply(at(c.state, row), candidate, f64At(c.version, row) + 1);
    }
  }

  #apply(s: StopState, price: number, version: number): void {
    const first = Number.isNaN(s.stop);
    this.#report(first ? 'PLACED' : 'MOVED', s, price, this.#inputs.close, this.#inputs.atr, version);
    s.stop = price;
    s.version = version;
    if (first) this.counters.placed++;
    else this.counters.moved++;
    if (this.#o.mode !== 'BROKER') return;
    if (this.#o.protection !== undefined) {
      this.#desire(s, false);
      return;
    }
    const side = closingSide(s.side);
    const command: ProtectiveCommand = s.placed
      ? { kind: 'AMEND_STOP', clientOrderId: s.orderId, symbol: s.symbol, stopPrice: price, version }
      : {
          kind: 'PLACE_STOP',
          clientOrderId: s.orderId,
          symbol: s.symbol,
          side,
          quantity: s.quantity,
          stopPrice: price,
        };
    s.placed = true;
    void this.#o.coalescer.submit(s.symbol, command);
  }

  /** Reports a decision, if anyone wants that kind (before `s` changes: `s.stop` is the previous stop). */
  #report(action: StopAction, s: StopState, stop: number, close: number, atr: number, version = s.version): void {
    const d = this.#o.decisions;
    if (d === undefined || !d.wants(action)) return;
    d.report({
      action,
      symbol: s.symbol,
      side: s.side,
      stop,
      previous: action === 'PLACED' ? Number.NaN : s.stop,
      version,
      timestamp: this.#time,
      inputs: { close, atr, highWater: s.highWater, lowWater: s.lowWater },
    });
  }

  /** BROKER mode with a reconciler: tells it what `s`'s stop should be now (`sizeConfirmed`: the size is from a snapshot). */
  #desire(s: StopState, sizeConfirmed: boolean): void {
    const port = this.#o.protection;
    if (port === undefined || this.#o.mode !== 'BROKER') return;
    if (s.status !== 'OPEN' || !(s.quantity > 0)) port.setDesired(s.symbol, undefined, sizeConfirmed);
    else if (!Number.isNaN(s.stop))
      port.setDesired(s.symbol, { side: closingSide(s.side), quantity: s.quantity, stopPrice: s.stop }, sizeConfirmed);
  }

  #trigger(s: StopState): void {
    s.status = 'CLOSING';
    this.counters.triggered++;
    // Closed here (LOCAL mode, or BROKER mode while the broker cannot hold the stop): no stop should rest any more.
    this.#desire(s, false);
    void this.#o.coalescer.submit(s.symbol, {
      kind: 'CLOSE_POSITION',
      clientOrderId: s.orderId,
      symbol: s.symbol,
      side: closingSide(s.side),
      quantity: s.quantity,
    });
  }

  /** Stops managing `s` and cancels its resting stop, if one is working at the broker. */
  #drop(s: StopState): void {
    this.#forget(s);
    if (this.#o.mode !== 'BROKER') return;
    if (this.#o.protection !== undefined) this.#o.protection.setDesired(s.symbol, undefined);
    else if (s.placed && s.status === 'OPEN') this.#cancel(s.symbol, s.orderId);
  }

  /** Removes `s` from the manager's maps (nothing is sent). */
  #forget(s: StopState): void {
    this.#states.delete(s.symbol);
    if (s.slot >= 0 && s.slot < this.#rowOfSlot.length) this.#rowOfSlot[s.slot] = -1;
    this.#cols.release(s);
  }

  #cancel(symbol: string, clientOrderId: string): void {
    void this.#o.coalescer.submit(symbol, { kind: 'CANCEL', clientOrderId, symbol });
  }
}

function view(s: StopState): StopView {
  return Object.freeze({
    symbol: s.symbol,
    side: s.side,
    quantity: s.quantity,
    entryPrice: s.entryPrice,
    stop: s.stop,
    version: s.version,
    status: s.status,
  });
}
