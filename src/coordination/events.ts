import type { TradingState } from '../vocabulary/trading-state.js';
import type { FencedWriteResult } from './fencing.js';
import type { LeaseLossReason } from './symbol-leases.js';

/** Why a coordinator's trading state changed. */
export type CoordinatorStateCause =
  'STARTED' | 'REDIS_UNAVAILABLE' | 'REDIS_RECOVERED' | 'KILL_SWITCH_ENGAGED' | 'KILL_SWITCH_RELEASED' | 'STOPPED';

/** What a coordinator tells its subscribers (frozen). Every event carries its epoch-ms time. */
export type CoordinatorEvent =
  | {
      /** This instance now manages the symbol's position, under `token`. */
      readonly kind: 'LEASE_ACQUIRED';
      readonly symbol: string;
      readonly token: number;
      readonly timestamp: number;
    }
  | {
      /** This instance must no longer manage the symbol's position (since `heldUntil`). */
      readonly kind: 'LEASE_LOST';
      readonly symbol: string;
      readonly token: number;
      readonly reason: LeaseLossReason;
      readonly heldUntil: number;
      readonly timestamp: number;
    }
  | {
      readonly kind: 'STATE_CHANGED';
      readonly from: TradingState;
      readonly to: TradingState;
      readonly cause: CoordinatorStateCause;
      readonly timestamp: number;
    }
  | {
      readonly kind: 'KILL_SWITCH_ENGAGED';
      readonly reason: string;
      readonly by: string;
      readonly timestamp: number;
    }
  | {
      readonly kind: 'KILL_SWITCH_RELEASED';
      readonly by: string;
      readonly timestamp: number;
    }
  | {
      /** A Redis call failed (refused, timed out, offline): the instance is REDUCING. Sent once per outage. */
      readonly kind: 'COORDINATION_FAILED';
      readonly code: 'COORDINATION_UNAVAILABLE';
      readonly message: string;
      readonly timestamp: number;
    };

/** Receives coordinator events. */
export type CoordinatorListener = (event: CoordinatorEvent) => void;

/** Outcome of a coordinator's fenced write: the fence's answer, or `NOT_OWNER` when this instance does not own the symbol (nothing was sent). */
export type SymbolWriteResult =
  FencedWriteResult | { readonly ok: false; readonly code: 'NOT_OWNER'; readonly symbol: string };

/**
 * What a trading instance needs from coordination, with or without Redis: which positions it
 * manages (and under which fencing token), its coordination state, a shared order budget and
 * a shared kill switch. {@link RedisCoordinator} coordinates several instances;
 * {@link LocalCoordinator} is the single-process default that owns everything.
 */
export interface InstanceCoordinator {
  /** This instance's id (unique among live instances). */
  readonly instanceId: string;
  /** ACTIVE when coordinated; REDUCING when coordination is failing (or not started); HALTED on the kill switch. */
  readonly state: TradingState;
  /** Connects and takes part; resolves after the first round (never rejects for Redis being down: the state says so). */
  start(): Promise<void>;
  /** Gives up every lease, leaves, disconnects. A stopped coordinator cannot be started again. */
  stop(): Promise<void>;
  /** Replaces the symbols to be managed across all instances. */
  setSymbols(symbols: readonly string[]): void;
  /** Whether this instance manages the symbol's position now. */
  owns(symbol: string): boolean;
  /** Symbols this instance manages now, sorted. */
  owned(): string[];
  /** The fencing token of this instance's ownership of the symbol, or undefined. */
  tokenOf(symbol: string): number | undefined;
  /** Writes the symbol's position record under this instance's lease and token. */
  write(symbol: string, value: string): Promise<SymbolWriteResult>;
  /** Takes `n` orders from the shared budget; false when refused (or when coordination fails). */
  tryTakeOrders(n?: number): Promise<boolean>;
  /** Halts every instance. */
  engageKillSwitch(reason: string): Promise<void>;
  /** Releases the kill switch for every instance. */
  releaseKillSwitch(): Promise<void>;
  /** Subscribes to events; returns the unsubscribe function. */
  subscribe(listener: CoordinatorListener): () => void;
}
