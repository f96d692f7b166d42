import { validateBar, validateFill, validateOrder } from '../validation/records.js';
import { RejectionCounter } from '../validation/rejection-counter.js';
import type { Rejection } from '../validation/validated.js';
import type { Bar, Fill } from '../vocabulary/market.js';
import { ALLOW, deny, type OrderDecision, type OrderRequest } from '../vocabulary/orders.js';
import type { DenyCode } from '../vocabulary/reason-codes.js';
import type { OrderService, PluginContext } from '../vocabulary/services.js';
import { BarSequencer } from './bar-sequencer.js';
import { sourceItems, type BarSource } from './bar-source.js';
import { Batcher } from './batcher.js';
import { CodeCounter, diffCounts } from '../util/code-counter.js';
import { EngineError } from './errors.js';
import { FillSimulator } from './fill-simulator.js';
import { resolveEngineOptions, type EngineOptions, type ResolvedEngineOptions } from './options.js';
import { SimulatedOrderService } from './order-service.js';
import type { EnginePlugin } from './plugin.js';
import { PluginHost, type PluginErrorCounts } from './plugin-host.js';
import { Portfolio, type PortfolioView } from './portfolio.js';
import type { EngineStats, ReplaySummary } from './stats.js';
import { at } from '../util/indexed.js';

/** Called once per batch, after the plugins saw it and before fills are simulated. */
export type Strategy = (bars: readonly Bar[], engine: Engine) => void | Promise<void>;

/** Emitted (past tense) for every record a replay refused. */
export interface BarRejected {
  /** Why the record was refused: its code, message and the field at fault. */
  readonly rejection: Rejection;
  /** CSV line number (1-based), when the source is a file. */
  readonly line: number | undefined;
  /** The raw record, when there was one. */
  readonly raw: unknown;
}

/** Options of one {@link Engine.replay}. */
export interface ReplayOptions {
  /** Submits orders (through `engine.submitOrder`, so through every plugin's `beforeOrder`). */
  readonly strategy?: Strategy;
  /** Told about each refused record, e.g. to log it. */
  readonly onReject?: (event: BarRejected) => void;
}

/**
 * A small in-process trading engine that hosts {@link EnginePlugin}s: it replays bars, asks
 * the plugins before every order, simulates fills and keeps the books, so tests and the demo
 * exercise the real plugin path.
 *
 * Per batch (consecutive bars with one timestamp) a replay: sets the clock (`ctx.now()`) to
 * the batch's timestamp; calls each plugin's `onBars` (or `onBar` per bar); calls the
 * strategy; simulates fills against the batch ({@link FillSimulator}); marks the portfolio to
 * the batch's closes; calls `onFill` per fill, then `onPortfolio` with the new snapshot.
 * Plugins run in registration order, each awaited; a failing hook is counted and skipped.
 *
 * @example
 * ```ts
 * const engine = new Engine({ startingCash: 100_000 });
 * const unregister = engine.use(riskPlugin);
 * const summary = await engine.replay('data/demo-day.csv', {
 *   strategy: async (bars, e) => {
 *     for (const b of bars) if (b.symbol === 'ACME') await e.submitOrder({ clientOrderId: `buy-${b.timestamp}`, symbol: 'ACME', side: 'BUY', quantity: 10, type: 'MARKET', intent: 'ENTRY' });
 *   },
 * });
 * console.log(summary.barsRejected, summary.deniedByCode, summary.finalEquity);
 * unregister();
 * ```
 */
export class Engine {
  readonly #opts: ResolvedEngineOptions;
  readonly #portfolio: Portfolio;
  readonly #sim: FillSimulator;
  readonly #orders: SimulatedOrderService;
  readonly #host: PluginHost;
  readonly #ctx: PluginContext;
  #clock = 0;
  #batch = 0;
  /** STOPPING: stop() was called while a replay runs; the replay ends after its current batch. */
  #state: { readonly phase: 'IDLE' | 'REPLAYING' | 'STOPPING' | 'DISPOSED' } = { phase: 'IDLE' };
  #submitted = 0;
  readonly #denied = new CodeCounter<DenyCode>();
  #fills = 0;

