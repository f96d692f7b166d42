import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EgressEvent } from '../egress/order-egress.js';
import { laneOf } from '../egress/order-egress.js';
import type { RiskPluginStats } from '../plugin/plugin-stats.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import { TRADING_STATES, type TradingState } from '../vocabulary/trading-state.js';
import { BulwarkError } from '../errors.js';

/**
 * What the metrics read at scrape time (all optional: unwired parts export nothing new). The
 * order path's gauges; a risk plugin is watched with {@link BulwarkMetrics.watchPlugin}.
 */
export interface MetricSources {
  /**
   * A risk plugin's counters.
   * @deprecated Use {@link BulwarkMetrics.watchPlugin}, which keeps several plugins apart (a
   * RiskPlugin watches its own metrics). Given here, it reads one unnamed plugin, replaced by
   * a later `watch` that names one.
   */
  readonly plugin?: () => RiskPluginStats;
  /**
   * Current drawdown of the accepted equity, in [0, 1].
   * @deprecated Use {@link BulwarkMetrics.watchPlugin} (see `plugin`).
   */
  readonly drawdown?: () => number;
  readonly deadLetters?: () => number;
  readonly queueDepth?: () => number;
  readonly inFlight?: () => number;
}

/** What the metrics read from one risk plugin at scrape time (see {@link BulwarkMetrics.watchPlugin}). */
export interface PluginMetricSource {
  /** The plugin's counters and state. */
  readonly stats: () => RiskPluginStats;
  /** Current drawdown of the plugin's accepted equity, in [0, 1]; NaN before any. */
  readonly drawdown: () => number;
  /** Gross and net exposure the pre-trade limits see, and the session's loss (undefined where not configured). */
  readonly exposure?: () => { readonly gross?: number; readonly net?: number; readonly dayLoss?: number };
}

/** Options of {@link BulwarkMetrics}. */
export interface BulwarkMetricsOptions {
  /** Register into this registry. Default: a fresh one (not prom-client's global). */
  readonly registry?: Registry;
  /** Default `bulwark_`. */
  readonly prefix?: string;
  /**
   * Several plugins on one registry, told apart: every series read from a plugin carries its
   * name under this label (e.g. `'plugin'`: `bulwark_trading_state{state="HALTED",plugin="eu"} 1`),
   * and two live plugins may not share a name. A Prometheus label name other than the
   * metrics' own (`outcome`, `code`, `action`, `state`). Default: none, the plugins'
   * series are aggregated (see {@link BulwarkMetrics}).
   */
  readonly pluginLabel?: string;
}

/** The labels Bulwark's plugin series use themselves: a `pluginLabel` must differ from them. */
const OWN_LABELS: readonly string[] = ['outcome', 'code', 'action', 'state', 'lane', 'to'];

/** What one watched plugin's series are read from: the plugin while it lives, its final values after. */
interface Member {
  /** The plugin's name ('' for the unnamed one of the deprecated `watch({ plugin })`). */
  readonly name: string;
  /** The live plugin; undefined once unwatched. */
  source:
    | {
        readonly stats?: () => RiskPluginStats;
        readonly drawdown?: () => number;
        readonly exposure?: PluginMetricSource['exposure'];
      }
    | undefined;
  /** The values read when it was unwatched (kept until a plugin of its name takes its place, or `forget`). */
  final: { readonly stats: RiskPluginStats | undefined; readonly drawdown: number } | undefined;
  /** Counts of the earlier plugins of this name, by counter and label value: counters never go down. */
  readonly earlier: Map<string, Map<string, number>>;
}

/** One counter read from a plugin's stats: its name, help and label, and its values by label value. */
interface StatsCounter {
  readonly name: string;
  readonly help: string;
  readonly label: string;
  readonly read: (s: RiskPluginStats) => Iterable<readonly [string, number | undefined]>;
}

const statsOf = (m: Member): RiskPluginStats | undefined =>
  m.source === undefined ? m.final?.stats : m.source.stats?.();
const drawdownOf = (m: Member): number | undefined =>
  m.source === undefined ? m.final?.drawdown : m.source.drawdown?.();

