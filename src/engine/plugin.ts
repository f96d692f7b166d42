import type { Bar, Fill, PortfolioSnapshot } from '../vocabulary/market.js';
import type { OrderDecision, OrderRequest } from '../vocabulary/orders.js';
import type { PluginContext } from '../vocabulary/services.js';

/**
 * What the reference {@link Engine} hosts. Every hook is optional; each may be synchronous or
 * return a promise, which the engine awaits before calling the next plugin. Hooks run in
 * registration order. A hook that throws (or rejects) is caught and counted per plugin and
 * hook; the engine keeps running. A `beforeOrder` that throws, or returns something that is
 * not an {@link OrderDecision}, denies the order with `PLUGIN_ERROR` (fail closed).
 *
 * The engine passes records it has already validated (frozen {@link Bar}s and {@link Fill}s);
 * a plugin that validates its own input may declare its parameters as `unknown`.
 *
 * @example
 * ```ts
 * const logger: EnginePlugin = {
 *   name: 'logger',
 *   onBars(bars) { console.log(bars.length, 'bars at', bars[0]?.timestamp); },
 *   beforeOrder(order) { return order.quantity > 1000 ? deny('INVALID_ORDER', 'too big') : ALLOW; },
 * };
 * const unregister = engine.use(logger);
 * ```
 */
export interface EnginePlugin {
  /** Unique among the plugins registered on one engine; keys the error counters. */
  readonly name: string;
  /** Called once, when the plugin is registered; other hooks wait until it settles. */
  onInit?(ctx: PluginContext): void | Promise<void>;
  /** One bar. Not called for a plugin that has `onBars`. */
  onBar?(bar: Bar): void | Promise<void>;
  /** All bars of one timestamp (at most one per symbol), in source order. Preferred over `onBar`. */
  onBars?(bars: readonly Bar[]): void | Promise<void>;
  /** One simulated execution, after the portfolio has applied it. */
  onFill?(fill: Fill): void | Promise<void>;
  /** The portfolio after each batch's fills, marked to that batch's closes. */
  onPortfolio?(snapshot: PortfolioSnapshot): void | Promise<void>;
  /** Pre-trade check. The first deny wins; later plugins are not asked. */
  beforeOrder?(order: OrderRequest): OrderDecision | Promise<OrderDecision>;
  /** Called once, when the plugin is unregistered or the engine disposed. */
  onDispose?(): void | Promise<void>;
}

/** The hooks of an {@link EnginePlugin}; error counters are keyed by them. */
export type HookName = 'onInit' | 'onBar' | 'onBars' | 'onFill' | 'onPortfolio' | 'beforeOrder' | 'onDispose';

/** All hook names, in the order a plugin meets them. */
export const HOOK_NAMES: readonly HookName[] = Object.freeze([
  'onInit',
  'onBar',
  'onBars',
  'onFill',
  'onPortfolio',
  'beforeOrder',
  'onDispose',
]);

/** Emitted (past tense) when a plugin hook threw or returned an invalid decision. */
export interface PluginFailed {
  /** Name of the plugin whose hook failed. */
  readonly plugin: string;
  /** The hook that failed. */
  readonly hook: HookName;
  /** What the hook threw or rejected with; a `TypeError` for a `beforeOrder` that returned no decision. */
  readonly error: unknown;
}
