// The reference engine: re-exports only.
export { Engine, type Strategy, type ReplayOptions, type BarRejected } from './engine.js';
export type { EnginePlugin, HookName, PluginFailed } from './plugin.js';
export { HOOK_NAMES } from './plugin.js';
export { EngineError, isEngineError, type EngineErrorCode } from './errors.js';
export {
  DEFAULT_ENGINE_OPTIONS,
  resolveEngineOptions,
  type EngineOptions,
  type MarketFillMode,
  type ResolvedEngineOptions,
} from './options.js';
export type { EngineStats, ReplaySummary } from './stats.js';
export type { PluginErrorCounts } from './plugin-host.js';
export { PluginHost } from './plugin-host.js';
export { Portfolio, type PortfolioView, type FillEffect } from './portfolio.js';
export {
  FillSimulator,
  type FillSimulatorOptions,
  type NewOrder,
  type SimulatedOrder,
  type OrderOrigin,
  type OrderState,
  type CancelReason,
  type PlaceOutcome,
  type AmendOutcome,
} from './fill-simulator.js';
export { fillPrice, type FillTerms } from './fill-rules.js';
export {
  SimulatedOrderService,
  COMMAND_FAILURE_CODES,
  type CommandFailureCode,
  type CommandKind,
} from './order-service.js';
export { readCsvBars, splitCsvLine, parseCsvHeader, csvLineToRow, CSV_BAR_COLUMNS, type CsvRow } from './csv-bars.js';
export { sourceItems, type BarSource, type SourceItem } from './bar-source.js';
export { BarSequencer } from './bar-sequencer.js';
export { Batcher } from './batcher.js';
export { CodeCounter, diffCounts } from '../util/code-counter.js';