/**
 * Bulwark's Prometheus metrics (prom-client), named per Prometheus conventions:
 *
 * - `bulwark_bars_total{outcome}` and `bulwark_rejections_total{code}` (counters, read from the
 *   plugin's own counters at scrape time);
 * - `bulwark_orders_total{lane,outcome}` (SENT, ADOPTED, DEAD_LETTERED, REFUSED from the egress),
 *   `bulwark_order_retries_total`, `bulwark_breaker_transitions_total{to}`;
 * - `bulwark_trading_state{state}` (1 for the current state), `bulwark_drawdown_ratio`,
 *   `bulwark_exposure_gross`, `bulwark_exposure_net`, `bulwark_day_loss`,
 *   `bulwark_dead_letters`, `bulwark_egress_queue_depth`, `bulwark_egress_in_flight` (gauges);
 * - `bulwark_order_latency_seconds{lane,outcome}` (histogram: from send to final outcome).
 *
 * Several risk plugins may share one instance ({@link BulwarkMetrics.watchPlugin}; a
 * RiskPlugin given `metrics` watches itself). By default their series are aggregated, so one
 * plugin's exposition is the same as ever: counters are summed; `bulwark_trading_state{state}`
 * counts the plugins in each state (alert on `{state="HALTED"} > 0`);
 * `bulwark_protection_positions{state}` sums their positions; `bulwark_drawdown_ratio` is the
 * worst (largest) of their drawdowns. With the `pluginLabel` option each plugin's series are
 * labelled by its name instead (aggregate with `sum without (plugin)`).
 *
 * A plugin's dispose unwatches it: it is no longer read (nor kept alive), and its final values
 * stay in the exposition, so the last scrape still shows the state it ended in, and counters
 * never go down. A plugin of the same name watched later takes its place (its counters go on
 * from the earlier totals); {@link BulwarkMetrics.forget} drops a disposed plugin's series.
 *
 * @example
 * ```ts
 * const metrics = new BulwarkMetrics({ pluginLabel: 'plugin' });
 * const eu = createRiskPlugin({ name: 'eu' }, { metrics });
 * const us = createRiskPlugin({ name: 'us' }, { metrics });
 * metrics.watch({ deadLetters: () => dlq.size });
 * const egress = new OrderEgress({ ..., onEvent: (e) => metrics.onEgressEvent(e) });
 * res.end(await metrics.registry.metrics());
 * ```
 */
export class BulwarkMetrics {
  readonly registry: Registry;
  #sources: MetricSources = {};
  readonly #members: Member[] = [];
  readonly #pluginLabel: string | undefined;
  readonly #counters: StatsCounter[] = [];
  readonly #orders: Counter<'lane' | 'outcome'>;
  readonly #retries: Counter;
  readonly #breaker: Counter<'to'>;
  readonly #latency: Histogram<'lane' | 'outcome'>;

