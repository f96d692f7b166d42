// Errors and the shared vocabulary.
export { BulwarkError, isBulwarkError, type ErrorCode } from './errors.js';
export { TRADING_STATES, stricter, type TradingState } from './vocabulary/trading-state.js';
export { REJECTION_CODES, DENY_CODES, type RejectionCode, type DenyCode } from './vocabulary/reason-codes.js';
export type { Bar, Fill, Position, PortfolioSnapshot, OrderSide, PositionSide } from './vocabulary/market.js';
export {
  ALLOW,
  deny,
  type OrderIntent,
  type OrderRequest,
  type OrderDecision,
  type ProtectiveCommand,
  type CommandResult,
  type OrderSink,
} from './vocabulary/orders.js';
export type { OpenOrder, PortfolioService, OrderService, PluginContext } from './vocabulary/services.js';

// Kernels.
export { loadKernels, type Kernels, type KernelBuild, type LoadKernelsOptions } from './kernels/load.js';
export { DEFAULT_KERNEL_LIMITS, type KernelLimits } from './kernels/limits.js';
export { KernelBank, type NumericInput } from './kernels/bank.js';
export { AtrBank, type AtrBankOptions } from './kernels/atr.js';
export { DrawdownBank, type DrawdownBankOptions } from './kernels/drawdown.js';
export { CorrelationBank, packedIndex, type CorrelationBankOptions } from './kernels/correlation.js';
export { WindowBank, windowBankBytes, type WindowBankOptions } from './kernels/windows.js';

// Validation.
export { validateBar, validateFill, validatePosition, validateSnapshot, validateOrder } from './validation/records.js';
export { DEFAULT_INPUT_LIMITS, parseTimestamp, type InputLimits } from './validation/fields.js';
export { RejectionCounter } from './validation/rejection-counter.js';
export type { Rejection, Validated } from './validation/validated.js';

// The risk plugin and its parts.
export { createRiskPlugin, RiskPlugin } from './plugin/risk-plugin.js';
export {
  resolveRiskConfig,
  DEFAULT_RISK_LIMITS,
  DEFAULT_STOPS,
  type RiskPluginConfig,
  type ResolvedRiskConfig,
  type RiskLimits,
  type StopsConfig,
} from './plugin/config.js';
export type { RiskEvent, RiskListener } from './plugin/risk-events.js';
export type { RiskPluginStats } from './plugin/plugin-stats.js';
export { KeyedLock } from './concurrency/keyed-lock.js';
export { CommandCoalescer, type CoalescerStats } from './concurrency/command-coalescer.js';
export { StopManager, type StopMode, type StopView, type StopCounters, type StopChange } from './stops/stop-manager.js';
export {
  candidateStop,
  ruleStop,
  isTighter,
  isTriggered,
  type StopRule,
  type StopPolicy,
  type BreakevenRule,
  type StopInputs,
} from './stops/stop-rules.js';
export { DrawdownController, type DrawdownEvent, type DrawdownReason } from './drawdown/drawdown-controller.js';
export { EquityHistory, type UnderwaterCurve } from './drawdown/equity-history.js';
export { DEFAULT_LADDER, type DrawdownLadder } from './drawdown/ladder.js';
export { SymbolRegistry } from './market/symbol-registry.js';
export * from './anomaly/index.js';

// The reference engine.
export {
  Engine,
  type Strategy,
  type ReplayOptions,
  type BarRejected,
  type EnginePlugin,
  type HookName,
  type PluginFailed,
  HOOK_NAMES,
  EngineError,
  isEngineError,
  type EngineErrorCode,
  DEFAULT_ENGINE_OPTIONS,
  type EngineOptions,
  type MarketFillMode,
  type EngineStats,
  type ReplaySummary,
  type PluginErrorCounts,
  readCsvBars,
} from './engine/index.js';

// Several instances on Redis (optional; LocalCoordinator without Redis).
export * from './coordination/index.js';
