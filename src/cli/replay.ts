import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BrokerOrderService } from '../broker/broker-order-service.js';
import { startSimBroker, type SimBroker } from '../broker/sim-broker.js';
import { WsBrokerClient } from '../broker/ws-broker-client.js';
import { createDemoStrategy } from '../demo/demo-strategy.js';
import { DeadLetterQueue } from '../egress/dead-letter-queue.js';
import { OrderEgress, type EgressEvent } from '../egress/order-egress.js';
import { OrderJournal } from '../egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../egress/venue-guard.js';
import { CliError, EXIT } from './cli-error.js';
import { Engine } from '../engine/index.js';
import type { ReplaySummary } from '../engine/stats.js';
import type { BarSource } from '../engine/bar-source.js';
import { createRiskPlugin } from '../plugin/risk-plugin.js';
import { renderReport } from '../report/html-report.js';
import { ReportRecorder } from '../report/report-recorder.js';
import type { RiskEvent } from '../plugin/risk-events.js';
import type { RiskPluginStats } from '../plugin/plugin-stats.js';
import type { Bar } from '../vocabulary/market.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import type { BulwarkMetrics } from '../metrics/bulwark-metrics.js';
import type { RiskLogger } from '../logging/logger.js';
import { logEgressEvent } from '../logging/risk-log.js';

/** Options of {@link runReplay}. */
export interface ReplayCommandOptions {
  /** A CSV of bars (`timestamp,symbol,open,high,low,close,volume`), or raw bar records (an iterable or async iterable). */
  readonly data: BarSource;
  /** The embedded simulated broker's announced order rate. Default 200 per second. */
  readonly ordersPerSecond?: number;
  /** Called after each batch has gone through the engine and the plugin (e.g. to sample memory). */
  readonly afterBatch?: (bars: readonly Bar[], engine: Engine) => void;
  /** `ws://host:port` of a broker speaking the protocol; without it an embedded simulated broker is started. */
  readonly broker?: string;
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
}

/** What a replay did, engine, plugin and broker side. */
export interface ReplayReport {
  readonly summary: ReplaySummary;
  readonly plugin: RiskPluginStats;
  /** Executions the embedded broker recorded (its own truth); undefined with an external broker. */
  readonly brokerExecutions: number | undefined;
  /** Fills of protective orders booked from the broker's reports and reconciliations. */
  readonly brokerFills: number;
  readonly deadLetters: number;
  /** Protective stops adopted from the broker at start (a restart with stops resting). */
  readonly restoredStops: number;
  /** The plugin's stops at the end. */
  readonly stops: readonly { readonly symbol: string; readonly side: 'LONG' | 'SHORT'; readonly stop: number; readonly status: 'OPEN' | 'CLOSING' }[];
  /** Journal intents still without an outcome at the end. */
  readonly inDoubt: number;
  /** Worst drawdown of the equity the plugin accepted (the kernel's), in [0, 1]. */
  readonly maxDrawdown: number;
}

/** Longest wait for the embedded broker's execution reports after each batch (ms). */
const REPORT_WAIT_MS = 1_000;
/** Longest wait for the egress queue to drain at the end (ms). */
const DRAIN_WAIT_MS = 10_000;