  constructor(options: BulwarkMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    const p = options.prefix ?? 'bulwark_';
    const pluginLabel = options.pluginLabel;
    if (
      pluginLabel !== undefined &&
      (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(pluginLabel) ||
        pluginLabel.startsWith('__') ||
        OWN_LABELS.includes(pluginLabel))
    ) {
      throw new BulwarkError(
        'INVALID_OPTION',
        `pluginLabel must be a Prometheus label name, not reserved (__*) nor one of ${OWN_LABELS.join(', ')}`,
        { pluginLabel },
      );
    }
    this.registry = registry;
    this.#pluginLabel = pluginLabel;
    const members = this.#members;
    const sources = () => this.#sources;
    /** The label names of a series read from plugins. */
    const labelNames = (own: readonly string[]) => (pluginLabel === undefined ? [...own] : [...own, pluginLabel]);
    /** The labels of one plugin's value: its own, and its name when the plugins are labelled. */
    const labels = (m: Member, own: Record<string, string>) =>
      pluginLabel === undefined ? own : { ...own, [pluginLabel]: m.name };
    // Counters read from the plugins' own cumulative counters at scrape time.
    const fromStats = (counter: StatsCounter) => {
      this.#counters.push(counter);
      const { name, label, read } = counter;
      return new Counter({
        name: `${p}${name}`,
        help: counter.help,
        labelNames: labelNames([label]),
        registers: [registry],
        collect() {
          this.reset();
          for (const m of members) {
            const s = statsOf(m);
            if (s !== undefined) for (const [value, n] of read(s)) this.inc(labels(m, { [label]: value }), n ?? 0);
            for (const [value, n] of m.earlier.get(name) ?? []) this.inc(labels(m, { [label]: value }), n);
          }
        },
      });
    };
    fromStats({
      name: 'bars_total',
      help: 'Bars received by the risk plugin, by outcome (accepted or rejected).',
      label: 'outcome',
      read: (s) => [
        ['accepted', s.bars.accepted],
        ['rejected', s.bars.rejected],
      ],
    });
    fromStats({
      name: 'rejections_total',
      help: 'Records rejected by the risk plugin (bars, fills, snapshots, positions, orders), by reason code.',
      label: 'code',
      read: (s) => Object.entries(s.rejections),
    });
    fromStats({
      name: 'orders_denied_total',
      help: 'Orders the pre-trade check denied, by reason code.',
      label: 'code',
      read: (s) => Object.entries(s.orders.denied),
    });
    fromStats({
      name: 'stop_actions_total',
      help: 'Stop-loss actions, by action (placed, moved, triggered, suppressed, refused).',
      label: 'action',
      read: (s) =>
        (['placed', 'moved', 'triggered', 'suppressed', 'refused'] as const).map((a) => [a, s.stops[a]] as const),
    });
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
    // Gauges by state, read from the plugins' stats at scrape time (summed over the plugins
    // unless they are labelled).
    const byState = (name: string, help: string, read: (s: RiskPluginStats) => Iterable<readonly [string, number]>) =>
      new Gauge({
        name: `${p}${name}`,
        help,
        labelNames: labelNames(['state']),
        registers: [registry],
        collect() {
          this.reset();
          for (const m of members) {
            const s = statsOf(m);
            if (s !== undefined) for (const [state, n] of read(s)) this.inc(labels(m, { state }), n);
          }
        },
      });
    byState(
      'trading_state',
      'The risk plugin trading state: 1 for the current state, 0 for the others (summed over unlabelled plugins: plugins in each state).',
      (s) => TRADING_STATES.map((state) => [state, state === s.state ? 1 : 0] as const),
    );
    byState(
      'protection_positions',
      'BROKER mode: positions by the state of their stop at the broker (converged, pending, unprotected).',
      (s) => Object.entries(s.protection),
    );
    new Gauge({
      name: `${p}drawdown_ratio`,
      help: 'Current drawdown of the accepted equity from its peak, in [0, 1] (the largest of unlabelled plugins).',
      labelNames: labelNames([]),
      registers: [registry],
      collect() {
        if (pluginLabel !== undefined) {
          this.reset();
          for (const m of members) {
            const v = drawdownOf(m);
            if (v !== undefined && Number.isFinite(v)) this.set({ [pluginLabel]: m.name }, v);
          }
          return;
        }
        let worst = Number.NaN;
        for (const m of members) {
          const v = drawdownOf(m);
          if (v !== undefined && Number.isFinite(v) && !(v <= worst)) worst = v;
        }
        if (Number.isFinite(worst)) this.set(worst);
      },
    });
    // Exposure and the day's loss, read from the live plugins at scrape time (summed unless labelled).
    const exposureGauge = (name: string, help: string, key: 'gross' | 'net' | 'dayLoss') =>
      new Gauge({
        name: `${p}${name}`,
        help,
        labelNames: labelNames([]),
        registers: [registry],
        collect() {
          this.reset();
          for (const m of members) {
            const v = m.source?.exposure?.()[key];
            if (v !== undefined && Number.isFinite(v)) this.inc(labels(m, {}), v);
          }
        },
      });
    exposureGauge('exposure_gross', 'Σ |position notional| the pre-trade limits see (preTrade configured).', 'gross');
    exposureGauge('exposure_net', 'Σ signed position notional the pre-trade limits see (preTrade configured).', 'net');
    exposureGauge(
      'day_loss',
      "The session's loss from its starting equity (protections.dailyLossLimit configured).",
      'dayLoss',
    );
    // Gauges of the order path, read from `watch`'s sources.
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

  /**
   * Sets where the order path's scrape-time values are read from (merged over the earlier
   * sources). The deprecated `plugin` and `drawdown` read one unnamed plugin (merged over the
   * earlier ones too); {@link BulwarkMetrics.watchPlugin} is the way to watch a plugin.
   */
  watch(sources: MetricSources): void {
    const { plugin, drawdown, ...orderPath } = sources;
    this.#sources = { ...this.#sources, ...orderPath };
    if (plugin === undefined && drawdown === undefined) return;
    let m = this.#members.find((x) => x.name === '' && x.source !== undefined);
    if (m === undefined) {
      m = { name: '', source: {}, final: undefined, earlier: new Map() };
      this.#members.push(m);
    }
    m.source = {
      ...m.source,
      ...(plugin === undefined ? {} : { stats: plugin }),
      ...(drawdown === undefined ? {} : { drawdown }),
    };
  }

  /**
   * Reads the risk plugin `name` at every scrape until the returned function is called (a
   * RiskPlugin calls it at its dispose); then its final values stay (see the class notes).
   * A plugin of the same name unwatched earlier is taken over: its counters go on from that
   * one's totals. With `pluginLabel`, a name another live plugin has is refused
   * (`INVALID_OPTION`): the two would write the same series.
   *
   * @example
   * ```ts
   * const unwatch = metrics.watchPlugin('eu', { stats: () => eu.stats(), drawdown: () => eu.drawdown });
   * unwatch(); // at dispose: final values kept, the plugin no longer read
   * ```
   */
  watchPlugin(name: string, source: PluginMetricSource): () => void {
    const members = this.#members;
    if (this.#pluginLabel !== undefined && members.some((m) => m.name === name && m.source !== undefined)) {
      throw new BulwarkError('INVALID_OPTION', `a plugin named '${name}' is already watched by these metrics`, {
        name,
      });
    }
    const live = {
      stats: source.stats,
      drawdown: source.drawdown,
      ...(source.exposure === undefined ? {} : { exposure: source.exposure }),
    };
    let m = members.find((x) => x.name === name && x.source === undefined);
    if (m === undefined) {
      m = { name, source: live, final: undefined, earlier: new Map() };
      members.push(m);
    } else {
      // The earlier plugin of this name: its final counts become the base of this one's.
      const final = m.final?.stats;
      if (final !== undefined) this.#addEarlier(m, final);
      m.final = undefined;
      m.source = live;
    }
    const member = m;
    return () => {
      // Only the plugin that watched may unwatch: a later plugin may own the member by now.
      if (member.source !== live) return;
      member.final = { stats: live.stats(), drawdown: live.drawdown() };
      member.source = undefined;
    };
  }

  /**
   * Drops the final values of the unwatched (disposed) plugins named `name` from the
   * exposition; a live plugin of that name is not affected. Their counters' totals leave the
   * sums (Prometheus reads that as a counter reset).
   *
   * @example
   * ```ts
   * await eu.onDispose();
   * metrics.forget('eu'); // the eu plugin's series are gone from the next scrape
   * ```
   */
  forget(name: string): void {
    const members = this.#members;
    for (let i = members.length - 1; i >= 0; i--) {
      const m = members[i];
      if (m !== undefined && m.name === name && m.source === undefined) members.splice(i, 1);
    }
  }

  /** Adds `stats`' counter values to what `m`'s earlier plugins counted. */
  #addEarlier(m: Member, stats: RiskPluginStats): void {
    for (const { name, read } of this.#counters) {
      let byValue = m.earlier.get(name);
      if (byValue === undefined) m.earlier.set(name, (byValue = new Map<string, number>()));
      for (const [value, n] of read(stats)) byValue.set(value, (byValue.get(value) ?? 0) + (n ?? 0));
    }
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
