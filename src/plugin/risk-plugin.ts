import type { InstanceCoordinator } from '../coordination/events.js';
import type { EnginePlugin } from '../engine/plugin.js';
import { ClientOrderIdFactory } from '../egress/client-order-id.js';
import { BulwarkError } from '../errors.js';
import { loadKernels } from '../kernels/load.js';
import type { RiskLogger } from '../logging/logger.js';
import { BulwarkMetrics } from '../metrics/bulwark-metrics.js';
import type { StopReconciler } from '../protection/stop-reconciler.js';
import type { StopView } from '../stops/stop-manager.js';
import type { Clock } from '../util/clock.js';
import type { Bar, Fill, PortfolioSnapshot } from '../vocabulary/market.js';
import { ALLOW, deny, type OrderDecision, type OrderRequest } from '../vocabulary/orders.js';
import type { PluginContext } from '../vocabulary/services.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import { resolveRiskConfig, type ResolvedRiskConfig, type RiskPluginConfig } from './config.js';
import { RiskEventHub } from './event-hub.js';
import { PluginCore } from './plugin-core.js';
import { BEFORE_INIT, buildStats, PluginCounters, type RiskPluginStats } from './plugin-stats.js';
import { PreTradeVeto } from './pre-trade-veto.js';
import type { ExposureView } from '../limits/pre-trade-limits.js';
import type { DailyLossState } from '../limits/daily-loss.js';
import type { ProtectionStore } from '../limits/protection-store.js';
import type { ProtectionLocks } from '../limits/stop-out-guard.js';
import type { SizeRequest, SizeResult } from '../limits/position-sizing.js';
import type { RiskListener } from './risk-events.js';

/**
 * Where the plugin is in its life. Hooks work only when READY; a DISPOSED plugin keeps its
 * core (released) so its stats and getters still read their final values.
 */
type Life =
  | { readonly phase: 'NEW' }
  | { readonly phase: 'INITIALISING' }
  | { readonly phase: 'READY'; readonly core: PluginCore }
  | { readonly phase: 'DISPOSED'; readonly core: PluginCore | undefined };

/** What every hook but `beforeOrder` throws once the plugin has been disposed. */
const disposedError = () => new BulwarkError('PLUGIN_DISPOSED', 'the risk plugin has been disposed (onDispose)');

/** What onBar's reused one-bar array holds between calls (never processed). */
const NO_BAR: Bar = Object.freeze({ symbol: '', timestamp: 0, open: 0, high: 0, low: 0, close: 0, volume: 0 });

/**
 * Bulwark's risk plugin: validates every input, feeds the WASM kernels one call per bar
 * batch, trails and fires stops, runs the drawdown ladder and anomaly detection, and vetoes
 * orders that the trading state forbids. Create it with {@link createRiskPlugin}.
 *
 * The work is done by parts a newcomer can find by name under `src/plugin/`: the bar path
 * (`bar-pipeline.ts`), snapshots and fills (`portfolio-intake.ts`), the pre-trade veto
 * (`pre-trade-veto.ts`), the trading-state machine (`trading-state-machine.ts`), anomaly
 * actions (`anomaly-response.ts`), stop adoption (`stop-adoption.ts`), the broker-side
 * reconciler (`broker-protection.ts`), coordination (`coordination-wiring.ts`), events
 * (`event-hub.ts`) and stats (`plugin-stats.ts`). What needs the host's context is built in
 * one step by `onInit` (`plugin-core.ts`).
 *
 * Lifecycle: before `onInit` has completed, `beforeOrder` denies (`PLUGIN_ERROR`) and the
 * other hooks throw `NOT_INITIALIZED`. `onDispose` releases every subscription, timer and
 * kernel bank; afterwards nothing changes state: no event is emitted, the metrics keep their
 * final values, `beforeOrder` denies (`PLUGIN_ERROR`, not counted), the other hooks and
 * `reset` throw `PLUGIN_DISPOSED`, and `onInit` rejects with it.
 *
 * @example
 * ```ts
 * const plugin = createRiskPlugin();
 * await plugin.onInit(ctx);                // the host's portfolio and order services
 * await plugin.onBars(bars);               // one time slice, all symbols
 * plugin.onPortfolio(snapshot);            // positions to protect, equity for the ladder
 * const d = plugin.beforeOrder(order);     // { allow: true } or { allow: false, code, message }
 * await plugin.onDispose();                // subscriptions, timers and kernel memory released
 * ```
 */
