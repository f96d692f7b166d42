import { AnomalyDetector } from '../anomaly/detector.js';
import { CommandCoalescer } from '../concurrency/command-coalescer.js';
import type { InstanceCoordinator } from '../coordination/events.js';
import { DrawdownController } from '../drawdown/drawdown-controller.js';
import type { ClientOrderIdFactory } from '../egress/client-order-id.js';
import type { Kernels } from '../kernels/load.js';
import { SymbolRegistry } from '../market/symbol-registry.js';
import type { StopReconciler } from '../protection/stop-reconciler.js';
import { StopManager } from '../stops/stop-manager.js';
import type { Clock } from '../util/clock.js';
import type { OrderSink, ProtectiveCommand } from '../vocabulary/orders.js';
import type { PluginContext } from '../vocabulary/services.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import type { DenyCode } from '../vocabulary/reason-codes.js';
import { AnomalyResponse } from './anomaly-response.js';
import { BarPipeline } from './bar-pipeline.js';
import { createBrokerProtection } from './broker-protection.js';
import { instrumentStep, type ResolvedRiskConfig } from './config.js';
import { followCoordinator } from './coordination-wiring.js';
import type { RiskEventHub } from './event-hub.js';
import { BEFORE_INIT, type LiveStats, type PluginCounters } from './plugin-stats.js';
import { PortfolioIntake } from './portfolio-intake.js';
import type { HeldPosition, VetoView } from './pre-trade-veto.js';
import { createStopAtr, type StopAtr } from './stop-atr.js';
import { StopAdoption } from './stop-adoption.js';
import { TradingStateMachine } from './trading-state-machine.js';
import { PreTradeLimits } from '../limits/pre-trade-limits.js';
import { DailyLoss } from '../limits/daily-loss.js';
import { StopOutGuard } from '../limits/stop-out-guard.js';
import { sizePosition, type SizeRequest, type SizeResult } from '../limits/position-sizing.js';
import { candidateStop } from '../stops/stop-rules.js';
import type { ProtectionStore } from '../limits/protection-store.js';
import { sessionOffsetMs } from '../limits/pre-trade-config.js';
import { SYSTEM_CLOCK, type TimerHandle } from '../util/clock.js';

/** What the core is built from: the plugin's config and services, the host's context, the loaded kernels. */
export interface PluginCoreParts {
  readonly config: ResolvedRiskConfig;
  readonly ctx: PluginContext;
  readonly kernels: Kernels;
  readonly ids: ClientOrderIdFactory;
  readonly coordinator: InstanceCoordinator | undefined;
  readonly clock: Clock | undefined;
  readonly counters: PluginCounters;
  readonly hub: RiskEventHub;
  /** Aborted when the plugin is disposed: from then on nothing here changes state. */
  readonly signal: AbortSignal;
  /** Where the StoplossGuard and cooldown locks are kept across restarts. */
  readonly protectionStore: ProtectionStore | undefined;
}

/**
 * Everything of the risk plugin that needs the host's context and the kernels, built in one
 * step once `onInit` has loaded them: the anomaly detector, the stops' ATR, the stop manager
 * and its command lanes, the broker-side reconciler (BROKER mode), the drawdown ladder, the
 * trading-state machine, and the bar and portfolio paths over them. {@link PluginCore.start}
 * adopts resting stops and follows the coordinator; {@link PluginCore.close} releases it all.
 * @internal
 */
export class PluginCore implements VetoView {
  readonly ctx: PluginContext;
  readonly registry: SymbolRegistry;
  readonly detector: AnomalyDetector;
  readonly atr: StopAtr;
  readonly coalescer: CommandCoalescer;
  /** BROKER mode (not shadow): makes the broker hold each stop. */
  readonly reconciler: StopReconciler | undefined;
  readonly stops: StopManager;
  readonly drawdown: DrawdownController;
  readonly machine: TradingStateMachine;
  readonly anomalies: AnomalyResponse;
  readonly bars: BarPipeline;
  readonly portfolio: PortfolioIntake;
  readonly adoption: StopAdoption;
  /** The pre-trade limits and their exposure book; undefined when none is configured. */
  readonly limits: PreTradeLimits | undefined;
  /** The daily loss limit; undefined when not configured. */
  readonly dailyLoss: DailyLoss | undefined;
  /** StoplossGuard and the cooldown after a stop-out; undefined when neither is configured. */
  readonly guard: StopOutGuard | undefined;
  readonly #store: ProtectionStore | undefined;
  /** Refreshes the state when the session after a tripped daily loss limit begins. */
  #sessionTimer: TimerHandle | undefined;
  readonly #clock: Clock;
  readonly #config: ResolvedRiskConfig;
  readonly #coordinator: InstanceCoordinator | undefined;
  readonly #hub: RiskEventHub;
  readonly #signal: AbortSignal;

