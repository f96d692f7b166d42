/**
 * `bulwark/egress`: the order path from the risk plugin to a broker, and what observes it.
 *
 * Protective commands leave through {@link OrderEgress}: a priority queue (protective first),
 * a {@link SlidingWindowRateLimiter} that takes the slot when the request is written, retries,
 * a circuit breaker ({@link VenueGuard}), an {@link OrderJournal} of intents and outcomes and a
 * durable {@link DeadLetterQueue}, to a {@link WsBrokerClient} speaking the broker protocol.
 * {@link BrokerOrderService} turns that path into the plugin's `OrderService`.
 *
 * @packageDocumentation
 */
export {
  OrderEgress,
  type OrderEgressOptions,
  type EgressEvent,
  type BrokerClient,
  type BrokerMethod,
} from './order-egress.js';
export type { EgressLane } from './egress-queue.js';
export {
  MAX_RATE_WINDOWS,
  MAX_WINDOW_LIMIT,
  SlidingWindowRateLimiter,
  type RateLimiterOptions,
} from './rate-limiter.js';
export { VenueGuard, BrokerRequestError, type VenueGuardOptions } from './venue-guard.js';
export { OrderJournal, type OrderJournalOptions, type PendingStop, type Reconciled } from './order-journal.js';
export {
  DeadLetterQueue,
  type DeadLetter,
  type DeadLetterQueueOptions,
  type DeadLetterAdd,
} from './dead-letter-queue.js';
export type { BrokerOrder, BrokerOrderState, ExecutionReport, InboundRejection } from './protocol.js';
export type { BrokerErrorAction } from './broker-errors.js';
export { WsBrokerClient, type WsBrokerClientOptions } from '../broker/ws-broker-client.js';
export {
  BrokerOrderService,
  type BrokerOrderServiceOptions,
  type BrokerQueries,
} from '../broker/broker-order-service.js';
export {
  BulwarkMetrics,
  type BulwarkMetricsOptions,
  type MetricSources,
  type PluginMetricSource,
} from '../metrics/bulwark-metrics.js';
export { serveMetrics, type MetricsServer } from '../metrics/metrics-server.js';
export { createLogger, type CreateLoggerOptions, type RiskLogger } from '../logging/logger.js';
export { logRiskEvent, logEgressEvent } from '../logging/risk-log.js';