export class RiskPlugin implements EnginePlugin {
  readonly name: string;
  readonly config: ResolvedRiskConfig;
  /** This plugin's Prometheus metrics; `metrics.registry` is what a `/metrics` endpoint serves. */
  readonly metrics: BulwarkMetrics;
  readonly #coordinator: InstanceCoordinator | undefined;
  readonly #clock: Clock | undefined;
  readonly #protectionStore: ProtectionStore | undefined;
  readonly #counters = new PluginCounters();
  readonly #hub: RiskEventHub;
  /** onBar's one-bar delivery (reused: a bar at a time allocates no array). */
  readonly #one: Bar[] = [NO_BAR];
  readonly #veto: PreTradeVeto;
  readonly #ids = new ClientOrderIdFactory('bw');
  /** Aborted by `onDispose`: every subscription, callback and parked batch checks it. */
  readonly #disposal = new AbortController();
  readonly #unwatchMetrics: () => void;
  #life: Life = { phase: 'NEW' };
  #init: Promise<void> | undefined;
  #disposed: Promise<void> | undefined;

  /** @internal Use {@link createRiskPlugin}. */
  constructor(config: ResolvedRiskConfig, services: RiskPluginServices = {}) {
    this.config = config;
    this.name = config.name;
    this.#coordinator = services.coordinator;
    this.#clock = services.clock;
    this.#protectionStore = services.protectionStore;
    this.#hub = new RiskEventHub(services.logger, config.shadow);
    this.#veto = new PreTradeVeto(config.limits, config.shadow, this.#counters, this.#hub);
    this.metrics = services.metrics ?? new BulwarkMetrics();
    this.#unwatchMetrics = this.metrics.watchPlugin(this.name, {
      stats: () => this.stats(),
      drawdown: () => this.drawdown,
      exposure: () => {
        const core = this.#core;
        const e = core?.limits?.book;
        const loss = core?.dailyLoss?.snapshot(core.ctx.now()).loss;
        return {
          ...(e === undefined ? {} : { gross: e.gross, net: e.net }),
          ...(loss === undefined ? {} : { dayLoss: loss }),
        };
      },
    });
  }

  /**
   * The trading state now: the stricter of the drawdown ladder's, the anomaly actions', the
   * coordinator's (if any) and, in BROKER mode, the broker protection's (REDUCING while a
   * position is unprotected). ACTIVE before `onInit`; after dispose, the last one.
   */
  get state(): TradingState {
    return this.#core?.machine.state ?? BEFORE_INIT.state;
  }

  /** Subscribes to risk events; returns the unsubscribe function. After dispose, subscribes nothing. */
  subscribe(listener: RiskListener): () => void {
    return this.#hub.subscribe(listener);
  }

  /**
   * Loads the kernels and sizes every bank; called once by the host engine (a later call gets
   * the first one's promise). Rejects with `PLUGIN_DISPOSED` when the plugin was disposed first.
   */
  onInit(ctx: PluginContext): Promise<void> {
    if (this.#init !== undefined) return this.#init;
    if (this.#life.phase === 'DISPOSED') return Promise.reject(disposedError());
    this.#life = { phase: 'INITIALISING' };
    this.#init = this.#initialise(ctx);
    return this.#init;
  }

  async #initialise(ctx: PluginContext): Promise<void> {
    const c = this.config;
    const kernels = await loadKernels({ build: c.build, limits: { maxSymbols: Math.max(c.limits.maxSymbols, 1) } });
    if (this.#disposal.signal.aborted) return; // disposed while the kernels loaded: nothing was built
    await this.#start(
      new PluginCore({
        config: c,
        ctx,
        kernels,
        ids: this.#ids,
        coordinator: this.#coordinator,
        clock: this.#clock,
        counters: this.#counters,
        hub: this.#hub,
        signal: this.#disposal.signal,
        protectionStore: this.#protectionStore,
      }),
    );
  }

  /** Starts the core just built; it is the plugin's once started, or released if disposal came first. */
  async #start(core: PluginCore): Promise<void> {
    try {
      await core.start();
    } catch (e) {
      await core.close();
      throw e;
    }
    if (this.#disposal.signal.aborted) {
      // Disposed while starting: the disposal waits for this to release what was built.
      this.#life = { phase: 'DISPOSED', core };
      await core.close();
      return;
    }
    this.#life = { phase: 'READY', core };
  }

  /**
   * Resolves once every protective command the plugin has issued so far has its final
   * outcome from the order path (its per-position lanes are empty): for a clean shutdown.
   */
  async settled(): Promise<void> {
    const core = this.#core;
    await core?.coalescer.idle();
    await core?.reconciler?.idle();
  }

  /** True while a protective command or a broker read is under way. */
  get busy(): boolean {
    const core = this.#core;
    return core !== undefined && (core.coalescer.busy > 0 || core.reconciler?.busy === true);
  }

  /**
   * BROKER mode: the stop reconciler that makes the broker hold each position's stop (its
   * `summary()`, `rows()`, `whenConverged()`); undefined in LOCAL or shadow mode.
   */
  get protection(): StopReconciler | undefined {
    return this.#core?.reconciler;
  }

  /**
   * The last equity point the drawdown ladder accepted (snapshots marked to a suspected bad
   * tick are held back, so this is the equity the risk decisions used); undefined before any.
   */
  get lastEquity(): { readonly timestamp: number; readonly equity: number } | undefined {
    const history = this.#core?.drawdown.history;
    return history === undefined || history.size === 0 ? undefined : history.point(history.size - 1);
  }

  /** Current drawdown of the accepted equity from its peak, in [0, 1]; NaN before any. */
  get drawdown(): number {
    return this.#core?.drawdown.drawdown ?? Number.NaN;
  }

  /** Worst drawdown of the accepted equity since start (the kernel's), in [0, 1]; NaN before any. */
  get maxDrawdown(): number {
    return this.#core?.drawdown.maxDrawdown ?? Number.NaN;
  }

  /** Protective stops adopted from the broker at start (BROKER mode). */
  get restoredStops(): number {
    return this.#core?.adoption.restored ?? 0;
  }

  /** True when, at start in BROKER mode, the broker could not list its open orders (fresh stops were placed). */
  get restoreFailed(): boolean {
    return this.#core?.adoption.failed ?? false;
  }

  /**
   * One bar; the same path as a batch of one. When no batch is in progress it is processed
   * before the call returns (the promise is already settled): a live feed calling this per
   * bar pays for the symbol that moved, not for the universe.
   */
  onBar(bar: Bar): Promise<void> {
    const one = this.#one;
    one[0] = bar;
    try {
      return this.#ready().bars.take(one);
    } finally {
      one[0] = NO_BAR; // nothing of the caller's bar is kept (a queued bar is copied)
    }
  }

  /**
   * A batch of bars (the fast path). Each record is validated; bad ones are rejected with a
   * code and counted while the rest proceed. If a batch is still being processed, bars wait
   * in a bounded mailbox that keeps the latest bar per symbol.
   */
  onBars(bars: readonly Bar[]): Promise<void> {
    return this.#ready().bars.take(bars);
  }

  /**
   * One execution. Never dropped: handled at once and synchronously (so atomically for its
   * position), without waiting for the position's command lane — a host may deliver a fill
   * from inside the very send that caused it.
   */
  onFill(fill: Fill): void {
    this.#ready().portfolio.fill(fill);
  }

  /** The host's portfolio: positions to protect, and equity for the drawdown ladder. */
  onPortfolio(snapshot: PortfolioSnapshot): void {
    this.#ready().portfolio.snapshot(snapshot);
  }

  /**
   * Pre-trade veto. HALTED and REDUCING let only exits through; a quarantined symbol takes
   * no entries; a new position beyond maxPositions is refused; with a coordinator, entries
   * only in symbols this instance owns. An exit is an order on the closing side of a
   * position (the host's last snapshot, else the one the stops manage) and no larger than it; the order's own `intent` and
   * `reduceOnly` are not taken on trust (an "EXIT" with no position behind it opens one),
   * so anything else is judged as an entry. Fails closed before initialisation and after
   * dispose (`PLUGIN_ERROR`; in shadow mode let through, as every denial is).
   */
  beforeOrder(order: OrderRequest): OrderDecision {
    const life = this.#life;
    switch (life.phase) {
      case 'READY':
        return this.#veto.decide(order, life.core);
      case 'DISPOSED':
        // Nothing is counted or reported any more.
        return this.config.shadow ? ALLOW : deny('PLUGIN_ERROR', 'risk plugin disposed');
      default:
        return this.#veto.deny(order, 'PLUGIN_ERROR', 'risk plugin not initialised');
    }
  }

  /**
   * Releases every subscription (the coordinator's, the listeners'), timer (the reconciler's,
   * the drawdown ladder's), kernel bank and managed position, and unwatches the metrics (which
   * keep the plugin's final values); resolves once the commands already handed to the order
   * path have their outcome. A call during `onInit` waits for it and releases what it built.
   * Later calls get the first one's promise.
   */
  onDispose(): Promise<void> {
    this.#disposed ??= this.#dispose();
    return this.#disposed;
  }

  async #dispose(): Promise<void> {
    const life = this.#life;
    this.#disposal.abort();
    this.#hub.close();
    if (life.phase === 'READY') {
      this.#life = { phase: 'DISPOSED', core: life.core };
      await life.core.close();
    } else {
      this.#life = { phase: 'DISPOSED', core: undefined };
      // An init under way sees the abort and releases what it built; a failed one built nothing.
      await this.#init?.catch(() => {});
    }
    this.#unwatchMetrics();
  }

  /** Manual reset of the drawdown ladder and of anomaly-driven REDUCING. */
  reset(): void {
    this.#ready().reset();
  }

  /** The live stop of `symbol`'s position. */
  stopOf(symbol: string): StopView | undefined {
    return this.#core?.stops.get(symbol);
  }

  /**
   * Work the bar path has done that could follow the configured universe rather than the
   * bars received (ATR symbol-updates, stale slots scanned, correlation pair-updates): for
   * tests that a bar's cost does not grow with `maxSymbols`. A count, not a timing.
   * @internal
   */
  get work(): number {
    return this.#core?.work ?? 0;
  }

  /**
   * The ATR (`stops.atrPeriod`, suspected bad ticks kept out) that `symbol`'s stops trail on,
   * as of its last bar; NaN before it is seeded, for an unknown symbol, and before `onInit`.
   */
  atrOf(symbol: string): number {
    return this.#core?.atrOf(symbol) ?? Number.NaN;
  }

  /**
   * A quantity for an entry in `symbol` such that hitting its stop loses `sizing.riskFraction`
   * of current equity (the stop given, else the plugin's own stop policy for a position entered
   * at `entryPrice` — default the last accepted close — at the current ATR), capped by
   * `sizing.maxFractionOfEquity` and by every pre-trade limit, rounded down to the lot. A coded
   * reason instead when no size is possible: `INSUFFICIENT_DATA` (no equity yet, no price, the
   * ATR not seeded, sizing not configured) or the code of a limit already reached.
   *
   * @example
   * ```ts
   * const size = plugin.sizeOrder({ symbol: 'AAPL', side: 'BUY', stopPrice: 95 });
   * if (size.ok) await engine.submitOrder({ clientOrderId, symbol: 'AAPL', side: 'BUY', quantity: size.quantity, type: 'MARKET', intent: 'ENTRY' });
   * ```
   */
  sizeOrder(request: SizeRequest): SizeResult {
    const core = this.#core;
    if (core === undefined) return { ok: false, code: 'INSUFFICIENT_DATA', message: 'the plugin is not initialised' };
    return core.sizeOrder(request, this.lastEquity?.equity);
  }

  /** A frozen summary of counters and state. */
  stats(): RiskPluginStats {
    return buildStats(this.#counters, this.#core?.liveStats() ?? BEFORE_INIT);
  }

  /**
   * A snapshot for serialisation: the stats, one small frozen view per managed stop, and,
   * when configured, the exposure the pre-trade limits see, the day's loss against its limit
   * and the StoplossGuard locks and cooldowns in force. No large arrays are copied (ISSUE-2985).
   */
  toJSON(): {
    readonly stats: RiskPluginStats;
    readonly stops: readonly StopView[];
    readonly exposure?: ExposureView;
    readonly dailyLoss?: DailyLossState;
    readonly locks?: ProtectionLocks;
  } {
    const core = this.#core;
    const exposure = core?.limits?.view();
    const dailyLoss = core?.dailyLoss?.snapshot(core.ctx.now());
    const locks = core?.guard?.locks(core.ctx.now());
    return Object.freeze({
      stats: this.stats(),
      stops: Object.freeze(core?.stops.views() ?? []),
      ...(exposure === undefined ? {} : { exposure }),
      ...(dailyLoss === undefined ? {} : { dailyLoss: Object.freeze(dailyLoss) }),
      ...(locks === undefined ? {} : { locks: Object.freeze(locks) }),
    });
  }

  /** The initialised core (kept, released, after dispose); undefined before `onInit` has completed. */
  get #core(): PluginCore | undefined {
    const life = this.#life;
    return life.phase === 'READY' || life.phase === 'DISPOSED' ? life.core : undefined;
  }

  /** The core, for a hook: throws NOT_INITIALIZED before `onInit` has completed, PLUGIN_DISPOSED after dispose. */
  #ready(): PluginCore {
    const life = this.#life;
    if (life.phase === 'READY') return life.core;
    if (life.phase === 'DISPOSED') throw disposedError();
    throw new BulwarkError('NOT_INITIALIZED', 'onInit has not completed');
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
   * order path's (egress events, latency) are fed by whoever owns it. Several plugins may
   * share one: each is watched under its `name` from construction and unwatched at dispose
   * (see {@link BulwarkMetrics.watchPlugin}).
   */
  readonly metrics?: BulwarkMetrics;
  /**
   * Time and timers of the stop reconciler's retries and re-reads (a replay's virtual clock).
   * Default the system clock.
   */
  readonly clock?: Clock;
  /**
   * Where StoplossGuard's locks and the cooldowns after stop-outs are kept, so a restart (or a
   * crash loop) finds them in force: loaded at `onInit`, saved at each new lock. Default none
   * (in memory only). {@link FileProtectionStore} keeps them in a JSON file.
   */
  readonly protectionStore?: ProtectionStore;
}