  constructor(p: PluginCoreParts) {
    const { config: c, ctx, kernels, ids, coordinator, counters, hub, signal } = p;
    const n = c.limits.maxSymbols;
    const now = () => ctx.now();
    this.ctx = ctx;
    this.#config = c;
    this.#coordinator = coordinator;
    this.#hub = hub;
    this.#signal = signal;
    this.registry = new SymbolRegistry(n);
    this.detector = new AnomalyDetector(kernels, { ...c.anomaly, maxSymbols: n }, this.registry);
    this.atr = createStopAtr(kernels, this.detector, n, c.stops.atrPeriod);
    // Shadow mode: commands are decided, counted and reported, never sent.
    const sink: OrderSink = c.shadow
      ? { send: (command) => Promise.resolve({ ok: true as const, clientOrderId: command.clientOrderId }) }
      : ctx.orders;
    // After dispose, an outcome changes nothing (a failed close would otherwise re-arm its stop).
    this.coalescer = new CommandCoalescer(sink, undefined, (command, ok) => {
      if (!signal.aborted) this.stops.onCommandResult(command, ok);
    });
    this.#clock = p.clock ?? SYSTEM_CLOCK;
    this.#store = p.protectionStore;
    const { stoplossGuard, cooldownAfterExitMs } = c.protections;
    const guard = (this.guard =
      stoplossGuard === undefined && cooldownAfterExitMs === undefined
        ? undefined
        : new StopOutGuard(stoplossGuard, cooldownAfterExitMs));
    const lossLimit = c.protections.dailyLossLimit;
    const dailyLoss = (this.dailyLoss =
      lossLimit === undefined ? undefined : new DailyLoss(lossLimit, sessionOffsetMs(c.protections.sessionStart) ?? 0));
    this.machine = new TradingStateMachine(
      {
        ladder: () => this.drawdown.state,
        coordinator: () => coordinator?.state ?? 'ACTIVE',
        unprotected: () => this.reconciler?.unprotected ?? 0,
        protections: () => dailyLoss?.state(now()) ?? 'ACTIVE',
        now,
      },
      counters,
      hub,
    );
    this.reconciler =
      c.stops.mode === 'BROKER' && !c.shadow
        ? createBrokerProtection({
            stops: c.stops,
            orders: ctx.orders,
            prefix: ids.prefix,
            nextId: () => ids.next(),
            coordinator,
            clock: p.clock,
            onUnprotected: (change) => {
              if (signal.aborted) return;
              hub.emit({ kind: 'PROTECTION', timestamp: ctx.now(), ...change });
              this.machine.refresh(
                change.to === 'UNPROTECTED' ? `UNPROTECTED_${change.code ?? ''}` : 'PROTECTION_RESTORED',
              );
            },
          })
        : undefined;
    this.stops = new StopManager({
      policy: c.stops.policy,
      mode: c.stops.mode,
      maxPositions: c.limits.maxPositions,
      coalescer: this.coalescer,
      nextId: () => ids.next(),
      isQuarantined: (symbol) => this.detector.isQuarantined(symbol),
      restoreGraceMs: c.stops.restoreGraceMs,
      ...(this.reconciler === undefined ? {} : { protection: this.reconciler }),
      // A decision record is built only for a subscriber, or for a logger whose level takes it
      // (and, with StoplossGuard or a cooldown, for every stop-out: they count them).
      decisions: {
        wants: (action) => (action === 'TRIGGERED' && guard !== undefined) || hub.wants(action),
        report: (d) => {
          if (d.action === 'TRIGGERED' && guard !== undefined) this.#stopOut(guard, d.symbol);
          if (hub.wants(d.action)) hub.emit({ kind: 'STOP', ...d });
        },
      },
    });
    this.drawdown = new DrawdownController({
      kernels,
      ladder: c.drawdown,
      historyCapacity: c.limits.historyCapacity,
      context: ctx,
      // A halt's cancels and closes whose broker read ends after dispose are not sent.
      submit: (command: ProtectiveCommand) => {
        if (!signal.aborted) void this.coalescer.submit(command.symbol, command);
      },
      nextId: () => ids.next(),
      onEvent: (event) => {
        if (signal.aborted) return;
        hub.emit({ kind: 'DRAWDOWN', event });
        this.machine.refresh(event.reason);
      },
    });
    this.anomalies = new AnomalyResponse({
      stops: this.stops,
      machine: this.machine,
      counters,
      hub,
      tightenFraction: c.stops.tightenFraction,
      reduceMs: c.anomalyReduceMs,
      lastClose: (symbol) => this.bars.lastClose(symbol),
      now,
    });
    const owns = coordinator === undefined ? undefined : (symbol: string) => coordinator.owns(symbol);
    const preTrade = (this.limits =
      Object.keys(c.preTrade).length === 0
        ? undefined
        : new PreTradeLimits(c.preTrade, c.protections.sessionStart, now));
    this.bars = new BarPipeline({
      limits: c.limits,
      registry: this.registry,
      detector: this.detector,
      atr: this.atr,
      stops: this.stops,
      anomalies: this.anomalies,
      machine: this.machine,
      counters,
      hub,
      now,
      signal,
      ...(preTrade === undefined
        ? {}
        : { onClose: (symbol: string, close: number) => preTrade.book.setMark(symbol, close) }),
    });
    this.portfolio = new PortfolioIntake({
      limits: c.limits,
      stops: this.stops,
      detector: this.detector,
      drawdown: this.drawdown,
      counters,
      hub,
      owns,
      preTrade,
      ...(dailyLoss === undefined
        ? {}
        : { onEquity: (t: number, equity: number) => this.#onEquity(dailyLoss, t, equity) }),
    });
    this.adoption = new StopAdoption({ orders: ctx.orders, stops: this.stops, prefix: ids.prefix, owns, signal });
  }

  /**
   * BROKER mode: adopts the stops resting at the broker, and lets the reconciler read the
   * broker, before the first bar. Then follows the coordinator, if there is one. Stops early
   * when the plugin is disposed meanwhile.
   */
  async start(): Promise<void> {
    // The locks of an earlier run first: a crash loop cannot reset them.
    if (this.guard !== undefined && this.#store !== undefined) {
      const saved = await this.#store.load();
      if (saved !== undefined) this.guard.restore(saved);
    }
    if (this.#config.stops.mode === 'BROKER') await this.adoption.restore();
    if (this.#signal.aborted) return; // disposed meanwhile: no broker read, no subscription
    await this.reconciler?.start();
    const coordinator = this.#coordinator;
    if (coordinator !== undefined) {
      followCoordinator(
        coordinator,
        {
          // Another instance manages it now; its resting stop stays for the new owner to adopt.
          lost: (symbol) => this.stops.release(symbol),
          acquired: (symbol) => {
            if (this.#config.stops.mode === 'BROKER') void this.adoption.adopt(symbol);
            // The reconciler reads the broker again: the symbol's resting stop is now its to keep.
            void this.reconciler?.reread();
          },
          changed: (cause) => this.machine.refresh(cause),
        },
        this.#signal,
      );
    }
    this.#hub.readLogLevels();
  }

  get state(): TradingState {
    return this.machine.state;
  }

  get managedPositions(): number {
    return this.stops.size;
  }

  get maxPositions(): number {
    return this.#config.limits.maxPositions;
  }

  refreshState(cause: string): void {
    this.machine.refresh(cause);
  }

  position(symbol: string): HeldPosition | undefined {
    // With pre-trade limits, the exposure book: the last snapshot with every fill since applied.
    const book = this.limits?.book;
    if (book === undefined) return this.portfolio.position(symbol);
    const q = book.quantity(symbol);
    return q === 0 ? undefined : { side: q > 0 ? 'LONG' : 'SHORT', quantity: Math.abs(q) };
  }

  manages(symbol: string): boolean {
    return this.stops.get(symbol) !== undefined;
  }

  owns(symbol: string): boolean {
    return this.#coordinator?.owns(symbol) !== false;
  }

  isQuarantined(symbol: string): boolean {
    return this.detector.isQuarantined(symbol);
  }

  /** An accepted equity for the daily loss limit; a trip halts entries until the next session starts. */
  #onEquity(dailyLoss: DailyLoss, t: number, equity: number): void {
    if (dailyLoss.onEquity(t, equity)) {
      this.#clock.clearTimeout(this.#sessionTimer);
      const at = dailyLoss.nextSessionAt(t);
      this.#sessionTimer = this.#clock.setTimeout(
        () => {
          this.#sessionTimer = undefined;
          if (!this.#signal.aborted) this.machine.refresh('SESSION_START');
        },
        Math.max(0, at - this.ctx.now()),
      );
    }
    this.machine.refresh('DAILY_LOSS_LIMIT');
  }

  /** A stop of `symbol` executed: counted by the guard; a new lock or cooldown is saved. */
  #stopOut(guard: StopOutGuard, symbol: string): void {
    if (this.#signal.aborted) return;
    const now = this.ctx.now();
    if (guard.onStopOut(symbol, now) && this.#store !== undefined) this.#store.save(guard.locks(now)).catch(() => {}); // saved again at the next change
  }

  /** Why StoplossGuard or a cooldown refuses an entry in `symbol` now, or undefined. */
  stopOutDenial(symbol: string): { readonly code: DenyCode; readonly message: string } | undefined {
    return this.guard?.denial(symbol, this.ctx.now());
  }

  /** Work of the bar path that could follow the universe (see `AnomalyDetector.work`), the stops' own ATR included. */
  get work(): number {
    return this.detector.work + this.atr.work;
  }

  /** The stops' ATR of `symbol` (NaN: unknown or not seeded). */
  atrOf(symbol: string): number {
    const slot = this.registry.slotOf(symbol);
    return slot >= 0 ? (this.atr.values[slot] ?? Number.NaN) : Number.NaN;
  }

  /** A size for an entry (see `RiskPlugin.sizeOrder`). */
  sizeOrder(r: SizeRequest, equity: number | undefined): SizeResult {
    const sizing = this.#config.sizing;
    if (sizing === undefined) return { ok: false, code: 'INSUFFICIENT_DATA', message: 'sizing is not configured' };
    const close = this.bars.lastClose(r.symbol);
    const entry = r.entryPrice ?? (Number.isFinite(close) ? close : undefined);
    let stop = r.stopPrice;
    if (stop === undefined && entry !== undefined) {
      // The plugin's own stop for a position entered now, at the current ATR.
      const atr = this.atrOf(r.symbol);
      const s = candidateStop(this.#config.stops.policy, {
        side: r.side === 'BUY' ? 'LONG' : 'SHORT',
        entryPrice: entry,
        highWater: entry,
        lowWater: entry,
        close: entry,
        atr,
      });
      stop = Number.isFinite(s) ? s : undefined;
    }
    return sizePosition(r, sizing, {
      equity,
      entryPrice: entry,
      stopPrice: stop,
      lot: instrumentStep(this.#config.stops, r.symbol, 'lotSize'),
      preTrade: this.limits === undefined ? undefined : this.#config.preTrade,
      limits: this.limits,
    });
  }

  /** Why the daily loss limit halts entries now (the numbers), or undefined when it does not. */
  dailyLossHalt(): string | undefined {
    const d = this.dailyLoss?.snapshot(this.ctx.now());
    if (d?.tripped !== true) return undefined;
    return `the daily loss limit is reached: loss ${d.loss.toFixed(2)} of ${String(d.limit?.toFixed(2))} from the session's ${String(d.sessionStartEquity)}; entries halted until the next session`;
  }

  /** Manual reset of the drawdown ladder and of anomaly-driven REDUCING. */
  reset(): void {
    this.machine.releaseHold();
    this.drawdown.reset();
    this.machine.refresh('MANUAL_RESET');
  }

  /** What the core adds to the plugin's counters in its stats. */
  liveStats(): LiveStats {
    return {
      state: this.machine.state,
      coalescedBars: this.bars.coalesced,
      stops: this.stops.counters,
      commands: this.coalescer.stats,
      symbols: this.registry.size,
      positions: this.stops.size,
      protection: this.reconciler?.summary() ?? BEFORE_INIT.protection,
    };
  }

  /**
   * Releases everything once the plugin's `signal` has aborted: the reconciler's and the
   * ladder's timers, the kernel memory and the managed positions at once; then resolves when
   * the commands already handed to the order path have their outcome (which changes nothing
   * here any more). A bar batch parked at a yield stops when it resumes: it checks `signal`.
   */
  async close(): Promise<void> {
    this.#clock.clearTimeout(this.#sessionTimer);
    this.#sessionTimer = undefined;
    this.reconciler?.dispose();
    this.drawdown.dispose();
    this.detector.dispose();
    this.atr.dispose();
    this.stops.clear();
    await this.coalescer.idle();
  }
}
