export { RedisCoordinator, type CoordinatorHealth } from './coordinator.js';
export { LocalCoordinator, type LocalCoordinatorOptions } from './local-coordinator.js';
export {
  resolveCoordinatorOptions,
  type RedisCoordinatorOptions,
  type ResolvedCoordinatorOptions,
} from './coordinator-options.js';
export type {
  CoordinatorEvent,
  CoordinatorListener,
  CoordinatorStateCause,
  InstanceCoordinator,
  SymbolWriteResult,
} from './events.js';
export { FencedLock, type FencedLockOptions, type LockHandle, type HeldLock } from './fenced-lock.js';
export {
  Fence,
  type FenceOptions,
  type FencedValue,
  type FencedWriteAccepted,
  type FencedWriteRejected,
  type FencedWriteResult,
} from './fencing.js';
export {
  SymbolLeases,
  type LeaseGain,
  type LeaseLoss,
  type LeaseLossReason,
  type SymbolLease,
  type SymbolLeasesOptions,
} from './symbol-leases.js';
export { Membership, type MembershipOptions } from './membership.js';
export { rendezvousOwner, assignSymbols } from './rendezvous.js';
export { RateBudget, type RateBudgetOptions, type RateBudgetResult } from './rate-budget.js';
export {
  KillSwitch,
  parseKillSwitchStatus,
  type KillSwitchEngaged,
  type KillSwitchOptions,
  type KillSwitchReleased,
  type KillSwitchStatus,
} from './kill-switch.js';
export { createRedisConnection, closeRedisConnection, type RedisConnectionOptions } from './redis-connection.js';
