import { bulkhead, timeout, TimeoutStrategy, wrap, type IPolicy } from 'cockatiel';
import type { DrawdownBank } from '../kernels/drawdown.js';
import type { Kernels } from '../kernels/load.js';
import type { Validated } from '../validation/validated.js';
import { closingSide } from '../vocabulary/market.js';
import type { ProtectiveCommand } from '../vocabulary/orders.js';
import type { PluginContext } from '../vocabulary/services.js';
import { stricter, type TradingState } from '../vocabulary/trading-state.js';
import { EquityHistory, type UnderwaterCurve } from './equity-history.js';
import type { DrawdownLadder } from './ladder.js';
import { f64At } from '../util/indexed.js';

/** Why the trading state changed, or a warning was raised. */
export type DrawdownReason =
  | 'DRAWDOWN_WARNING'
  | 'DRAWDOWN_REDUCE_THRESHOLD'
  | 'DRAWDOWN_HALT_THRESHOLD'
  | 'DRAWDOWN_RECOVERED'
  | 'MANUAL_RESET'
  | 'HALT_ACTION_FAILED';

/** A frozen record of a ladder decision, with the inputs it used. */
export interface DrawdownEvent {
  /** What happened: a warning, a threshold crossed, a recovery, a manual reset, or failed halt actions. */
  readonly reason: DrawdownReason;
  /** Trading state before the decision. */
  readonly from: TradingState;
  /** Trading state after the decision; equal to `from` for DRAWDOWN_WARNING and HALT_ACTION_FAILED. */
  readonly to: TradingState;
  /** The drawdown driving the ladder, a fraction of the peak in [0, 1] (0.1 = 10 %). */
  readonly drawdown: number;
  /** The last equity point accepted; NaN before the first. */
  readonly equity: number;
  /** When the decision was taken, in epoch ms on the plugin's clock (`ctx.now()`), not the equity point's time. */
  readonly timestamp: number;
  /** The error behind a HALT_ACTION_FAILED; absent for every other reason. */
  readonly detail?: string;
}

/** Options of {@link DrawdownController}. */
export interface DrawdownControllerOptions {
  readonly kernels: Kernels;
  readonly ladder: DrawdownLadder;
  readonly historyCapacity: number;
  readonly context: PluginContext;
  /** Where cancels and closes go (shared per-position lanes). */
  readonly submit: (command: ProtectiveCommand) => void;
  /** Client order ids for flattening orders. */
  readonly nextId: () => string;
  readonly onEvent: (event: DrawdownEvent) => void;
}

/**
 * Watches account equity and moves the trading state along the drawdown ladder. Drawdown
 * comes from the WASM kernel (running peak, or a monotonic deque for a rolling window), so
 * an update costs O(1) whatever the history (ISSUE-2969). On HALTED it fetches open orders
 * (and, with flattenOnHalt, all positions) in one call each, through a bulkhead with
 * timeouts, cancels entries and optionally flattens; nothing blocks the event loop.
 *
 * @example
 * ```ts
 * const dd = new DrawdownController({ kernels, ladder: DEFAULT_LADDER, historyCapacity: 525_600, context, submit, nextId, onEvent });
 * dd.update(snapshot.timestamp, snapshot.equity);
 * dd.state; // 'ACTIVE' | 'REDUCING' | 'HALTED'
 * ```
 */
export class DrawdownController {
  readonly history: EquityHistory;
  readonly #o: DrawdownControllerOptions;
  readonly #policy: IPolicy;
  #bank: DrawdownBank;
  /** Since-inception drawdown when the ladder uses a rolling window (else `#bank` is it). */
  #running: DrawdownBank | undefined;
  #state: TradingState = 'ACTIVE';
  #warned = false;
  #recoveringSince: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastEquity = Number.NaN;
  #lastDrawdown = 0;
  #haltActions: Promise<void> = Promise.resolve();

