/**
 * `bulwark/engine`: the reference engine that hosts the risk plugin: registration of plugins
 * in order, CSV or generator replay batched by time slice, simulated fills (market, stop,
 * limit; gaps) and portfolio accounting.
 *
 * @packageDocumentation
 */
export { Engine, type Strategy, type ReplayOptions, type BarRejected } from './engine.js';
export { HOOK_NAMES, type EnginePlugin, type HookName, type PluginFailed } from './plugin.js';
export { EngineError, isEngineError, type EngineErrorCode } from './errors.js';
export { DEFAULT_ENGINE_OPTIONS, type EngineOptions, type MarketFillMode } from './options.js';
export type { EngineStats, ReplaySummary } from './stats.js';
export type { PluginErrorCounts } from './plugin-host.js';
export type { PortfolioView } from './portfolio.js';
export type { SimulatedOrder, OrderOrigin, OrderState, CancelReason, NewOrder } from './fill-simulator.js';
export { readCsvBars, CSV_BAR_COLUMNS, type CsvRow } from './csv-bars.js';
export { COMMAND_FAILURE_CODES, type CommandKind, type CommandFailureCode } from './order-service.js';
export type { BarSource } from './bar-source.js';
