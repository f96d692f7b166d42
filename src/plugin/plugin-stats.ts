import type { AnomalyType } from '../anomaly/events.js';
import type { CoalescerStats } from '../concurrency/command-coalescer.js';
import type { StopCounters } from '../stops/stop-manager.js';
import type { DenyCode, RejectionCode } from '../vocabulary/reason-codes.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import { CodeCounter } from '../util/code-counter.js';
import { RejectionCounter } from '../validation/rejection-counter.js';

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

/** The plugin's own counters, kept from construction (some count before `onInit`: denials, rejections). */
export class PluginCounters {
  barsReceived = 0;
  barsAccepted = 0;
  fills = 0;
  fillsRejected = 0;
  snapshots = 0;
  snapshotsRejected = 0;
  /** Equity points held back from the ladder because a held symbol was quarantined. */
  equityDeferred = 0;
  allowed = 0;
  transitions = 0;
  /** Rejected records by code. */
  readonly rejections = new RejectionCounter();
  /** Denied orders by code. */
  readonly denied = new CodeCounter<DenyCode>();
  /** Anomalies detected by type. */
  readonly anomalies = new CodeCounter<AnomalyType>();
}

/** What the initialised plugin adds to its counters in a {@link RiskPluginStats}. */
export interface LiveStats {
  readonly state: TradingState;
  /** Bars the mailbox replaced with a newer bar of the same symbol. */
  readonly coalescedBars: number;
  readonly stops: Readonly<StopCounters>;
  readonly commands: Readonly<CoalescerStats>;
  readonly symbols: number;
  readonly positions: number;
  readonly protection: RiskPluginStats['protection'];
}

/** {@link LiveStats} before `onInit` has completed: nothing tracked, nothing sent, ACTIVE. */
export const BEFORE_INIT: LiveStats = Object.freeze({
  state: 'ACTIVE',
  coalescedBars: 0,
  stops: Object.freeze({ placed: 0, moved: 0, triggered: 0, suppressed: 0, refused: 0, overLimit: 0 }),
  commands: Object.freeze({ sent: 0, failed: 0, superseded: 0, coalesced: 0 }),
  symbols: 0,
  positions: 0,
  protection: Object.freeze({ converged: 0, pending: 0, unprotected: 0 }),
});

/**
 * A frozen {@link RiskPluginStats} from the plugin's counters and its live parts.
 *
 * @example
 * ```ts
 * const stats = buildStats(counters, core?.liveStats() ?? BEFORE_INIT);
 * ```
 */
export function buildStats(c: PluginCounters, live: LiveStats): RiskPluginStats {
  return Object.freeze({
    state: live.state,
    bars: Object.freeze({
      received: c.barsReceived,
      accepted: c.barsAccepted,
      rejected: c.barsReceived - c.barsAccepted,
      coalesced: live.coalescedBars,
    }),
    fills: Object.freeze({ received: c.fills, rejected: c.fillsRejected }),
    snapshots: Object.freeze({ received: c.snapshots, rejected: c.snapshotsRejected, deferred: c.equityDeferred }),
    rejections: c.rejections.toJSON(),
    stops: Object.freeze({ ...live.stops }),
    commands: Object.freeze({ ...live.commands }),
    orders: Object.freeze({ allowed: c.allowed, denied: c.denied.toJSON() }),
    transitions: c.transitions,
    anomalies: c.anomalies.toJSON(),
    symbols: live.symbols,
    positions: live.positions,
    protection: live.protection,
  });
}
