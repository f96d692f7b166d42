// Public API of the anomaly module (re-exports only).
export { AnomalyDetector } from './detector.js';
export {
  DEFAULT_ANOMALY_CONFIG,
  MAX_WINDOW_ENTRIES,
  kernelLimitProblems,
  resolveAnomalyConfig,
  type AnomalyActions,
  type AnomalyConfig,
  type AnomalyConfigInput,
} from './config.js';
export {
  ANOMALY_ACTIONS,
  ANOMALY_SEVERITIES,
  ANOMALY_TYPES,
  anomalyEvent,
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
} from './events.js';
export { MAD_TO_SIGMA, MEAN_AD_TO_SIGMA, RobustScorer } from './robust.js';
