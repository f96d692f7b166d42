import type { BarSource } from '../engine/bar-source.js';
import type { Engine } from '../engine/index.js';
import type { ReplaySummary } from '../engine/stats.js';
import type { RiskLogger } from '../logging/logger.js';
import type { BulwarkMetrics } from '../metrics/bulwark-metrics.js';
import type { RiskPluginConfig } from '../plugin/config.js';
import type { RiskPlugin } from '../plugin/risk-plugin.js';
import type { RiskPluginStats } from '../plugin/plugin-stats.js';
import type { ProtectionState, ProtectionSummary } from '../protection/stop-reconciler.js';
import type { SimExecution } from '../testing/sim-book.js';
import type { Bar } from '../vocabulary/market.js';

/** Options of {@link runReplay}. */
export interface ReplayCommandOptions {
  /** A CSV of bars (`timestamp,symbol,open,high,low,close,volume`), or raw bar records (an iterable or async iterable). */
  readonly data: BarSource;
  /** The embedded simulated broker's announced order rate. Default 200 per second. */
  readonly ordersPerSecond?: number;
  /** Called after each batch has gone through the engine and the plugin (e.g. to sample memory). */
  readonly afterBatch?: (bars: readonly Bar[], engine: Engine) => void;
  /** `ws://host:port` of a broker speaking the protocol; without it (or `venue`) an embedded simulated broker is started. */
  readonly broker?: string;
  /**
   * A real venue through ccxt instead (the optional peer): its ccxt exchange id, optionally
   * its testnet (`sandbox`) or another origin for its REST API (`url`: a simulator, a proxy).
   * Credentials come from BULWARK_API_KEY / BULWARK_API_SECRET.
   */
  readonly venue?: { readonly id: string; readonly url?: string; readonly sandbox?: boolean };
  /**
   * Where the journal and the dead-letter queue live. Default: `.bulwark` with an external
   * broker; a fresh temporary directory with the embedded one (its book dies with the process,
   * so a journal of an earlier run's orders would describe orders no broker has).
   */
  readonly stateDir?: string;
  /** Write a self-contained HTML report (equity and drawdown curves, state timeline, risk actions) here. */
  readonly report?: string;
  /** Structured logs of every risk decision and egress outcome (pino or compatible). */
  readonly logger?: RiskLogger;
  /** Shadow mode: decide and report everything, send no order, deny none. */
  readonly shadow?: boolean;
  /** Metrics to update (Prometheus, prom-client); `bulwark replay --metrics-port` serves their registry. */
  readonly metrics?: BulwarkMetrics;
  /** Give up (exit code BROKER) if the broker cannot be reached and logged on to within this. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Print the report as one JSON line instead of the summary. */
  readonly json?: boolean;
  /** Printed lines go here. Default console.log. */
  readonly print?: (line: string) => void;
  /**
   * With an external broker: replay speed against wall time (1 = real time, 60 = a minute of
   * bars per second). Default 1. The embedded broker runs on the replay's own clock instead.
   */
  readonly speed?: number;
  /**
   * At the end (or on `signal`), how long to keep converging the broker's stops to the
   * plugin's before giving up (ms: of replay time with the embedded broker, of wall time with
   * an external one). Default 30 000.
   */
  readonly drainMs?: number;
  /** Stops the replay after the current batch (e.g. SIGTERM); it then drains and reports as at the end. */
  readonly signal?: AbortSignal;
  /** The risk plugin's configuration. Default {@link DEMO_RISK_CONFIG}. */
  readonly riskConfig?: RiskPluginConfig;
  /** How many rejected rows are located (line, code) in the result, the log and the report; the count stays exact. Default 20. */
  readonly maxRejectedRows?: number;
}

/** A bar the replay rejected, located in its file. */
export interface RejectedRow {
  /** Line number in the CSV file (1-based; the header is line 1); undefined for records not read from a file. */
  readonly line: number | undefined;
  readonly code: string;
  readonly message: string;
}

/** One position's stop at the end of a replay: the plugin's wish and how the broker holds it. */
export interface ReplayStop {
  readonly symbol: string;
  readonly side: 'LONG' | 'SHORT';
  readonly quantity: number;
  readonly stop: number;
  readonly status: 'OPEN' | 'CLOSING';
  /** CONVERGED (the broker holds exactly this stop), PENDING or UNPROTECTED; LOCAL in shadow mode. */
  readonly protection: ProtectionState | 'LOCAL';
  /** The reason when not converged. */
  readonly code?: string;
}

/** What a replay did, engine, plugin and broker side. */
export interface ReplayReport {
  readonly summary: ReplaySummary;
  readonly plugin: RiskPluginStats;
  /** Executions the embedded broker recorded (its own truth); undefined with an external broker. */
  readonly brokerExecutions: number | undefined;
  /** The embedded broker's record of executions (client id, symbol, side, quantity, price, time); empty with an external broker. */
  readonly executions: readonly SimExecution[];
  /** Fills of protective orders booked from the broker's reports and reconciliations. */
  readonly brokerFills: number;
  readonly deadLetters: number;
  /** Protective stops adopted from the broker at start (a restart with stops resting). */
  readonly restoredStops: number;
  /** The plugin's stops at the end, with how the broker holds each. */
  readonly stops: readonly ReplayStop[];
  /** Protective state at the end, counted per symbol: converged, pending, unprotected. */
  readonly protection: ProtectionSummary;
  /** True when every stop the plugin wants rests at the broker as wanted (and no flat symbol has one). */
  readonly converged: boolean;
  /** Execution reports for client ids Bulwark never sent: counted, not booked. */
  readonly foreignExecutions: number;
  /** Stop commands the reconciler sent (place, amend, cancel-replace, cancel), its `order.status` questions and open-order reads. */
  readonly stopCommands: {
    readonly place: number;
    readonly amend: number;
    readonly replace: number;
    readonly cancel: number;
    readonly status: number;
    readonly reads: number;
  };
  /** Journal intents still without an outcome at the end. */
  readonly inDoubt: number;
  /** Worst drawdown of the equity the plugin accepted (the kernel's), in [0, 1]. */
  readonly maxDrawdown: number;
  /** Equity at the start (the engine's starting cash). */
  readonly startingEquity: number;
  /** The first `maxRejectedRows` rejected bars, located; `summary.barsRejected` counts them all. */
  readonly rejectedRows: readonly RejectedRow[];
  /** Rejected bars beyond `maxRejectedRows`: counted, not listed. */
  readonly rejectedRowsNotListed: number;
  /**
   * The pre-trade limits and protections at the end, those configured only (as the plugin's
   * `toJSON()` shows them): exposure, the session's loss against its limit, locks in force.
   */
  readonly limits: Pick<ReturnType<RiskPlugin['toJSON']>, 'exposure' | 'dailyLoss' | 'locks'>;
}