const time = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const counts = (o: Readonly<Record<string, number | undefined>>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

/**
 * `bulwark replay`: replays a CSV of bars through the reference engine with the risk plugin,
 * its stops resting at a broker (BROKER mode) and sent through the resilient egress
 * (journal, dead letters and all) over the WebSocket adapter. Without `broker`, an embedded
 * simulated broker is started on loopback and fed each bar's prices, so stops trigger there;
 * an external broker uses its own market. Prints a summary and returns it.
 *
 * @example
 * ```ts
 * const report = await runReplay({ data: 'data/demo-day.csv' });
 * console.log(report.brokerFills);
 * ```
 */
export async function runReplay(options: ReplayCommandOptions): Promise<ReplayReport> {
  const print = options.print ?? ((line: string) => console.log(line));
  const stateDir = options.stateDir ?? (options.broker === undefined ? await mkdtemp(join(tmpdir(), 'bulwark-replay-')) : '.bulwark');
  await mkdir(stateDir, { recursive: true });
  const journal = await OrderJournal.open(join(stateDir, 'journal.jsonl'));
  const dlq = await DeadLetterQueue.open(join(stateDir, 'dlq.jsonl'), { onFull: (n) => print(`  dead-letter queue full (${n} entries): orders are kept in memory`) });

  let embedded: SimBroker | undefined;
  let credentials: { apiKey: string; apiSecret: string } | undefined;
  if (options.broker === undefined) {
    credentials = { apiKey: randomBytes(8).toString('hex'), apiSecret: randomBytes(16).toString('hex') };
    embedded = await startSimBroker({ ...credentials, ordersPerSecond: options.ordersPerSecond ?? 200 });
  }
  const url = options.broker ?? (embedded as SimBroker).url;

  let announced = 0;
  let service: BrokerOrderService | undefined;
  let reportWaiter: (() => void) | undefined;
  const client = new WsBrokerClient({
    url,
    ...credentials,
    onRateLimit: (n) => (announced = n),
    onReport: (r) => {
      service?.onReport(r);
      reportWaiter?.();
    },
    onReconcile: () => void service?.reconcile(),
  });
  const engine = new Engine({ startingCash: 1_000_000, protectiveOrders: { send: (c) => (service as BrokerOrderService).send(c), openOrders: () => (service as BrokerOrderService).openOrders() } });
  const cleanup = async () => {
    await engine.dispose();
    client.close();
    await journal.close();
    await dlq.close();
    await embedded?.close();
  };
  try {
    await connectOrFail(client, url, options.connectTimeoutMs ?? 10_000);
    const limiter = new SlidingWindowRateLimiter({ limit: Math.max(announced, 1), windowMs: 1_000, safety: 0.9 });
    const metrics = options.metrics;
    const venue = new VenueGuard({ ...(metrics === undefined ? {} : { onStateChange: (st: TradingState) => metrics.onVenueState(st) }) });
    const logger = options.logger;
    const onEgressEvent = (e: EgressEvent) => {
      metrics?.onEgressEvent(e);
      if (logger !== undefined) logEgressEvent(logger, e);
    };
    const egress = new OrderEgress({ client, limiter, venue, journal, deadLetters: dlq, onEvent: onEgressEvent });
    service = new BrokerOrderService({
      egress,
      broker: client,
      journal,
      onFill: (f) => void engine.applyFill(f),
      now: () => engine.now(),
      ...(metrics === undefined ? {} : { onSettled: (c: ProtectiveCommand, r: CommandResult, sec: number) => metrics.observeLatency(c, r, sec) }),
    });
    await service.reconcile(); // in-doubt intents and fills missed while we were down, before anything new

    // The embedded broker sees each bar's prices before the plugin trails its stops.
    if (embedded !== undefined) {
      const broker = embedded;
      engine.use({
        name: 'sim-broker-prices',
        onBars: async (bars: readonly Bar[]) => {
          const before = broker.executions.length;
          for (const b of bars) for (const p of [b.open, b.low, b.high, b.close]) broker.feedPrice(b.symbol, p);
          if (broker.executions.length === before) return;
          // Every execution here is one of our protective orders: wait for its report.
          await waitFor(() => (service as BrokerOrderService).fills >= broker.executions.length, (w) => (reportWaiter = w), REPORT_WAIT_MS);
        },
      });
    }
    const plugin = createRiskPlugin({
      shadow: options.shadow === true,
      stops: {
        mode: 'BROKER',
        policy: { rules: [{ kind: 'CHANDELIER', multiple: 4 }, { kind: 'PERCENT', percent: 3 }], breakeven: { afterGainPercent: 2, offsetPercent: 0.1 } },
      },
      drawdown: { warnAt: 0.01, reduceAt: 0.02, haltAt: 0.03, resumeBelow: 0.008, cooldownMs: 20 * 60_000 },
    }, { ...(logger === undefined ? {} : { logger }), ...(metrics === undefined ? {} : { metrics }) });
    metrics?.watch({
      deadLetters: () => dlq.size,
      queueDepth: () => egress.queued,
      inFlight: () => egress.inFlight,
    });
    const transitions: string[] = [];
    const recorder = options.report === undefined ? undefined : new ReportRecorder({ now: () => engine.now() });
    if (recorder !== undefined) plugin.subscribe((e) => recorder.onEvent(e));
    plugin.subscribe((e: RiskEvent) => {
      if (e.kind === 'STATE_CHANGED') transitions.push(`${time(e.timestamp)} ${e.from} → ${e.to} (${e.cause})`);
    });
    engine.use(plugin);
    const afterBatch = options.afterBatch;
    let lastRecorded = Number.NaN;
    engine.use({
      name: 'after-batch',
      onBars: (bars: readonly Bar[]) => {
        // The equity the risk layer acted on (a snapshot marked to a suspected bad tick is
        // held back), not the engine's raw mark.
        const e = plugin.lastEquity;
        if (recorder !== undefined && e !== undefined && e.timestamp !== lastRecorded) recorder.equity((lastRecorded = e.timestamp), e.equity);
        afterBatch?.(bars, engine);
      },
    });

    const started = performance.now();
    const summary = await engine.replay(options.data, { strategy: createDemoStrategy() });
    const ms = performance.now() - started;
    // The last protective commands reach the broker before the summary (bounded wait).
    const drained = (async () => {
      await plugin.settled();
      await egress.idle();
    })();
    await within(drained, DRAIN_WAIT_MS, () => undefined);
    const s = plugin.stats();
    const source = typeof options.data === 'string' ? options.data : 'generated bars';
    const report: ReplayReport = {
      summary,
      plugin: s,
      brokerExecutions: embedded?.executions.length,
      brokerFills: service.fills,
      deadLetters: dlq.size,
      restoredStops: plugin.restoredStops,
      stops: plugin.toJSON().stops.map((v) => ({ symbol: v.symbol, side: v.side, stop: v.stop, status: v.status })),
      inDoubt: journal.inDoubt().length,
      maxDrawdown: plugin.maxDrawdown,
    };
    if (recorder !== undefined && options.report !== undefined) {
      for (const d of dlq.list()) recorder.action({ t: d.deadAt, kind: 'DEAD_LETTERED', symbol: d.command.symbol, code: d.code, detail: `${d.command.kind} ${d.command.clientOrderId} after ${d.attempts} attempts` });
      const title = `Bulwark replay: ${source === 'generated bars' ? source : basename(source)}`;
      const summaryRows: (readonly [string, string])[] = [
        ['bars accepted / rejected', `${summary.barsAccepted} / ${summary.barsRejected}`],
        ['stops placed / moved / triggered', `${s.stops.placed} / ${s.stops.moved} / ${s.stops.triggered}`],
        ['orders allowed / denied', `${s.orders.allowed} / ${summary.ordersDenied}`],
        ['final state', s.state],
        ['max drawdown (kernel)', `${(100 * plugin.maxDrawdown).toFixed(2)} %`],
        ['final equity', summary.finalEquity.toFixed(0)],
        ['protective fills at the broker', String(service.fills)],
        ['dead letters', String(dlq.size)],
      ];
      await writeFile(options.report, renderReport(recorder.data(title, summaryRows)));
    }
    egress.close();
    if (options.json === true) {
      print(JSON.stringify(report));
      return report;
    }
    print(`Bulwark replay: ${source}, ${summary.batches} batches, broker ${embedded === undefined ? url : `embedded simulator at ${url}`}`);
    print(`  bars            read ${summary.barsRead}, accepted ${summary.barsAccepted}, rejected ${summary.barsRejected} (${counts(summary.rejectedByCode)}) in ${ms.toFixed(0)} ms`);
    print(`  plugin          ${s.bars.accepted} bars accepted, rejections: ${counts(s.rejections)}`);
    print(`  stops           placed ${s.stops.placed}, moved ${s.stops.moved}, triggered ${s.stops.triggered}, held back by quarantine ${s.stops.suppressed}; adopted from the broker at start ${plugin.restoredStops}`);
    print(`  anomalies       ${counts(s.anomalies)}`);
    print(`  state           ${s.state} now; ${s.transitions} transitions`);
    for (const t of transitions.slice(0, 12)) print(`                  ${t}`);
    print(`  orders          submitted ${summary.ordersSubmitted}, allowed ${s.orders.allowed}, denied ${summary.ordersDenied} (${counts(summary.deniedByCode)}), filled ${summary.ordersFilled}`);
    print(`  broker          commands sent ${s.commands.sent}, failed ${s.commands.failed}; protective fills booked ${service.fills}${embedded === undefined ? '' : ` (broker's own record: ${embedded.executions.length} executions)`}; dead letters ${dlq.size}`);
    const byCode: Record<string, number> = {};
    for (const d of dlq.list()) byCode[`${d.command.kind} ${d.code}`] = (byCode[`${d.command.kind} ${d.code}`] ?? 0) + 1;
    print(`  dead letters    ${counts(byCode)}${dlq.size > 0 ? ` (in ${dlq.path}; \`bulwark dlq list --state-dir ${stateDir}\`)` : ''}`);
    print(`  equity          ${summary.finalEquity.toFixed(0)} (realised P&L ${summary.realisedPnl.toFixed(0)})`);
    return report;
  } finally {
    await cleanup();
  }
}

/** Connects and logs on, or throws a CliError (BROKER) saying what to check. */
async function connectOrFail(client: WsBrokerClient, url: string, ms: number): Promise<void> {
  try {
    await within(client.connect(), ms, () => {
      throw new CliError('BROKER', `no logon at ${url} within ${ms} ms: is the broker running there?`, EXIT.BROKER);
    });
  } catch (e) {
    client.close();
    if (e instanceof BrokerRequestError) throw new CliError('BROKER', `the broker at ${url} refused the logon (${e.code} ${e.message}): check BULWARK_API_KEY and BULWARK_API_SECRET`, EXIT.BROKER);
    throw e;
  }
}

/** `p`, or what `onTimeout` returns (or throws) after `ms`, whichever comes first; the timer is always cleared. */
async function within<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (e) {
        reject(e);
      }
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `done()` holds (checked on each wake-up `register` arranges) or after `ms`. */
function waitFor(done: () => boolean, register: (wake: (() => void) | undefined) => void, ms: number): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      register(undefined);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    register(() => {
      if (done()) finish();
    });
  });
}
