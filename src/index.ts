/**
 * `bulwark`: the risk plugin, its configuration and events, the WebAssembly kernels, the
 * shared vocabulary and the errors.
 *
 * The other entry points, by audience:
 * - `bulwark/engine`: the reference engine that hosts the plugin (replay, simulated fills);
 * - `bulwark/egress`: the order path to a broker (egress, WebSocket client, rate limiter,
 *   venue guard, journal, dead-letter queue) and observability (metrics, logger);
 * - `bulwark/coordination`: several instances on Redis;
 * - `bulwark/testing`: the simulated broker, the demo data and a virtual clock.
 *
 * Everything here is deliberate: `api/bulwark.api.md` is the report of this surface and a
 * test fails when it changes without the report.
 *
 * @packageDocumentation
 */

// ---- Errors.
export {
  BulwarkError,
  isBulwarkError,
  BULWARK_ERROR_CODES,
  BULWARK_ERROR_CODES_BY_AREA,
  type BulwarkErrorArea,
  type BulwarkErrorCode,
  type ErrorCode,
} from './errors.js';

// ---- The shared vocabulary.
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
export type {
  OpenOrder,
  PortfolioService,
  OrderService,
  PluginContext,
  ObservedOrder,
  AmendStyle,
  BrokerOrderStatus,
} from './vocabulary/services.js';
export type { Clock, TimerHandle } from './util/clock.js';

// ---- The risk plugin.
export { createRiskPlugin, RiskPlugin, type RiskPluginServices } from './plugin/risk-plugin.js';
export {
  resolveRiskConfig,
  DEFAULT_RISK_LIMITS,
  DEFAULT_STOPS,
  type RiskPluginConfig,
  type ResolvedRiskConfig,
  type RiskLimits,
  type StopsConfig,
  type ReconcileConfig,
} from './plugin/config.js';
export type { PreTradeConfig, ProtectionsConfig } from './limits/pre-trade-config.js';
export type { DailyLossLimitConfig, DailyLossState } from './limits/daily-loss.js';
export type { ExposureView } from './limits/pre-trade-limits.js';
export type { StoplossGuardConfig, ProtectionLocks } from './limits/stop-out-guard.js';
export { FileProtectionStore, type ProtectionStore } from './limits/protection-store.js';
export type { SizingConfig, SizeRequest, SizeResult } from './limits/position-sizing.js';
export type { RiskEvent, RiskListener } from './plugin/risk-events.js';
export type { RiskPluginStats } from './plugin/plugin-stats.js';
export type { StopMode, StopView, StopCounters, StopChange, StopDecision, StopAction } from './stops/stop-manager.js';
export type { CoalescerStats } from './concurrency/command-coalescer.js';
export type { StopRule, StopPolicy, BreakevenRule } from './stops/stop-rules.js';
export { DEFAULT_LADDER, type DrawdownLadder } from './drawdown/ladder.js';
export type { DrawdownEvent, DrawdownReason } from './drawdown/drawdown-controller.js';
export type {
  StopReconciler,
  ProtectionState,
  DesiredStop,
  ProtectionChange,
  ProtectionRow,
  ProtectionSummary,
} from './protection/stop-reconciler.js';
export {
  DEFAULT_ANOMALY_CONFIG,
  ANOMALY_ACTIONS,
  ANOMALY_SEVERITIES,
  ANOMALY_TYPES,
  type AnomalyActions,
  type AnomalyConfig,
  type AnomalyConfigInput,
  type AnomalyAction,
  type AnomalyEvent,
  type AnomalyEventFields,
  type AnomalySeverity,
  type AnomalyType,
  type BadTickEvent,
  type BadTickInputs,
  type CorrelationBreakEvent,
  type CorrelationBreakInputs,
  type PriceSpikeEvent,
  type PriceSpikeInputs,
  type SpikeInputs,
  type StaleFeedEvent,
  type StaleFeedInputs,
  type VolatilityRegimeEvent,
  type VolatilityRegimeInputs,
  type VolumeSpikeEvent,
  type VolumeSpikeInputs,
} from './anomaly/index.js';
export type { InstanceCoordinator, CoordinatorEvent, CoordinatorListener } from './coordination/events.js';
export {
  BulwarkMetrics,
  type BulwarkMetricsOptions,
  type MetricSources,
  type PluginMetricSource,
} from './metrics/bulwark-metrics.js';
export { createLogger, type CreateLoggerOptions, type RiskLogger } from './logging/logger.js';

// ---- Kernels.
export { loadKernels, type Kernels, type KernelBuild, type LoadKernelsOptions } from './kernels/load.js';
export { DEFAULT_KERNEL_LIMITS, type KernelLimits } from './kernels/limits.js';
export type { KernelBank, NumericInput } from './kernels/bank.js';
export type { AtrBank, AtrBankInput, AtrBankOptions } from './kernels/atr.js';
export type { DrawdownBank, DrawdownBankOptions } from './kernels/drawdown.js';
export type { CorrelationBank, CorrelationBankOptions } from './kernels/correlation.js';
export type { WindowBank, WindowBankOptions } from './kernels/windows.js';

// ---- Validation of records, as the plugin does it.
export { validateBar, validateFill, validatePosition, validateSnapshot, validateOrder } from './validation/records.js';
export { DEFAULT_INPUT_LIMITS, type InputLimits } from './validation/fields.js';
export type { Rejection, Validated } from './validation/validated.js';
