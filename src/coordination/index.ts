/**
 * `bulwark/coordination`: several instances of a trading engine on one book, coordinated
 * through Redis: each position managed by exactly one instance (leases), one shared
 * order-rate budget, one kill switch. {@link LocalCoordinator} is the one-process stand-in.
 *
 * @packageDocumentation
 */
export { RedisCoordinator, type CoordinatorHealth } from './coordinator.js';
export { LocalCoordinator, type LocalCoordinatorOptions } from './local-coordinator.js';
export type { RedisCoordinatorOptions, ResolvedCoordinatorOptions } from './coordinator-options.js';
export type { FencedWriteResult, FencedWriteAccepted, FencedWriteRejected } from './fencing.js';
export type { LeaseLossReason } from './symbol-leases.js';
export type {
  CoordinatorEvent,
  CoordinatorListener,
  CoordinatorStateCause,
  InstanceCoordinator,
  SymbolWriteResult,
} from './events.js';
export type { KillSwitchStatus, KillSwitchEngaged, KillSwitchReleased } from './kill-switch.js';