  constructor(options: DrawdownControllerOptions) {
    this.#o = options;
    this.history = new EquityHistory(options.historyCapacity);
    this.#bank = options.kernels.drawdownBank({ series: 1, window: options.ladder.window });
    this.#running = options.ladder.window > 0 ? options.kernels.drawdownBank({ series: 1, window: 0 }) : undefined;
    const l = options.ladder;
    this.#policy = wrap(
      bulkhead(l.maxConcurrentCalls, l.maxQueuedCalls),
      timeout(l.serviceTimeoutMs, TimeoutStrategy.Aggressive),
    );
  }

  /** The state the ladder puts trading in. */
  get state(): TradingState {
    return this.#state;
  }

  /** Latest drawdown driving the ladder (rolling over `window` points, or since inception for 0), in [0, 1]. */
  get drawdown(): number {
    return this.#lastDrawdown;
  }

  /** Drawdown from the running peak since inception (or the last reset), in [0, 1]. */
  get runningDrawdown(): number {
    return f64At((this.#running ?? this.#bank).current(), 0) || 0;
  }

  /** Worst drawdown since inception (or the last reset), in [0, 1]; NaN before any equity. */
  get maxDrawdown(): number {
    return f64At(this.#bank.max(), 0);
  }

  /** Resolves when the last HALTED's cancels/closes have been handed to the order path. */
  get settled(): Promise<void> {
    return this.#haltActions;
  }

  /** Adds an equity point and applies the ladder. Refuses bad points with a code. */
  update(timestamp: number, equity: number): Validated<number> {
    const pushed = this.history.push(timestamp, equity);
    if (!pushed.ok) return pushed;
    this.#bank.update([equity]);
    this.#running?.update([equity]);
    this.#lastEquity = equity;
    this.#lastDrawdown = f64At(this.#bank.current(), 0);
    this.#evaluate();
    return pushed;
  }

  /** The underwater curve of the history held. */
  underwater(): UnderwaterCurve {
    return this.history.underwater();
  }

  /**
   * Manual reset: back to ACTIVE now, and the current equity becomes the new peak (LEAN
   * never resumes; an operator can).
   */
  reset(): void {
    const from = this.#state;
    this.#bank.dispose();
    this.#running?.dispose();
    this.#bank = this.#o.kernels.drawdownBank({ series: 1, window: this.#o.ladder.window });
    this.#running = this.#o.ladder.window > 0 ? this.#o.kernels.drawdownBank({ series: 1, window: 0 }) : undefined;
    if (Number.isFinite(this.#lastEquity)) {
      this.#bank.update([this.#lastEquity]);
      this.#running?.update([this.#lastEquity]);
    }
    this.#lastDrawdown = 0;
    this.#warned = false;
    this.#stopRecovery();
    this.#state = 'ACTIVE';
    this.#emit('MANUAL_RESET', from, 'ACTIVE');
  }

  /** Stops timers and frees the kernel bank. */
  dispose(): void {
    this.#stopRecovery();
    this.#bank.dispose();
    this.#running?.dispose();
  }

  #evaluate(): void {
    const l = this.#o.ladder;
    const dd = this.#lastDrawdown;
    if (dd >= l.warnAt && !this.#warned) {
      this.#warned = true;
      this.#emit('DRAWDOWN_WARNING', this.#state, this.#state);
    }
    const target: TradingState = dd >= l.haltAt ? 'HALTED' : dd >= l.reduceAt ? 'REDUCING' : 'ACTIVE';
    if (stricter(target, this.#state) !== this.#state) {
      const from = this.#state;
      this.#state = target;
      this.#stopRecovery();
      this.#emit(target === 'HALTED' ? 'DRAWDOWN_HALT_THRESHOLD' : 'DRAWDOWN_REDUCE_THRESHOLD', from, target);
      if (target === 'HALTED') this.#haltActions = this.#onHalt();
      return;
    }
    if (dd > l.resumeBelow) {
      this.#stopRecovery();
      return;
    }
    this.#warned = false;
    if (this.#state === 'ACTIVE') return;
    const now = this.#o.context.now();
    if (this.#recoveringSince === undefined) {
      this.#recoveringSince = now;
      this.#timer = setTimeout(() => this.#resumeIfDue(this.#o.context.now()), l.cooldownMs);
      this.#timer.unref();
    } else {
      this.#resumeIfDue(now);
    }
  }

  #resumeIfDue(now: number): void {
    if (this.#recoveringSince === undefined || now - this.#recoveringSince < this.#o.ladder.cooldownMs) return;
    const from = this.#state;
    this.#stopRecovery();
    this.#state = 'ACTIVE';
    this.#emit('DRAWDOWN_RECOVERED', from, 'ACTIVE');
  }

  #stopRecovery(): void {
    this.#recoveringSince = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #onHalt(): Promise<void> {
    const { orders, portfolio } = this.#o.context;
    try {
      const [open, positions] = await Promise.all([
        this.#policy.execute(() => orders.openOrders()),
        this.#o.ladder.flattenOnHalt ? this.#policy.execute(() => portfolio.positions()) : Promise.resolve([]),
      ]);
      for (const order of open) {
        if (order.intent === 'ENTRY')
          this.#o.submit({ kind: 'CANCEL', clientOrderId: order.clientOrderId, symbol: order.symbol });
      }
      for (const p of positions) {
        this.#o.submit({
          kind: 'CLOSE_POSITION',
          clientOrderId: this.#o.nextId(),
          symbol: p.symbol,
          side: closingSide(p.side),
          quantity: p.quantity,
        });
      }
    } catch (error) {
      this.#emit(
        'HALT_ACTION_FAILED',
        this.#state,
        this.#state,
        error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      );
    }
  }

  #emit(reason: DrawdownReason, from: TradingState, to: TradingState, detail?: string): void {
    const event: DrawdownEvent = {
      reason,
      from,
      to,
      drawdown: this.#lastDrawdown,
      equity: this.#lastEquity,
      timestamp: this.#o.context.now(),
      ...(detail === undefined ? {} : { detail }),
    };
    this.#o.onEvent(Object.freeze(event));
  }
}
