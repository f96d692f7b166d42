/** The stop reconciler's public vocabulary: desired stops, states, rows and options. */
import type { Clock } from '../util/clock.js';
import type { OrderSide } from '../vocabulary/market.js';
import type { OrderService } from '../vocabulary/services.js';

/** Where a position's protection stands, judged by what the broker has shown. */
export type ProtectionState =
  /** Exactly one live Bulwark stop at the broker, at the desired price and for the position's size (or none for a flat symbol). */
  | 'CONVERGED'
  /** Commands under way, or waiting for the broker to show their outcome. */
  | 'PENDING'
  /** The broker cannot be made to hold the stop (a hard rejection, a size below the lot, or no stop resting for too long). */
  | 'UNPROTECTED';

/** The stop a position should have: from the plugin (side closes the position). */
export interface DesiredStop {
  /** SELL protects a long, BUY a short. */
  readonly side: OrderSide;
  /** The position's size. */
  readonly quantity: number;
  /** Trigger price; rounded to the symbol's tick toward the tighter side before it is sent. */
  readonly stopPrice: number;
}

/** A change of a symbol's {@link ProtectionState}, with the reason code when not converged. */
export interface ProtectionChange {
  /** Instrument of the position. */
  readonly symbol: string;
  /** State before the change. */
  readonly from: ProtectionState;
  /** State after the change; equal to `from` when only the reason code changed. */
  readonly to: ProtectionState;
  /** SCREAMING_SNAKE reason (`STOP_REJECTED`, `AMEND_REJECTED`, `QUANTITY_BELOW_LOT`, `NO_STOP_AT_BROKER`) or the broker's code. */
  readonly code?: string;
  /** Human-readable detail of `code`, when there is one. */
  readonly message?: string;
}

/** One position's protection, for reports (`bulwark replay --json`). */
export interface ProtectionRow {
  /** Instrument of the position. */
  readonly symbol: string;
  /** Where the position's protection stands now. */
  readonly state: ProtectionState;
  /** The reason code while not converged, as in {@link ProtectionChange}. */
  readonly code?: string;
  /** What the plugin wants (undefined: flat). */
  readonly desired?: DesiredStop;
  /** Bulwark's live stops on the symbol as the broker last showed them. */
  readonly live: readonly {
    readonly clientOrderId: string;
    readonly side: OrderSide;
    readonly quantity: number;
    readonly stopPrice: number;
  }[];
}

/** Counts of {@link ProtectionState}s over managed symbols. */
export interface ProtectionSummary {
  /** Symbols whose protection matches what the plugin wants. */
  readonly converged: number;
  /** Symbols with commands under way or outcomes not yet shown by the broker. */
  readonly pending: number;
  /** Symbols the broker cannot be made to protect; the plugin watches them locally and trades REDUCING. */
  readonly unprotected: number;
}

/** Options of {@link StopReconciler}. */
export interface StopReconcilerOptions {
  /** The order path: commands go out with `send`, the broker is read with `orderStatus` and `observedOpenOrders`/`openOrders`. */
  readonly orders: OrderService;
  /** A new client order id for each new stop order. */
  readonly nextId: () => string;
  /** True for client ids Bulwark placed (this process or an earlier one): only those are adopted or cancelled. */
  readonly isOurs: (clientOrderId: string) => boolean;
  /** Symbols this instance manages (a coordinator's ownership). Default: all. */
  readonly manages?: (symbol: string) => boolean;
  /** Price step per symbol: a stop is rounded to it toward the tighter side. */
  readonly tickSize: (symbol: string) => number;
  /** Quantity step per symbol: a quantity is rounded down to it. */
  readonly lotSize: (symbol: string) => number;
  readonly clock?: Clock;
  /** First retry delay after a failed command (ms), doubling with jitter. Default 100. */
  readonly initialBackoffMs?: number;
  /** Longest retry delay (ms). Default 5 000. */
  readonly maxBackoffMs?: number;
  /** Re-read the broker's open orders this often (ms). Default 30 000. */
  readonly rereadMs?: number;
  /** How long an execution of a stop seen at the broker waits for the host's fill before the size is taken from the broker (ms). Default 5 000. */
  readonly fenceMs?: number;
  /** How long a stop of ours found at the broker for a symbol the plugin has not spoken of yet waits before it is cancelled (ms). Default 300 000. */
  readonly orphanGraceMs?: number;
  /** How long a hard-rejected stop waits before it is tried again unchanged (ms). Default 60 000. */
  readonly hardRetryMs?: number;
  /** A position with no stop resting at the broker this long is UNPROTECTED (ms). Default 10 000. */
  readonly unprotectedAfterMs?: number;
  /** Told every change of a symbol's state. */
  readonly onChange?: (change: ProtectionChange) => void;
}
