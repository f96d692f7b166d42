import type { AnomalyEvent } from '../anomaly/events.js';
import type { ProtectionChange } from '../protection/stop-reconciler.js';
import type { StopDecision } from '../stops/stop-manager.js';
import type { DrawdownEvent } from '../drawdown/drawdown-controller.js';
import type { DenyCode } from '../vocabulary/reason-codes.js';
import type { TradingState } from '../vocabulary/trading-state.js';

/**
 * What the risk plugin reports to subscribers, one record per decision (past tense, frozen).
 */
export type RiskEvent =
  | { readonly kind: 'ANOMALY_DETECTED'; readonly anomaly: AnomalyEvent }
  | { readonly kind: 'DRAWDOWN'; readonly event: DrawdownEvent }
  | ({ readonly kind: 'STOP' } & StopDecision)
  | {
      readonly kind: 'STATE_CHANGED';
      readonly from: TradingState;
      readonly to: TradingState;
      readonly timestamp: number;
      readonly cause: string;
    }
  | ({ readonly kind: 'PROTECTION'; readonly timestamp: number } & ProtectionChange)
  | {
      readonly kind: 'ORDER_DENIED';
      readonly clientOrderId: string;
      readonly symbol: string;
      readonly code: DenyCode;
      readonly message: string;
      /** Shadow mode: the order was let through; this is what would have been decided. */
      readonly shadow?: boolean;
    }
  | {
      /** A snapshot disagreed with the position the fills had built: the snapshot wins. */
      readonly kind: 'POSITION_CORRECTED';
      readonly symbol: string;
      /** Signed quantity from the fills. */
      readonly was: number;
      /** Signed quantity in the snapshot, now the book's. */
      readonly now: number;
      readonly timestamp: number;
    };

/** Receives {@link RiskEvent}s. A listener that throws is isolated from the others. */
export type RiskListener = (event: RiskEvent) => void;
