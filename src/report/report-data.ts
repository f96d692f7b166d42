import type { TradingState } from '../vocabulary/trading-state.js';

/** One point of the equity curve. */
export interface EquityPoint {
  readonly t: number;
  readonly equity: number;
}

/** One row of the risk-actions table. */
export interface RiskAction {
  readonly t: number;
  /** What happened, e.g. STATE_CHANGED, ORDER_DENIED, ANOMALY_DETECTED, DRAWDOWN, STOPS. */
  readonly kind: string;
  /** The symbol, or '' for a portfolio-wide action. */
  readonly symbol: string;
  /** The SCREAMING_SNAKE reason code. */
  readonly code: string;
  readonly detail: string;
}

/** Everything one HTML report shows. */
export interface ReportData {
  readonly title: string;
  readonly equity: readonly EquityPoint[];
  readonly states: readonly {
    readonly t: number;
    readonly from: TradingState;
    readonly to: TradingState;
    readonly cause: string;
  }[];
  readonly anomalies: readonly {
    readonly t: number;
    readonly type: string;
    readonly severity: string;
    readonly symbols: readonly string[];
  }[];
  readonly actions: readonly RiskAction[];
  /** Rows left out of `actions` because the recorder's bound was reached. */
  readonly actionsOmitted: number;
  /** Summary lines shown at the top (label → value). */
  readonly summary: readonly (readonly [string, string])[];
}

/**
 * The underwater curve of an equity series: at each point, equity / running peak − 1
 * (0 at a new high, negative below it).
 *
 * @example
 * ```ts
 * underwater([{ t: 0, equity: 100 }, { t: 1, equity: 90 }]); // [0, -0.1]
 * ```
 */
export function underwater(equity: readonly EquityPoint[]): number[] {
  let peak = Number.NEGATIVE_INFINITY;
  return equity.map((p) => {
    if (p.equity > peak) peak = p.equity;
    return peak > 0 ? p.equity / peak - 1 : 0;
  });
}