  /** Validates `options` (all problems at once, `INVALID_ENGINE_OPTION`). */
  constructor(options: EngineOptions = {}) {
    this.#opts = resolveEngineOptions(options);
    this.#portfolio = new Portfolio(this.#opts.startingCash);
    this.#sim = new FillSimulator(this.#opts, this.#portfolio);
    this.#orders = new SimulatedOrderService(this.#sim, this.#portfolio, this.#opts.limits, () => this.#batch);
    const portfolio = this.#portfolio;
    this.#ctx = Object.freeze({
      portfolio: Object.freeze({ positions: () => portfolio.positions() }),
      orders: options.protectiveOrders ?? this.#orders,
      now: () => this.#clock,
    });
    this.#host = new PluginHost(this.#ctx, this.#opts.onPluginError);
  }

  /**
   * Registers `plugin` after those already registered and calls its `onInit` with the
   * engine's {@link PluginContext}. Returns the function that unregisters it (and calls its
   * `onDispose`); calling that again does nothing.
   *
   * @example
   * ```ts
   * const off = engine.use({ name: 'audit', onFill: (f) => log(f) });
   * off();
   * ```
   */
  use(plugin: EnginePlugin): () => void {
    this.#assertLive();
    return this.#host.add(plugin);
  }

  /** Names of the registered plugins, in registration (= hook) order. */
  get plugins(): readonly string[] {
    return this.#host.names;
  }

  /** The order service the plugins get as `ctx.orders` (the simulated one unless `protectiveOrders` was given). */
  get orders(): OrderService {
    return this.#ctx.orders;
  }

  /**
   * Books a fill that happened outside the engine (a broker's execution of a protective
   * order) and passes it to every plugin's `onFill`. A malformed fill is refused with its
   * rejection code and changes nothing.
   *
   * @example
   * ```ts
   * client.onReport = (r) => void engine.applyFill({ fillId: `${r.clientOrderId}:${r.cumQty}`, orderId: r.clientOrderId, symbol: r.symbol, side: r.side, quantity: Number(r.lastQty), price: Number(r.lastPrice), timestamp: engine.now() });
   * ```
   */
  async applyFill(fill: Fill): Promise<{ readonly ok: true } | { readonly ok: false; readonly code: string }> {
    this.#assertLive();
    const v = validateFill(fill, this.#opts.limits);
    if (!v.ok) return { ok: false, code: v.rejection.code };
    this.#portfolio.applyFill(v.value);
    this.#fills++;
    await this.#host.fill(v.value);
    return { ok: true };
  }

  /** The books (read-only view). */
  get portfolio(): PortfolioView {
    return this.#portfolio;
  }

  /** The context handed to every plugin's `onInit`. */
  get context(): PluginContext {
    return this.#ctx;
  }

  /** The replay clock: timestamp of the current (or last) batch; 0 before the first. */
  now(): number {
    return this.#clock;
  }

  /**
   * Asks every plugin's `beforeOrder` in registration order (the first deny wins; a plugin
   * that throws denies with `PLUGIN_ERROR`), then checks the order itself (`INVALID_ORDER`
   * for a malformed order, a client id already used, or `maxWorkingOrders` reached) and
   * queues it for simulation.
   *
   * @example
   * ```ts
   * const d = await engine.submitOrder({ clientOrderId: 'e1', symbol: 'ACME', side: 'BUY', quantity: 10, type: 'MARKET', intent: 'ENTRY' });
   * if (!d.allow) console.log(d.code, d.message);
   * ```
   */
  async submitOrder(order: OrderRequest): Promise<OrderDecision> {
    this.#assertLive();
    this.#submitted++;
    let decision = await this.#host.beforeOrder(order);
    if (decision.allow) decision = this.#queue(order);
    if (!decision.allow) this.#denied.add(decision.code);
    return decision;
  }

  /**
   * Replays `source` (a CSV path or URL, or an iterable / async iterable of raw bar records).
   * Each record is validated (`validateBar`), then checked for per-symbol time order
   * (`NON_MONOTONIC_TIMESTAMP`) and the symbol limit (`SYMBOL_LIMIT`); refused records are
   * counted by code and the replay goes on. Throws only for an unusable source
   * (`INVALID_CSV_HEADER`, `SOURCE_UNREADABLE`, `INVALID_REPLAY_SOURCE`), a replay already
   * running (`REPLAY_IN_PROGRESS`), or an error thrown by the strategy. Per-symbol ordering
   * starts afresh with each replay; the portfolio and working orders carry over.
   *
   * @example
   * ```ts
   * const s = await engine.replay(async function* () { yield { timestamp: '2026-03-02T14:30:00Z', symbol: 'ACME', open: 10, high: 11, low: 9, close: 10.5, volume: 100 }; }());
   * s.batches; // 1
   * ```
   */
  async replay(source: BarSource, options: ReplayOptions = {}): Promise<ReplaySummary> {
    this.#assertLive();
    if (this.#state.phase === 'REPLAYING' || this.#state.phase === 'STOPPING')
      throw new EngineError('REPLAY_IN_PROGRESS', 'another replay is running (or stopping) on this engine');
    const { strategy, onReject } = options;
    if (strategy !== undefined && typeof strategy !== 'function')
      throw new EngineError('INVALID_ENGINE_OPTION', 'strategy must be a function');
    if (onReject !== undefined && typeof onReject !== 'function')
      throw new EngineError('INVALID_ENGINE_OPTION', 'onReject must be a function');
    this.#state = { phase: 'REPLAYING' };
    const before = this.stats();
    const rejected = new RejectionCounter();
    const sequencer = new BarSequencer(this.#opts.maxSymbols);
    const batcher = new Batcher();
    let read = 0;
    let batches = 0;
    let first: number | undefined;
    const run = async (bars: readonly Bar[]): Promise<void> => {
      first ??= bars[0]?.timestamp;
      batches++;
      await this.#runBatch(bars, strategy);
    };
    try {
      for await (const item of sourceItems(source, this.#opts.maxCsvLineLength)) {
        if (this.#phase() !== 'REPLAYING') break;
        read++;
        const raw = item.kind === 'RAW' ? item.raw : undefined;
        let rejection: Rejection | undefined;
        let bar: Bar | undefined;
        if (item.kind === 'REFUSED') rejection = item.rejection;
        else {
          const v = validateBar(raw, this.#opts.limits);
          if (v.ok) rejection = sequencer.check((bar = v.value));
          else rejection = v.rejection;
        }
        if (rejection !== undefined) {
          rejected.add(rejection.code);
          onReject?.(Object.freeze({ rejection, line: item.line, raw }));
          continue;
        }
        if (bar === undefined) continue; // unreachable: a bar is set whenever nothing rejected it
        const done = batcher.push(bar);
        if (done !== undefined) await run(done);
      }
      const tail = batcher.flush();
      if (tail !== undefined && this.#phase() === 'REPLAYING') await run(tail);
    } finally {
      const phase = this.#phase();
      if (phase === 'REPLAYING' || phase === 'STOPPING') this.#state = { phase: 'IDLE' };
    }
    return this.#summary(before, { read, rejected, batches, first });
  }

  /**
   * Stops a running replay after the batch being processed (e.g. on SIGTERM); the replay
   * returns its summary as usual. Does nothing when no replay runs.
   */
  stop(): void {
    if (this.#state.phase === 'REPLAYING') this.#state = { phase: 'STOPPING' };
  }

  /** Read through a call, so that a check after an `await` is not narrowed by one before it. */
  #phase(): 'IDLE' | 'REPLAYING' | 'STOPPING' | 'DISPOSED' {
    return this.#state.phase;
  }

  /** Counters since the engine was built. */
  stats(): EngineStats {
    return Object.freeze({
      ordersSubmitted: this.#submitted,
      ordersDenied: this.#denied.total,
      deniedByCode: this.#denied.toJSON(),
      ordersFilled: this.#sim.filled.get('SUBMITTED'),
      fills: this.#fills,
      cancelledByReason: this.#sim.cancelled.toJSON(),
      commands: this.#orders.commands.toJSON(),
      commandFailures: this.#orders.failures.toJSON(),
      amendsIgnored: this.#orders.amendsIgnored,
      pluginErrors: this.#host.errorTotal,
    });
  }

  /** Hook failures so far, per plugin name and hook, e.g. `{ risk: { beforeOrder: 2 } }`. */
  pluginErrors(): PluginErrorCounts {
    return this.#host.errors();
  }

  /** Unregisters every plugin, waits for their `onDispose`, and refuses further use. A running replay stops after its current batch. */
  async dispose(): Promise<void> {
    if (this.#state.phase === 'DISPOSED') return;
    this.#state = { phase: 'DISPOSED' };
    await this.#host.disposeAll();
  }

  async #runBatch(bars: readonly Bar[], strategy: Strategy | undefined): Promise<void> {
    this.#batch++;
    this.#clock = at(bars, 0).timestamp;
    await this.#host.bars(bars);
    if (strategy !== undefined) await strategy(bars, this);
    const fills = this.#sim.simulate(bars, this.#batch);
    this.#portfolio.mark(bars);
    this.#fills += fills.length;
    for (const fill of fills) await this.#host.fill(fill);
    await this.#host.portfolio(this.#portfolio.snapshot(this.#clock));
  }

  #queue(order: OrderRequest): OrderDecision {
    const v = validateOrder(order, this.#opts.limits);
    if (!v.ok) return deny('INVALID_ORDER', `${v.rejection.code}: ${v.rejection.message}`);
    const o = v.value;
    const placed = this.#sim.place(
      {
        clientOrderId: o.clientOrderId,
        symbol: o.symbol,
        side: o.side,
        quantity: o.quantity,
        type: o.type,
        price: o.price,
        reduceOnly: o.reduceOnly ?? false,
        intent: o.intent,
        origin: 'SUBMITTED',
      },
      this.#batch,
    );
    switch (placed.outcome) {
      case 'PLACED':
        return ALLOW;
      case 'DUPLICATE':
        return deny('INVALID_ORDER', `clientOrderId ${o.clientOrderId} was already used`);
      case 'LIMIT_REACHED':
        return deny('INVALID_ORDER', `maxWorkingOrders ${this.#opts.maxWorkingOrders} reached`);
    }
  }

  #summary(
    before: EngineStats,
    r: { read: number; rejected: RejectionCounter; batches: number; first: number | undefined },
  ): ReplaySummary {
    const after = this.stats();
    return Object.freeze({
      barsRead: r.read,
      barsAccepted: r.read - r.rejected.total,
      barsRejected: r.rejected.total,
      rejectedByCode: r.rejected.toJSON(),
      batches: r.batches,
      firstTimestamp: r.first,
      lastTimestamp: r.batches > 0 ? this.#clock : undefined,
      ordersSubmitted: after.ordersSubmitted - before.ordersSubmitted,
      ordersDenied: after.ordersDenied - before.ordersDenied,
      deniedByCode: diffCounts(before.deniedByCode, after.deniedByCode),
      ordersFilled: after.ordersFilled - before.ordersFilled,
      fills: after.fills - before.fills,
      cancelledByReason: diffCounts(before.cancelledByReason, after.cancelledByReason),
      commands: diffCounts(before.commands, after.commands),
      commandFailures: diffCounts(before.commandFailures, after.commandFailures),
      amendsIgnored: after.amendsIgnored - before.amendsIgnored,
      pluginErrors: after.pluginErrors - before.pluginErrors,
      finalEquity: this.#portfolio.equity(),
      finalCash: this.#portfolio.cash,
      realisedPnl: this.#portfolio.realisedPnl,
    });
  }

  #assertLive(): void {
    if (this.#state.phase === 'DISPOSED') throw new EngineError('ENGINE_DISPOSED', 'the engine was disposed');
  }
}
