import { AnomalyDetector } from '../anomaly/detector.js';
import type { AnomalyEvent, AnomalyType } from '../anomaly/events.js';
import { SymbolRegistry } from '../market/symbol-registry.js';
import { BarColumns } from '../market/bar-columns.js';
import { RoundSplitter } from '../market/round-splitter.js';
import { CommandCoalescer } from '../concurrency/command-coalescer.js';
import { ClientOrderIdFactory } from '../egress/client-order-id.js';
import { DrawdownController } from '../drawdown/drawdown-controller.js';
import type { EnginePlugin } from '../engine/plugin.js';
import { BulwarkError } from '../errors.js';
import type { AtrBank } from '../kernels/atr.js';
import { loadKernels } from '../kernels/load.js';
import { StopManager, type RestoredStop, type StopView } from '../stops/stop-manager.js';
import { StopReconciler } from '../protection/stop-reconciler.js';
import type { Clock } from '../util/clock.js';
import { RejectionCounter } from '../validation/rejection-counter.js';
import { validBarInto, validateBar, validateFill, validateOrder, validateSnapshot } from '../validation/records.js';
import type { Rejection } from '../validation/validated.js';
import { closingSide, type Bar, type Fill, type PortfolioSnapshot } from '../vocabulary/market.js';
import { ALLOW, deny, type OrderDecision, type OrderRequest, type ProtectiveCommand } from '../vocabulary/orders.js';
import type { DenyCode } from '../vocabulary/reason-codes.js';
import type { OpenOrder, PluginContext } from '../vocabulary/services.js';
import type { RiskLogger } from '../logging/logger.js';
import { logRiskEvent } from '../logging/risk-log.js';
import { BulwarkMetrics } from '../metrics/bulwark-metrics.js';
import { notifyAll } from '../util/notify.js';
import type { CoordinatorEvent, InstanceCoordinator } from '../coordination/events.js';
import { stricter, type TradingState } from '../vocabulary/trading-state.js';
import { resolveRiskConfig, type ResolvedRiskConfig, type RiskPluginConfig } from './config.js';
import { BarMailbox } from './bar-mailbox.js';
import type { RiskPluginStats } from './plugin-stats.js';
import type { RiskEvent, RiskListener } from './risk-events.js';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `raw[key]` when it is a string; undefined when not, or when reading it throws (a hostile getter or proxy). */
function readString(raw: unknown, key: string): string | undefined {
  try {
    const v = (raw as Record<string, unknown> | null | undefined)?.[key];
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The stops' own ATR bank's input columns (NaN where a symbol has no bar this round) and its current values. */
interface AtrColumns {
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly now: Float64Array;
}

/** The protection summary outside BROKER mode. */
const NO_PROTECTION = Object.freeze({ converged: 0, pending: 0, unprotected: 0 });

/** Snapshots a quarantine episode may keep from the ladder before equity is taken as is. */
const MAX_DEFERRED_SNAPSHOTS = 3;

/**
 * Bulwark's risk plugin: validates every input, feeds the WASM kernels one call per bar
 * batch, trails and fires stops, runs the drawdown ladder and anomaly detection, and vetoes
 * orders that the trading state forbids. Create it with {@link createRiskPlugin}.
 *
 * @example
 * ```ts
 * const plugin = createRiskPlugin();
 * await plugin.onInit(ctx);                // the host's portfolio and order services
 * await plugin.onBars(bars);               // one time slice, all symbols
 * plugin.onPortfolio(snapshot);            // positions to protect, equity for the ladder
 * const d = plugin.beforeOrder(order);     // { allow: true } or { allow: false, code, message }
 * ```
 */
export class RiskPlugin implements EnginePlugin {
  readonly name: string;
  readonly config: ResolvedRiskConfig;
  readonly #rejections = new RejectionCounter();
  #restoredStops = 0;
  #restoreFailed = false;
  readonly #coordinator: InstanceCoordinator | undefined;
  readonly #clock: Clock | undefined;
  readonly #logger: RiskLogger | undefined;
  /** This plugin's Prometheus metrics; `metrics.registry` is what a `/metrics` endpoint serves. */
  readonly metrics: BulwarkMetrics;
  /** The logger's levels, read once per batch (pino's isLevelEnabled costs ~50 ns a call). */
  readonly #logs = { debug: false, info: false, warn: false };
  readonly #listeners = new Set<RiskListener>();
  readonly #mailbox: BarMailbox;
  readonly #ids = new ClientOrderIdFactory('bw');
  readonly #denied = new Map<DenyCode, number>();
  /** Every position of the host's last accepted snapshot (bounded by the snapshot's own limit). */
  readonly #book = new Map<string, { readonly side: 'LONG' | 'SHORT'; readonly quantity: number }>();
  readonly #anomalies = new Map<AnomalyType, number>();
  #ctx: PluginContext | undefined;
  #init: Promise<void> | undefined;
  #atr: AtrBank | undefined;
  /** True when the stops read the detector's short ATR (same period) instead of their own bank. */
  #sharedAtr = false;
  #detector: AnomalyDetector | undefined;
  readonly #registry: SymbolRegistry;
  #drawdown: DrawdownController | undefined;
  #stops: StopManager | undefined;
  #coalescer: CommandCoalescer | undefined;
  #reconciler: StopReconciler | undefined;
  #unsubscribeCoordinator: (() => void) | undefined;
  #atrIn: AtrColumns | undefined;
  #lastTimestamp: Float64Array;
  #lastClose: Float64Array;
  #state: TradingState = 'ACTIVE';
  #reduceUntil = Number.NEGATIVE_INFINITY;
  #deferredInARow = 0;
  /** The batch being processed, validated into columns (reused); and the one being queued while busy. */
  readonly #batch = new BarColumns();
  readonly #staging = new BarColumns(64);
  readonly #splitter: RoundSplitter;
  /** Per bar of the current round: 1 when its symbol is quarantined. Reused, never reallocated. */
  readonly #held: Uint8Array;
  /** Slot of the bar at each position of the previous batch: the guess for this one. */
  readonly #hints: Int32Array;
  #counts = {
    barsReceived: 0,
    barsAccepted: 0,
    fills: 0,
    fillsRejected: 0,
    snapshots: 0,
    snapshotsRejected: 0,
    equityDeferred: 0,
    allowed: 0,
    transitions: 0,
  };

  /** @internal Use {@link createRiskPlugin}. */
  constructor(config: ResolvedRiskConfig, services: RiskPluginServices = {}) {
    this.config = config;
    this.#coordinator = services.coordinator;
    this.#clock = services.clock;
    this.#logger = services.logger;
    this.metrics = services.metrics ?? new BulwarkMetrics();
    this.metrics.watch({ plugin: () => this.stats(), drawdown: () => this.drawdown });
    this.name = config.name;
    this.#mailbox = new BarMailbox(config.limits.maxPendingBars);
    this.#registry = new SymbolRegistry(config.limits.maxSymbols);
    this.#lastTimestamp = new Float64Array(config.limits.maxSymbols).fill(Number.NEGATIVE_INFINITY);
    this.#lastClose = new Float64Array(config.limits.maxSymbols).fill(Number.NaN);
    this.#splitter = new RoundSplitter(config.limits.maxSymbols);
    this.#held = new Uint8Array(config.limits.maxSymbols);
    this.#hints = new Int32Array(config.limits.maxSymbols).fill(-1);
  }

  /** The trading state now: the stricter of the drawdown ladder's and the anomaly actions'. */
  get state(): TradingState {
    return this.#state;
  }

  /** Subscribes to risk events; returns the unsubscribe function. */
  subscribe(listener: RiskListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Loads the kernels and sizes every bank; called once by the host engine (a later call gets the first one's promise). */
  onInit(ctx: PluginContext): Promise<void> {
    this.#init ??= this.#initialise(ctx);
    return this.#init;
  }

  async #initialise(ctx: PluginContext): Promise<void> {
    const c = this.config;
    const kernels = await loadKernels({ build: c.build, limits: { maxSymbols: Math.max(c.limits.maxSymbols, 1) } });
    const n = c.limits.maxSymbols;
    this.#ctx = ctx;
    this.#detector = new AnomalyDetector(kernels, { ...c.anomaly, maxSymbols: n }, this.#registry);
    // The detector keeps ATR(atrShortPeriod) with bad ticks held out; when the stops want the
    // same period they read it, and no second bank is kept.
    this.#sharedAtr = this.#detector.config.atrShortPeriod === c.stops.atrPeriod;
    if (!this.#sharedAtr) {
      this.#atr = kernels.atrBank({ symbols: n, period: c.stops.atrPeriod });
      this.#atrIn = {
        high: new Float64Array(n).fill(Number.NaN),
        low: new Float64Array(n).fill(Number.NaN),
        close: new Float64Array(n).fill(Number.NaN),
        now: new Float64Array(n).fill(Number.NaN),
      };
    }
    // Shadow mode: commands are decided, counted and reported, never sent.
    const sink = c.shadow
      ? { send: async (command: ProtectiveCommand) => ({ ok: true as const, clientOrderId: command.clientOrderId }) }
      : ctx.orders;
    this.#coalescer = new CommandCoalescer(sink, undefined, (command, ok) => this.#stops?.onCommandResult(command, ok));
    if (c.stops.mode === 'BROKER' && !c.shadow) {
      const prefix = `${this.#ids.prefix}-`;
      const coordinator = this.#coordinator;
      const step = (symbol: string, key: 'tickSize' | 'lotSize') => c.stops.instruments[symbol]?.[key] ?? c.stops[key];
      this.#reconciler = new StopReconciler({
        orders: ctx.orders,
        nextId: () => this.#ids.next(),
        isOurs: (id) => id.startsWith(prefix) || ctx.orders.isOurs?.(id) === true,
        ...(coordinator === undefined ? {} : { manages: (symbol: string) => coordinator.owns(symbol) }),
        tickSize: (symbol) => step(symbol, 'tickSize'),
        lotSize: (symbol) => step(symbol, 'lotSize'),
        ...(this.#clock === undefined ? {} : { clock: this.#clock }),
        ...c.stops.reconcile,
        orphanGraceMs: c.stops.restoreGraceMs,
        onChange: (change) => {
          // Reported: a position the broker will not protect, and its recovery (not every
          // PENDING ↔ CONVERGED step of an ordinary amend).
          if (change.from !== 'UNPROTECTED' && change.to !== 'UNPROTECTED') return;
          this.#emit({ kind: 'PROTECTION', timestamp: ctx.now(), ...change });
          this.#refreshState(change.to === 'UNPROTECTED' ? `UNPROTECTED_${change.code ?? ''}` : 'PROTECTION_RESTORED');
        },
      });
    }
    this.#stops = new StopManager({
      policy: c.stops.policy,
      mode: c.stops.mode,
      maxPositions: c.limits.maxPositions,
      coalescer: this.#coalescer,
      nextId: () => this.#ids.next(),
      isQuarantined: (symbol) => this.#detector?.isQuarantined(symbol) ?? false,
      restoreGraceMs: c.stops.restoreGraceMs,
      ...(this.#reconciler === undefined ? {} : { protection: this.#reconciler }),
      decisions: {
        // A decision record is built only for a subscriber, or for a logger whose level takes it.
        wants: (action) =>
          this.#listeners.size > 0 ||
          (action === 'MOVED' ? this.#logs.debug : action === 'SUPPRESSED' ? this.#logs.warn : this.#logs.info),
        report: (d) => this.#emit({ kind: 'STOP', ...d }),
      },
    });
    if (c.stops.mode === 'BROKER') await this.#restoreStops(ctx);
    // The reconciler reads the broker (adopting Bulwark's resting stops) before the first bar.
    await this.#reconciler?.start();
    this.#unsubscribeCoordinator = this.#coordinator?.subscribe((e) => this.#onCoordination(e));
    this.#readLogLevels();
    this.#drawdown = new DrawdownController({
      kernels,
      ladder: c.drawdown,
      historyCapacity: c.limits.historyCapacity,
      context: ctx,
      submit: (command) => this.#submit(command),
      nextId: () => this.#ids.next(),
      onEvent: (event) => {
        this.#emit({ kind: 'DRAWDOWN', event });
        this.#refreshState(event.reason);
      },
    });
  }

  /**
   * BROKER mode after a restart: the protective stops already resting at the broker are
   * adopted (not placed again). If the broker cannot list them, fresh stops are placed:
   * a duplicate reduce-only stop is the lesser risk than an unprotected position.
   */
  async #restoreStops(ctx: PluginContext): Promise<void> {
    let open: readonly OpenOrder[];
    try {
      open = await ctx.orders.openOrders();
    } catch {
      this.#restoreFailed = true;
      return;
    }
    // With a coordinator, another instance's symbols (and their stops) are not ours to touch.
    const mine = (symbol: string) => this.#coordinator?.owns(symbol) !== false;
    this.#restoredStops = (this.#stops as StopManager).restore(this.#ourStops(open, mine));
    // Stops the last process wanted but had not seen resting when it stopped: restored too
    // (the tighter of the two wins), so a tightened stop is not lost to a looser one.
    const pending = ctx.orders.pendingStops?.() ?? [];
    (this.#stops as StopManager).restore(
      pending
        .filter((p) => mine(p.symbol))
        .map((p) => ({ clientOrderId: `pending:${p.symbol}`, symbol: p.symbol, side: p.side, stopPrice: p.stopPrice })),
    );
  }

  /**
   * The resting stops Bulwark placed among `open`, for the symbols `wanted` accepts: marked
   * PROTECTIVE by the order service, or carrying a Bulwark client id (placed by another instance).
   */
  #ourStops(open: readonly OpenOrder[], wanted: (symbol: string) => boolean): RestoredStop[] {
    const prefix = `${this.#ids.prefix}-`;
    const out: RestoredStop[] = [];
    for (const o of open) {
      if (o.type !== 'STOP' || typeof o.price !== 'number' || !(o.price > 0) || !wanted(o.symbol)) continue;
      if (o.intent === 'PROTECTIVE' || o.clientOrderId.startsWith(prefix))
        out.push({ clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, stopPrice: o.price });
    }
    return out;
  }

  #onCoordination(e: CoordinatorEvent): void {
    const stops = this.#stops as StopManager;
    switch (e.kind) {
      case 'LEASE_LOST':
        // Another instance manages it now; its resting stop stays for the new owner to adopt.
        stops.release(e.symbol);
        return;
      case 'LEASE_ACQUIRED':
        if (this.config.stops.mode === 'BROKER') void this.#adoptStopOf(e.symbol);
        // The reconciler reads the broker again: the symbol's resting stop is now its to keep.
        void this.#reconciler?.reread();
        return;
      default:
        this.#refreshState(e.kind === 'STATE_CHANGED' ? `COORDINATION_${e.cause}` : e.kind);
    }
  }

  /** Adopts the resting Bulwark stop of a symbol this instance has just acquired, if there is one. */
  async #adoptStopOf(symbol: string): Promise<void> {
    try {
      const open = await (this.#ctx as PluginContext).orders.openOrders();
      (this.#stops as StopManager).restore(this.#ourStops(open, (s) => s === symbol).slice(0, 1));
    } catch {
      // The order service cannot list: the next snapshot places a fresh stop (the lesser risk).
    }
  }

  /**
   * Resolves once every protective command the plugin has issued so far has its final
   * outcome from the order path (its per-position lanes are empty): for a clean shutdown.
   */
  async settled(): Promise<void> {
    await this.#coalescer?.idle();
    await this.#reconciler?.idle();
  }

  /** True while a protective command or a broker read is under way. */
  get busy(): boolean {
    return (this.#coalescer?.busy ?? 0) > 0 || this.#reconciler?.busy === true;
  }

  /**
   * BROKER mode: the stop reconciler that makes the broker hold each position's stop (its
   * `summary()`, `rows()`, `whenConverged()`); undefined in LOCAL or shadow mode.
   */
  get protection(): StopReconciler | undefined {
    return this.#reconciler;
  }

  /**
   * The last equity point the drawdown ladder accepted (snapshots marked to a suspected bad
   * tick are held back, so this is the equity the risk decisions used); undefined before any.
   */
  get lastEquity(): { readonly timestamp: number; readonly equity: number } | undefined {
    const history = this.#drawdown?.history;
    return history === undefined || history.size === 0 ? undefined : history.point(history.size - 1);
  }

  /** Current drawdown of the accepted equity from its peak, in [0, 1]; NaN before any. */
  get drawdown(): number {
    return this.#drawdown?.drawdown ?? Number.NaN;
  }

  /** Worst drawdown of the accepted equity since start (the kernel's), in [0, 1]; NaN before any. */
  get maxDrawdown(): number {
    return this.#drawdown?.maxDrawdown ?? Number.NaN;
  }

  /** Protective stops adopted from the broker at start (BROKER mode). */
  get restoredStops(): number {
    return this.#restoredStops;
  }

  /** True when, at start in BROKER mode, the broker could not list its open orders (fresh stops were placed). */
  get restoreFailed(): boolean {
    return this.#restoreFailed;
  }

  /** One bar; the same path as a batch of one. */
  onBar(bar: Bar): Promise<void> {
    return this.onBars([bar]);
  }

  /**
   * A batch of bars (the fast path). Each record is validated; bad ones are rejected with a
   * code and counted while the rest proceed. If a batch is still being processed, bars wait
   * in a bounded mailbox that keeps the latest bar per symbol.
   */
  onBars(bars: readonly Bar[]): Promise<void> {
    this.#ready();
    // A hostile batch (a revoked proxy, a throwing length or index getter) is read under
    // guard, and its length once, so a getter that grows the array cannot make the loop endless.
    let list: readonly unknown[] = [];
    let n = 0;
    try {
      if (Array.isArray(bars)) {
        n = bars.length;
        list = bars;
      }
    } catch {
      // Array.isArray throws on a revoked proxy: not an array, rejected just below.
    }
    if (list !== bars) this.#reject({ code: 'MALFORMED_RECORD', message: 'onBars expects an array' });
    const max = this.config.limits.maxBatchBars;
    if (n > max) {
      // A bounded amount of work per call: the tail of an oversized batch is refused, counted.
      this.#counts.barsReceived += n - max;
      this.#rejections.add('BATCH_LIMIT', n - max);
      n = max;
    }
    // While a batch is being processed these bars would wait in the mailbox: one that would
    // not find room is refused (QUEUE_FULL) before its timestamp is recorded, so it can be sent again.
    const busy = this.#mailbox.busy;
    const planned = busy ? new Set<string>() : undefined;
    const cols = busy ? this.#staging : this.#batch;
    cols.clear();
    for (let i = 0; i < n; i++) {
      this.#counts.barsReceived++;
      let raw: unknown;
      try {
        raw = list[i];
      } catch {
        raw = undefined; // an index getter threw: rejected as MALFORMED_RECORD like any non-object
      }
      this.#acceptBar(raw, i, cols, planned);
    }
    if (!busy)
      return this.#mailbox.run(
        () => this.#process(cols),
        (queued) => this.#process(this.#load(queued)),
      );
    // The mailbox keeps what it queues: private copies.
    const copies: Bar[] = [];
    for (let i = 0; i < cols.size; i++) copies.push(cols.toBar(i));
    return this.#mailbox.queue(copies, (rejection) => {
      // Refused by the full mailbox (QUEUE_FULL) after passing validation: rejected after
      // all, so received = accepted + rejected and the codes still sum to `rejected`.
      this.#counts.barsAccepted--;
      this.#reject(rejection);
    });
  }

  /** Loads bars the mailbox queued (validated copies, symbols registered) into the batch columns. */
  #load(bars: readonly Bar[]): BarColumns {
    const cols = this.#batch;
    cols.clear();
    for (const b of bars) {
      const slot = this.#registry.slotOf(b.symbol);
      if (slot < 0) continue;
      cols.push(slot, b.symbol, b.timestamp, b.open, b.high, b.low, b.close, b.volume);
    }
    return cols;
  }

  /**
   * One execution. Never dropped: handled at once and synchronously (so atomically for its
   * position), without waiting for the position's command lane — a host may deliver a fill
   * from inside the very send that caused it.
   */
  onFill(fill: Fill): void {
    this.#ready();
    this.#counts.fills++;
    const v = validateFill(fill, this.config.limits);
    if (!v.ok) {
      this.#counts.fillsRejected++;
      this.#reject(v.rejection);
      return;
    }
    (this.#stops as StopManager).onFill(v.value);
  }

  /** The host's portfolio: positions to protect, and equity for the drawdown ladder. */
  onPortfolio(snapshot: PortfolioSnapshot): void {
    this.#ready();
    this.#counts.snapshots++;
    const v = validateSnapshot(snapshot, this.config.limits);
    if (!v.ok) {
      this.#counts.snapshotsRejected++;
      this.#reject(v.rejection);
      return;
    }
    for (const r of v.value.rejected) if (!r.ok) this.#reject(r.rejection);
    const { snapshot: s } = v.value;
    this.#readLogLevels();
    this.#book.clear();
    for (const p of s.positions) this.#book.set(p.symbol, p);
    // With a coordinator, only the positions this instance owns are its to manage.
    const coordinator = this.#coordinator;
    const mine = coordinator === undefined ? s.positions : s.positions.filter((p) => coordinator.owns(p.symbol));
    const refused = (this.#stops as StopManager).syncPositions(mine, s.timestamp);
    for (const symbol of refused)
      this.#reject({
        code: 'POSITION_LIMIT',
        message: `no stop for ${symbol}: maxPositions reached`,
        field: 'positions',
      });
    // Equity marked to a suspected bad tick would set a false peak (or trough): the ladder
    // waits for the next snapshot, after the next bar has confirmed or reverted the tick.
    const detector = this.#detector as AnomalyDetector;
    if (!s.positions.some((p) => detector.isQuarantined(p.symbol))) this.#deferredInARow = 0;
    else if (this.#deferredInARow < MAX_DEFERRED_SNAPSHOTS) {
      this.#deferredInARow++;
      this.#counts.equityDeferred++;
      return;
    }
    const pushed = (this.#drawdown as DrawdownController).update(s.timestamp, s.equity);
    if (!pushed.ok) {
      this.#counts.snapshotsRejected++;
      this.#reject(pushed.rejection);
    }
  }

  /**
   * Pre-trade veto. HALTED and REDUCING let only exits through; a quarantined symbol takes
   * no entries; a new position beyond maxPositions is refused; with a coordinator, entries
   * only in symbols this instance owns. An exit is an order on the closing side of a
   * position (the host's last snapshot, else the one the stops manage) and no larger than it; the order's own `intent` and
   * `reduceOnly` are not taken on trust (an "EXIT" with no position behind it opens one),
   * so anything else is judged as an entry. Fails closed before initialisation.
   */
  beforeOrder(order: OrderRequest): OrderDecision {
    if (this.#stops === undefined) return this.#deny(order, 'PLUGIN_ERROR', 'risk plugin not initialised');
    const v = validateOrder(order, this.config.limits);
    if (!v.ok) {
      this.#reject(v.rejection);
      return this.#deny(order, 'INVALID_ORDER', v.rejection.message);
    }
    const o = v.value;
    this.#refreshState('ORDER_CHECK');
    const exiting = this.#reducesPosition(o);
    if (this.#state === 'HALTED' && !exiting)
      return this.#deny(o, 'TRADING_HALTED', 'trading is HALTED: only exits and protective orders');
    if (!exiting && this.#coordinator !== undefined && !this.#coordinator.owns(o.symbol)) {
      return this.#deny(o, 'NOT_OWNER', `${o.symbol} is managed by another instance`);
    }
    if (this.#state === 'REDUCING' && !exiting)
      return this.#deny(o, 'REDUCING_NEW_EXPOSURE', 'trading is REDUCING: no new exposure');
    if (!exiting && this.#detector?.isQuarantined(o.symbol) === true)
      return this.#deny(o, 'SYMBOL_QUARANTINED', `${o.symbol} is quarantined`);
    if (!exiting && this.#stops.get(o.symbol) === undefined && this.#stops.size >= this.config.limits.maxPositions) {
      return this.#deny(o, 'POSITION_LIMIT', `maxPositions ${this.config.limits.maxPositions} reached`);
    }
    this.#counts.allowed++;
    return ALLOW;
  }

  /**
   * True when `o` can only reduce the position of its symbol (as the host's last snapshot
   * shows it, or as the plugin manages it): it is on that position's closing side (SELL for a
   * LONG, BUY for a SHORT) and its quantity is at most the position's. Its `intent` and `reduceOnly` flag are the sender's claims, not read.
   */
  #reducesPosition(o: OrderRequest): boolean {
    // The host's last snapshot (every position, including those another instance manages),
    // else the position the stops manage.
    const position = this.#book.get(o.symbol) ?? (this.#stops as StopManager).get(o.symbol);
    return position !== undefined && o.side === closingSide(position.side) && o.quantity <= position.quantity;
  }

  /** Releases the kernel memory and timers. */
  async onDispose(): Promise<void> {
    this.#unsubscribeCoordinator?.();
    this.#unsubscribeCoordinator = undefined;
    await this.#coalescer?.idle();
    this.#reconciler?.dispose();
    this.#drawdown?.dispose();
    this.#detector?.dispose();
    this.#atr?.dispose();
    this.#stops?.clear();
    this.#listeners.clear();
  }

  /** Manual reset of the drawdown ladder and of anomaly-driven REDUCING. */
  reset(): void {
    this.#ready();
    this.#reduceUntil = Number.NEGATIVE_INFINITY;
    (this.#drawdown as DrawdownController).reset();
    this.#refreshState('MANUAL_RESET');
  }

  /** The live stop of `symbol`'s position. */
  stopOf(symbol: string): StopView | undefined {
    return this.#stops?.get(symbol);
  }

  /** A frozen summary of counters and state. */
  stats(): RiskPluginStats {
    const stops = this.#stops;
    const commands = this.#coalescer?.stats;
    return Object.freeze({
      state: this.#state,
      bars: Object.freeze({
        received: this.#counts.barsReceived,
        accepted: this.#counts.barsAccepted,
        rejected: this.#counts.barsReceived - this.#counts.barsAccepted,
        coalesced: this.#mailbox.coalesced,
      }),
      fills: Object.freeze({ received: this.#counts.fills, rejected: this.#counts.fillsRejected }),
      snapshots: Object.freeze({
        received: this.#counts.snapshots,
        rejected: this.#counts.snapshotsRejected,
        deferred: this.#counts.equityDeferred,
      }),
      rejections: this.#rejections.toJSON(),
      stops: Object.freeze({
        ...(stops?.counters ?? { placed: 0, moved: 0, triggered: 0, suppressed: 0, refused: 0, overLimit: 0 }),
      }),
      commands: Object.freeze({ ...(commands ?? { sent: 0, failed: 0, coalesced: 0 }) }),
      orders: Object.freeze({ allowed: this.#counts.allowed, denied: Object.freeze(Object.fromEntries(this.#denied)) }),
      transitions: this.#counts.transitions,
      anomalies: Object.freeze(Object.fromEntries(this.#anomalies)),
      symbols: this.#registry.size,
      positions: stops?.size ?? 0,
      protection: this.#reconciler?.summary() ?? NO_PROTECTION,
    });
  }

  /**
   * A snapshot for serialisation: the stats and one small frozen view per managed stop. No
   * large arrays are copied (ISSUE-2985).
   */
  toJSON(): { readonly stats: RiskPluginStats; readonly stops: readonly StopView[] } {
    return Object.freeze({ stats: this.stats(), stops: Object.freeze(this.#stops?.views() ?? []) });
  }

  #ready(): void {
    if (this.#stops === undefined) throw new BulwarkError('NOT_INITIALIZED', 'onInit has not completed');
  }

  /**
   * Validates one raw bar, checks per-symbol time order and the symbol limit; appends an
   * accepted bar, with its registry slot, to `cols`.
   */
  #acceptBar(raw: unknown, position: number, cols: BarColumns, planned?: Set<string>): void {
    // Feeds usually send symbols in the same order each batch: last batch's slot at this
    // position is the first guess, and its symbol (validated when it was registered) need not
    // be checked again.
    const hinted = position < this.#hints.length;
    const hint = hinted ? (this.#hints[position] as number) : -1;
    const limits = this.config.limits;
    let ok: boolean;
    try {
      ok = validBarInto(raw, limits, cols, hint >= 0 ? this.#registry.symbolAt(hint) : undefined);
    } catch {
      ok = false; // a hostile getter or proxy trap threw: validateBar names it MALFORMED_RECORD
    }
    if (!ok) {
      const v = validateBar(raw, limits, false);
      if (!v.ok) {
        this.#reject(v.rejection);
        const symbol = readString(raw, 'symbol');
        if (symbol !== undefined && this.#registry.slotOf(symbol) >= 0) {
          this.#anomaly(
            (this.#detector as AnomalyDetector).badTick(symbol, this.#ctx?.now() ?? Date.now(), v.rejection.code),
          );
        }
        return;
      }
      const b = v.value;
      cols.push(-1, b.symbol, b.timestamp, b.open, b.high, b.low, b.close, b.volume);
    }
    const row = cols.size - 1;
    const symbol = cols.symbol[row] as string;
    const timestamp = cols.timestamp[row] as number;
    const slot = this.#registry.registerHinted(symbol, hint);
    if (hinted) this.#hints[position] = slot;
    if (slot < 0) {
      cols.pop();
      this.#reject({ code: 'SYMBOL_LIMIT', message: `maxSymbols ${limits.maxSymbols} reached`, field: 'symbol' });
      return;
    }
    if (!(timestamp > (this.#lastTimestamp[slot] as number))) {
      cols.pop();
      this.#reject({
        code: 'NON_MONOTONIC_TIMESTAMP',
        message: `${symbol} at ${timestamp} is not after ${this.#lastTimestamp[slot]}`,
        field: 'timestamp',
      });
      return;
    }
    if (planned !== undefined && !this.#mailbox.admits(symbol, planned)) {
      cols.pop();
      this.#reject({
        code: 'QUEUE_FULL',
        message: `inbound bar queue full (${this.#mailbox.capacity} symbols)`,
        field: 'symbol',
      });
      return;
    }
    this.#lastTimestamp[slot] = timestamp;
    this.#counts.barsAccepted++;
    cols.slot[row] = slot;
  }

  /** Reads the logger's levels (once per batch or snapshot: see `#logs`). */
  #readLogLevels(): void {
    const l = this.#logger;
    this.#logs.debug = l?.isLevelEnabled('debug') === true;
    this.#logs.info = l?.isLevelEnabled('info') === true;
    this.#logs.warn = l?.isLevelEnabled('warn') === true;
  }

  /**
   * Anomalies, kernels, then stops, round by round (a round has at most one bar per symbol),
   * the stops in bounded chunks that yield to the event loop.
   */
  async #process(cols: BarColumns): Promise<void> {
    this.#readLogLevels();
    const detector = this.#detector as AnomalyDetector;
    const stops = this.#stops as StopManager;
    const chunk = this.config.limits.chunkSize;
    const splitter = this.#splitter;
    const rounds = splitter.split(cols.slot, cols.size);
    const bar = cols.row;
    for (let r = 0; r < rounds; r++) {
      const from = splitter.start(r);
      const to = splitter.start(r + 1);
      const order = splitter.order;
      for (const event of detector.observeRound(cols, order, from, to)) this.#anomaly(event);
      const held = this.#held;
      for (let k = from; k < to; k++)
        held[k - from] = detector.isQuarantinedSlot(cols.slot[order[k] as number] as number) ? 1 : 0;
      // A suspected bad tick stays out of the stop ATR, as it stays out of the detector's.
      if (!this.#sharedAtr) this.#updateAtr(cols, order, from, to, held);
      const atrNow = this.#sharedAtr ? detector.shortAtr : (this.#atrIn as AtrColumns).now;
      for (let k = from; k < to; k++) {
        const i = order[k] as number;
        bar.at = i;
        const slot = cols.slot[i] as number;
        const isHeld = held[k - from] === 1;
        if (!isHeld) this.#lastClose[slot] = cols.close[i] as number;
        stops.onBar(bar, atrNow[slot] as number, isHeld, slot);
        if ((k + 1 - from) % chunk === 0 && k + 1 < to) await yieldToEventLoop();
      }
    }
    for (const event of detector.checkStale(this.#ctx?.now() ?? Date.now())) this.#anomaly(event);
    this.#refreshState('BARS');
  }

  #updateAtr(cols: BarColumns, order: Int32Array, from: number, to: number, held: Uint8Array): void {
    const input = this.#atrIn as AtrColumns;
    for (let k = from; k < to; k++) {
      if (held[k - from] === 1) continue;
      const i = order[k] as number;
      const slot = cols.slot[i] as number;
      input.high[slot] = cols.high[i] as number;
      input.low[slot] = cols.low[i] as number;
      input.close[slot] = cols.close[i] as number;
    }
    const atr = this.#atr as AtrBank;
    atr.update(input.high, input.low, input.close); // NaN columns (no bar this round) stay unchanged
    atr.valuesInto(input.now);
    for (let k = from; k < to; k++) {
      const slot = cols.slot[order[k] as number] as number;
      input.high[slot] = Number.NaN;
      input.low[slot] = Number.NaN;
      input.close[slot] = Number.NaN;
    }
  }

  #anomaly(event: AnomalyEvent | undefined): void {
    if (event === undefined) return;
    this.#anomalies.set(event.type, (this.#anomalies.get(event.type) ?? 0) + 1);
    this.#emit({ kind: 'ANOMALY_DETECTED', anomaly: event });
    if (event.actions.includes('TIGHTEN_STOPS')) {
      (this.#stops as StopManager).tightenAll(this.config.stops.tightenFraction, (symbol) => {
        const slot = this.#registry.slotOf(symbol);
        return slot < 0 ? Number.NaN : (this.#lastClose[slot] as number);
      });
    }
    if (event.actions.includes('REDUCE')) {
      this.#reduceUntil = Math.max(this.#reduceUntil, (this.#ctx?.now() ?? Date.now()) + this.config.anomalyReduceMs);
      this.#refreshState(`ANOMALY_${event.type}`);
    }
  }

  #refreshState(cause: string): void {
    const now = this.#ctx?.now() ?? Date.now();
    const anomalyState: TradingState = now < this.#reduceUntil ? 'REDUCING' : 'ACTIVE';
    // While any position is unprotected at the broker, no new exposure.
    const protectionState: TradingState = (this.#reconciler?.unprotected ?? 0) > 0 ? 'REDUCING' : 'ACTIVE';
    const next = stricter(
      stricter(stricter(this.#drawdown?.state ?? 'ACTIVE', anomalyState), this.#coordinator?.state ?? 'ACTIVE'),
      protectionState,
    );
    if (next === this.#state) return;
    const from = this.#state;
    this.#state = next;
    this.#counts.transitions++;
    this.#emit({ kind: 'STATE_CHANGED', from, to: next, timestamp: now, cause });
  }

  #submit(command: ProtectiveCommand): void {
    void (this.#coalescer as CommandCoalescer).submit(command.symbol, command);
  }

  #deny(order: OrderRequest, code: DenyCode, message: string): OrderDecision {
    this.#denied.set(code, (this.#denied.get(code) ?? 0) + 1);
    // `order` may be the hostile original of an invalid order: read under guard.
    const clientOrderId = readString(order, 'clientOrderId') ?? '';
    const symbol = readString(order, 'symbol') ?? '';
    if (this.config.shadow) {
      // Shadow mode decides and reports, and lets the order through.
      this.#emit({ kind: 'ORDER_DENIED', clientOrderId, symbol, code, message, shadow: true });
      return ALLOW;
    }
    this.#emit({ kind: 'ORDER_DENIED', clientOrderId, symbol, code, message });
    return deny(code, message);
  }

  #reject(rejection: Rejection): void {
    this.#rejections.add(rejection.code);
  }

  #emit(event: RiskEvent): void {
    const frozen = Object.freeze(event);
    if (this.#logger !== undefined) {
      try {
        logRiskEvent(this.#logger, frozen, this.config.shadow);
      } catch {
        // A failing logger must not break risk processing.
      }
    }
    notifyAll(this.#listeners, frozen);
  }
}

/**
 * Creates Bulwark's risk plugin. The config is validated up front (one `INVALID_CONFIG`
 * error listing every problem) and frozen; kernels load in `onInit`.
 *
 * @example
 * ```ts
 * const engine = new Engine();
 * engine.use(createRiskPlugin({ stops: { policy: { rules: [{ kind: 'CHANDELIER', multiple: 3 }] } } }));
 * ```
 */
export function createRiskPlugin(config: RiskPluginConfig = {}, services: RiskPluginServices = {}): RiskPlugin {
  return new RiskPlugin(resolveRiskConfig(config), services);
}

/** Live collaborators a plugin is given besides its (frozen, data-only) config. */
export interface RiskPluginServices {
  /**
   * Several instances on one book: the plugin manages only the positions whose symbols the
   * coordinator says this instance owns, takes no entries in others (`NOT_OWNER`), adopts the
   * resting Bulwark stop of a symbol it acquires, lets go of one it loses (without cancelling
   * it: the new owner adopts it), and is never less strict than the coordinator's state
   * (REDUCING while coordination fails, HALTED on the shared kill switch).
   */
  readonly coordinator?: InstanceCoordinator;
  /**
   * Every risk decision as one structured record (pino or compatible): stops placed, moved
   * (debug), triggered; orders denied; state changes; drawdown steps; anomalies. Records of a
   * disabled level are not even built.
   */
  readonly logger?: RiskLogger;
  /**
   * Prometheus metrics to keep (default: a fresh {@link BulwarkMetrics} with its own
   * registry, exposed as `plugin.metrics`). The plugin feeds its own counters and gauges; the
   * order path's (egress events, latency) are fed by whoever owns it.
   */
  readonly metrics?: BulwarkMetrics;
  /**
   * Time and timers of the stop reconciler's retries and re-reads (a replay's virtual clock).
   * Default the system clock.
   */
  readonly clock?: Clock;
}
