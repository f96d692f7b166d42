import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EgressEvent } from '../egress/order-egress.js';
import { laneOf } from '../egress/order-egress.js';
import type { RiskPluginStats } from '../plugin/plugin-stats.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import { TRADING_STATES, type TradingState } from '../vocabulary/trading-state.js';

/** What the metrics read at scrape time (all optional: unwired parts export nothing new). */
export interface MetricSources {
  /** The risk plugin's counters. */
  readonly plugin?: () => RiskPluginStats;
  /** Current drawdown of the accepted equity, in [0, 1]. */
  readonly drawdown?: () => number;
  readonly deadLetters?: () => number;
  readonly queueDepth?: () => number;
  readonly inFlight?: () => number;
}

/** Options of {@link BulwarkMetrics}. */
export interface BulwarkMetricsOptions {
  /** Register into this registry. Default: a fresh one (not prom-client's global). */
  readonly registry?: Registry;
  /** Default `bulwark_`. */
  readonly prefix?: string;
}

/**
 * Bulwark's Prometheus metrics (prom-client), named per Prometheus conventions:
 *
 * - `bulwark_bars_total{outcome}` and `bulwark_rejections_total{code}` (counters, read from the
 *   plugin's own counters at scrape time);
 * - `bulwark_orders_total{lane,outcome}` (SENT, ADOPTED, DEAD_LETTERED, REFUSED from the egress),
 *   `bulwark_order_retries_total`, `bulwark_breaker_transitions_total{to}`;
 * - `bulwark_trading_state{state}` (1 for the current state), `bulwark_drawdown_ratio`,
 *   `bulwark_dead_letters`, `bulwark_egress_queue_depth`, `bulwark_egress_in_flight` (gauges);
 * - `bulwark_order_latency_seconds{lane,outcome}` (histogram: from send to final outcome).
 *
 * @example
 * ```ts
 * const metrics = new BulwarkMetrics();
 * metrics.watch({ plugin: () => plugin.stats(), deadLetters: () => dlq.size });
 * const egress = new OrderEgress({ ..., onEvent: (e) => metrics.onEgressEvent(e) });
 * res.end(await metrics.registry.metrics());
 * ```
 */
export class BulwarkMetrics {
  readonly registry: Registry;
  #sources: MetricSources = {};
  readonly #orders: Counter<'lane' | 'outcome'>;
  readonly #retries: Counter;
  readonly #breaker: Counter<'to'>;
  readonly #latency: Histogram<'lane' | 'outcome'>;

  constructor(options: BulwarkMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    const p = options.prefix ?? 'bulwark_';
    this.registry = registry;
    const sources = () => this.#sources;
    // Counters read from the plugin's own cumulative counters at scrape time.
    const fromStats = (
      name: string,
      help: string,
      label: string,
      read: (s: RiskPluginStats) => Iterable<readonly [string, number | undefined]>,
    ) =>
      new Counter({
        name: `${p}${name}`,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          const s = sources().plugin?.();
          if (s === undefined) return;
          this.reset();
          for (const [value, n] of read(s)) this.inc({ [label]: value }, n ?? 0);
        },
      });
    fromStats('bars_total', 'Bars received by the risk plugin, by outcome (accepted or rejected).', 'outcome', (s) => [
      ['accepted', s.bars.accepted],
      ['rejected', s.bars.rejected],
    ]);
    fromStats(
      'rejections_total',
      'Records rejected by the risk plugin (bars, fills, snapshots, positions, orders), by reason code.',
      'code',
      (s) => Object.entries(s.rejections),
    );
    fromStats('orders_denied_total', 'Orders the pre-trade check denied, by reason code.', 'code', (s) =>
      Object.entries(s.orders.denied),
    );
    fromStats(
      'stop_actions_total',
      'Stop-loss actions, by action (placed, moved, triggered, suppressed, refused).',
      'action',
      (s) => (['placed', 'moved', 'triggered', 'suppressed', 'refused'] as const).map((a) => [a, s.stops[a]] as const),
    );
    this.#orders = new Counter({
      name: `${p}orders_total`,
      help: 'Orders through the egress, by lane and outcome.',
      labelNames: ['lane', 'outcome'],
      registers: [registry],
    });
    this.#retries = new Counter({
      name: `${p}order_retries_total`,
      help: 'Attempts beyond the first for orders the broker accepted.',
      registers: [registry],
    });
    this.#breaker = new Counter({
      name: `${p}breaker_transitions_total`,
      help: 'Venue circuit-breaker transitions, by the trading state entered.',
      labelNames: ['to'],
      registers: [registry],
    });
    // Gauges by state, read from the plugin's stats at scrape time.
    const byState = (name: string, help: string, read: (s: RiskPluginStats) => Iterable<readonly [string, number]>) =>
      new Gauge({
        name: `${p}${name}`,
        help,
        labelNames: ['state'],
        registers: [registry],
        collect() {
          const s = sources().plugin?.();
          if (s === undefined) return;
          for (const [state, n] of read(s)) this.set({ state }, n);
        },
      });
    byState('trading_state', 'The risk plugin trading state: 1 for the current state, 0 for the others.', (s) =>
      TRADING_STATES.map((state) => [state, state === s.state ? 1 : 0] as const),
    );
    byState(
      'protection_positions',
      'BROKER mode: positions by the state of their stop at the broker (converged, pending, unprotected).',
      (s) => Object.entries(s.protection),
    );
    const gauge = (name: string, help: string, read: (s: MetricSources) => (() => number) | undefined) =>
      new Gauge({
        name: `${p}${name}`,
        help,
        registers: [registry],
        collect() {
          const v = read(sources())?.();
          if (v !== undefined && Number.isFinite(v)) this.set(v);
        },
      });
    gauge('drawdown_ratio', 'Current drawdown of the accepted equity from its peak, in [0, 1].', (s) => s.drawdown);
    gauge('dead_letters', 'Entries in the dead-letter queue.', (s) => s.deadLetters);
    gauge('egress_queue_depth', 'Commands waiting in the egress queue.', (s) => s.queueDepth);
    gauge('egress_in_flight', 'Commands being delivered to the broker now.', (s) => s.inFlight);
    this.#latency = new Histogram({
      name: `${p}order_latency_seconds`,
      help: 'Time from handing a protective command to the order path to its final outcome, in seconds.',
      labelNames: ['lane', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }

  /** Sets where scrape-time values are read from (merged over the earlier sources). */
  watch(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  /** Counts one egress event (pass to `OrderEgress`'s `onEvent`). */
  onEgressEvent(e: EgressEvent): void {
    const lane = laneOf(e.command);
    this.#orders.inc({ lane, outcome: e.kind });
    if (e.kind === 'SENT' && e.attempts > 1) this.#retries.inc(e.attempts - 1);
  }

  /** Counts one breaker transition (pass to `VenueGuard`'s `onStateChange`). */
  onVenueState(state: TradingState): void {
    this.#breaker.inc({ to: state });
  }

  /** Observes one command's latency, from hand-over to final outcome. */
  observeLatency(command: ProtectiveCommand, result: CommandResult, seconds: number): void {
    this.#latency.observe({ lane: laneOf(command), outcome: result.ok ? 'OK' : result.code }, seconds);
  }
}
