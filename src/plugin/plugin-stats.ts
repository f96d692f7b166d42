import type { AnomalyType } from '../anomaly/events.js';
import type { CoalescerStats } from '../concurrency/command-coalescer.js';
import type { StopCounters } from '../stops/stop-manager.js';
import type { DenyCode, RejectionCode } from '../vocabulary/reason-codes.js';
import type { TradingState } from '../vocabulary/trading-state.js';

/** A plain, frozen summary of what the risk plugin has done. */
export interface RiskPluginStats {
  readonly state: TradingState;
  readonly bars: {
    readonly received: number;
    readonly accepted: number;
    readonly rejected: number;
    readonly coalesced: number;
  };
  readonly fills: { readonly received: number; readonly rejected: number };
  /** `deferred`: equity points skipped because a held position's symbol was quarantined. */
  readonly snapshots: { readonly received: number; readonly rejected: number; readonly deferred: number };
  /** Rejected records (bars, fills, snapshots, positions, orders) by code. */
  readonly rejections: Readonly<Partial<Record<RejectionCode, number>>>;
  readonly stops: Readonly<StopCounters>;
  readonly commands: Readonly<CoalescerStats>;
  readonly orders: { readonly allowed: number; readonly denied: Readonly<Partial<Record<DenyCode, number>>> };
  readonly transitions: number;
  readonly anomalies: Readonly<Partial<Record<AnomalyType, number>>>;
  readonly symbols: number;
  readonly positions: number;
  /**
   * BROKER mode: symbols by protective state at the broker (CONVERGED, PENDING, UNPROTECTED),
   * and the stop commands the reconciler sent; zeros otherwise.
   */
  readonly protection: { readonly converged: number; readonly pending: number; readonly unprotected: number };
}
