import type { RejectionCode, DenyCode } from '../vocabulary/reason-codes.js';
import type { CancelReason } from './fill-simulator.js';
import type { CommandFailureCode, CommandKind } from './order-service.js';

/** What an engine has done since it was built (see `Engine.stats()`). */
export interface EngineStats {
  /** Calls of `submitOrder`. */
  readonly ordersSubmitted: number;
  /** Submitted orders denied, by a plugin or by the engine's own check. */
  readonly ordersDenied: number;
  /** Denied orders by deny code; codes never used are absent. */
  readonly deniedByCode: Readonly<Partial<Record<DenyCode, number>>>;
  /** Submitted orders that filled. */
  readonly ordersFilled: number;
  /** Every simulated execution, including protective stops and position closes. */
  readonly fills: number;
  /** Orders (of any origin) that stopped working without a fill, by reason. */
  readonly cancelledByReason: Readonly<Partial<Record<CancelReason, number>>>;
  /** Protective commands received, by kind. */
  readonly commands: Readonly<Partial<Record<CommandKind, number>>>;
  /** Protective commands refused, by code. */
  readonly commandFailures: Readonly<Partial<Record<CommandFailureCode, number>>>;
  /** AMEND_STOPs ignored as not newer than the last applied version. */
  readonly amendsIgnored: number;
  /** Plugin hook failures (see `Engine.pluginErrors()` for the breakdown). */
  readonly pluginErrors: number;
}

/** What one `Engine.replay` did. Order, fill and command counts cover that replay only. */
export interface ReplaySummary extends EngineStats {
  /** Records read from the source (CSV data lines, not the header or blank lines). */
  readonly barsRead: number;
  /** Records that passed validation, time order and the symbol limit. */
  readonly barsAccepted: number;
  /** Records refused; `barsAccepted + barsRejected = barsRead`. */
  readonly barsRejected: number;
  /** Refused records by rejection code; codes never used are absent. */
  readonly rejectedByCode: Readonly<Partial<Record<RejectionCode, number>>>;
  /** Batches (groups of consecutive bars with one timestamp) handed to the plugins. */
  readonly batches: number;
  /** Timestamp of the first and last batch; undefined when no bar was accepted. */
  readonly firstTimestamp: number | undefined;
  /** Timestamp (epoch ms) of the last batch; undefined when no bar was accepted. */
  readonly lastTimestamp: number | undefined;
  /** Portfolio at the end of the replay. */
  readonly finalEquity: number;
  /** Cash at the end of the replay. */
  readonly finalCash: number;
  /** P&L realised since the engine was built (not only during this replay). */
  readonly realisedPnl: number;
}
