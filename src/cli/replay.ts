import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BrokerOrderService } from '../broker/broker-order-service.js';
import { startSimBroker, type SimBroker } from '../testing/sim-broker.js';
import type { SimExecution } from '../testing/sim-book.js';
import { WsBrokerClient } from '../broker/ws-broker-client.js';
import { createDemoStrategy } from '../testing/demo-strategy.js';
import { DeadLetterQueue } from '../egress/dead-letter-queue.js';
import { OrderEgress, type EgressEvent } from '../egress/order-egress.js';
import { OrderJournal } from '../egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../egress/venue-guard.js';
import { CliError, EXIT } from './cli-error.js';
import { Engine } from '../engine/index.js';
import type { ReplaySummary } from '../engine/stats.js';
import type { BarSource } from '../engine/bar-source.js';
import { createRiskPlugin, type RiskPlugin } from '../plugin/risk-plugin.js';
import type { RiskPluginConfig } from '../plugin/config.js';
import { DEMO_RISK_CONFIG } from './replay-config.js';
import { SYSTEM_CLOCK, VirtualClock, type Clock } from '../util/clock.js';
import type { DesiredStop, ProtectionState, ProtectionSummary } from '../protection/stop-reconciler.js';
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
  /** Stop commands the reconciler sent (place, amend, cancel), its `order.status` questions and open-order reads. */
  readonly stopCommands: {
    readonly place: number;
    readonly amend: number;
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
}

/** The reference engine's starting cash in a replay: the starting equity. */
const STARTING_EQUITY = 1_000_000;

/** Longest wait for the embedded broker's execution reports after each batch (ms). */
const REPORT_WAIT_MS = 1_000;
/** Longest wall-clock wait for the order path to go quiet before the replay clock moves on anyway (ms). */
const QUIET_GUARD_MS = 2_000;

/** A time of day in UTC, marked as such (ISO 8601: `14:30Z`). */
const time = (ms: number) => `${new Date(ms).toISOString().slice(11, 16)}Z`;
const money = (x: number) => x.toFixed(0);
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
  const stateDir =
    options.stateDir ?? (options.broker === undefined ? await mkdtemp(join(tmpdir(), 'bulwark-replay-')) : '.bulwark');
  await mkdir(stateDir, { recursive: true });
  // One clock for everything in a replay against the embedded broker: the broker, the rate
  // limiter, request timeouts, the reconciler's retries and the plugin all run on replay time,
  // so the same data gives the same outcome every run. An external broker keeps wall time.
  const virtual = options.broker === undefined ? new VirtualClock(0) : undefined;
  const clock: Clock = virtual ?? SYSTEM_CLOCK;
  const journal = await OrderJournal.open(join(stateDir, 'journal.jsonl'), { now: () => clock.now() });
  const dlq = await DeadLetterQueue.open(join(stateDir, 'dlq.jsonl'), {
    onFull: (n) => print(`  dead-letter queue full (${n} entries): orders are kept in memory`),
  });

  let embedded: SimBroker | undefined;
  let credentials: { apiKey: string; apiSecret: string } | undefined;
  if (options.broker === undefined) {
    credentials = { apiKey: randomBytes(8).toString('hex'), apiSecret: randomBytes(16).toString('hex') };
    embedded = await startSimBroker({
      ...credentials,
      ordersPerSecond: options.ordersPerSecond ?? 200,
      now: () => clock.now(),
    });
  }
  const url = options.broker ?? (embedded as SimBroker).url;

  let announced = 0;
  let service: BrokerOrderService | undefined;
  let reportWaiter: (() => void) | undefined;
  let plugin: RiskPlugin | undefined;
  /** Set once shutdown starts: the broker's callbacks touch nothing that is being disposed. */
  let closing = false;
  const client = new WsBrokerClient({
    url,
    ...credentials,
    clock,
    onRateLimit: (n) => (announced = n),
    onReport: (r) => {
      if (closing) return;
      service?.onReport(r);
      reportWaiter?.();
    },
    onReconcile: () => {
      if (closing) return;
      // After a (re)logon or a seq gap: in-doubt intents and lost fills, then the stops.
      void service
        ?.reconcile()
        .then(() => plugin?.protection?.reread())
        .catch(() => {});
    },
  });
  const engine = new Engine({
    startingCash: STARTING_EQUITY,
    protectiveOrders: {
      send: (c) => (service as BrokerOrderService).send(c),
      openOrders: () => (service as BrokerOrderService).openOrders(),
    },
  });
  let egress: OrderEgress | undefined;
  let limiter: SlidingWindowRateLimiter | undefined;
  const cleanup = async () => {
    // Listeners first, then what they call: nothing reaches the engine once it is going.
    closing = true;
    reportWaiter = undefined;
    client.close();
    egress?.close();
    limiter?.dispose();
    await engine.dispose();
    await journal.close();
    await dlq.close();
    await embedded?.close();
  };
  try {
    await connectOrFail(client, url, options.connectTimeoutMs ?? 10_000);
    limiter = new SlidingWindowRateLimiter({ limit: Math.max(announced, 1), windowMs: 1_000, safety: 0.9, clock });
    // The broker remembers the last second of an earlier process's requests: wait one window
    // before the first one of ours.
    limiter.pauseUntil(clock.now() + limiter.windowMs);
    const metrics = options.metrics;
    const venue = new VenueGuard({
      ...(metrics === undefined ? {} : { onStateChange: (st: TradingState) => metrics.onVenueState(st) }),
    });
    const logger = options.logger;
    const onEgressEvent = (e: EgressEvent) => {
      metrics?.onEgressEvent(e);
      if (logger !== undefined) logEgressEvent(logger, e);
    };
    const out = new OrderEgress({ client, limiter, venue, journal, deadLetters: dlq, onEvent: onEgressEvent, clock });
    egress = out;
    const orders = new BrokerOrderService({
      egress: out,
      broker: client,
      journal,
      isOurs: (id) => id.startsWith('bw-') || journal.knows(id),
      onFill: (f) => {
        if (closing) return;
        engine.applyFill(f).catch(() => {}); // refused only once the engine is disposed, which `closing` rules out
      },
      now: () => engine.now(),
      ...(metrics === undefined
        ? {}
        : { onSettled: (c: ProtectiveCommand, r: CommandResult, sec: number) => metrics.observeLatency(c, r, sec) }),
    });
    service = orders;
    await orders.reconcile(); // in-doubt intents and fills missed while we were down, before anything new

    /** Waits until nothing is on the wire or being journaled (work left waits for the replay clock). */
    const quiet = async (): Promise<void> => {
      const until = performance.now() + QUIET_GUARD_MS;
      let calm = 0;
      while (calm < 2 && performance.now() < until) {
        await journal.flushed();
        await new Promise((r) => setImmediate(r));
        const io = client.awaiting === 0 && !journal.writing; // nothing on the wire or the disk
        if (io && !(plugin?.busy ?? false) && out.inFlight === 0 && out.queued === 0) return;
        calm = io ? calm + 1 : 0;
        if (client.awaiting > 0) await new Promise((r) => setTimeout(r, 1));
      }
    };
    /** Runs the order path on the replay clock: work, then the next timer due by `limit`, until none is left or `done()`. */
    const runClock = async (clock: VirtualClock, limit: number, done: () => boolean = () => false): Promise<void> => {
      for (;;) {
        await quiet();
        if (done() || !clock.fireNext(limit)) return;
      }
    };
    /** The order path runs on the replay clock up to `t`, which then moves there. */
    const settle = async (t: number): Promise<void> => {
      if (virtual === undefined) return;
      await runClock(virtual, t);
      virtual.advanceTo(t);
    };

    let lastTime = Number.NaN;
    let started = performance.now();
    engine.use({
      name: 'replay-clock',
      onBars: async (bars: readonly Bar[]) => {
        const t = bars[0]?.timestamp;
        if (t === undefined) return;
        if (virtual !== undefined) {
          // The protective commands decided on the last bar have their outcome before this one.
          if (virtual.now() === 0) virtual.advanceTo(t - 1_000); // the first bar: the clock starts here
          await settle(t);
        } else if (!Number.isNaN(lastTime)) {
          // Against an external broker: wall time, at the chosen speed.
          const wait = (t - lastTime) / (options.speed ?? 1) - (performance.now() - started);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        lastTime = t;
        started = performance.now();
        if (options.signal?.aborted === true) engine.stop();
      },
    });
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
          await waitFor(
            () => orders.fills >= broker.executions.length,
            (w) => (reportWaiter = w),
            REPORT_WAIT_MS,
          );
        },
      });
    }
    const risk = createRiskPlugin(
      { ...(options.riskConfig ?? DEMO_RISK_CONFIG), ...(options.shadow === true ? { shadow: true } : {}) },
      { ...(logger === undefined ? {} : { logger }), ...(metrics === undefined ? {} : { metrics }), clock },
    );
    plugin = risk;
    metrics?.watch({
      deadLetters: () => dlq.size,
      queueDepth: () => out.queued,
      inFlight: () => out.inFlight,
    });
    const transitions: string[] = [];
    const recorder = options.report === undefined ? undefined : new ReportRecorder({ now: () => engine.now() });
    if (recorder !== undefined) risk.subscribe((e) => recorder.onEvent(e));
    risk.subscribe((e: RiskEvent) => {
      if (e.kind === 'STATE_CHANGED') transitions.push(`${time(e.timestamp)} ${e.from} → ${e.to} (${e.cause})`);
    });
    engine.use(risk);
    const afterBatch = options.afterBatch;
    let lastRecorded = Number.NaN;
    engine.use({
      name: 'after-batch',
      onBars: (bars: readonly Bar[]) => {
        // The equity the risk layer acted on (a snapshot marked to a suspected bad tick is
        // held back), not the engine's raw mark.
        const e = risk.lastEquity;
        if (recorder !== undefined && e !== undefined && e.timestamp !== lastRecorded)
          recorder.equity((lastRecorded = e.timestamp), e.equity);
        afterBatch?.(bars, engine);
      },
    });

    if (virtual === undefined && options.json !== true)
      print(`  pacing          bars replayed against wall time at ${options.speed ?? 1}x (--speed)`);
    const maxRejectedRows = options.maxRejectedRows ?? 20;
    const rejectedRows: RejectedRow[] = [];
    let rejectedRowsNotListed = 0;
    const summary = await engine.replay(options.data, {
      strategy: createDemoStrategy(),
      onReject: ({ rejection, line }) => {
        if (rejectedRows.length >= maxRejectedRows) {
          rejectedRowsNotListed++;
          return;
        }
        rejectedRows.push({ line, code: rejection.code, message: rejection.message });
        logger?.warn(
          {
            event: 'BAR_REJECTED',
            line,
            code: rejection.code,
            source: typeof options.data === 'string' ? options.data : undefined,
          },
          `bar rejected${line === undefined ? '' : ` at line ${line}`}: ${rejection.code} ${rejection.message}`,
        );
      },
    });
    // Drain: the broker's stops converge to the plugin's, or the deadline passes.
    const drainMs = options.drainMs ?? 30_000;
    const protection = risk.protection;
    if (protection !== undefined) {
      await protection.reread(); // judge by the broker's record, not by the last answers
      if (virtual !== undefined) {
        await runClock(virtual, virtual.now() + drainMs, () => {
          const p = protection.summary();
          return p.pending === 0 && p.unprotected === 0;
        });
      } else {
        await within(protection.whenConverged(), drainMs, () => undefined);
      }
    } else {
      await within(risk.settled(), drainMs, () => undefined);
    }
    await within(out.idle(), drainMs, () => undefined);
    const s = risk.stats();
    const protectionRows = protection?.rows() ?? [];
    const rows = new Map(protectionRows.map((r) => [r.symbol, r]));
    const stops: ReplayStop[] = risk.toJSON().stops.map((v) => {
      const row = rows.get(v.symbol);
      return {
        symbol: v.symbol,
        side: v.side,
        quantity: v.quantity,
        stop: v.stop,
        status: v.status,
        protection: protection === undefined ? 'LOCAL' : (row?.state ?? 'CONVERGED'),
        ...(row?.code === undefined ? {} : { code: row.code }),
      };
    });
    const counts0 = protection?.summary() ?? { converged: 0, pending: 0, unprotected: 0 };
    const converged = counts0.pending === 0 && counts0.unprotected === 0;
    // What is not converged is journaled as pending: the next start restores it first.
    const unconverged = protectionRows.filter((r) => r.state !== 'CONVERGED' && r.desired !== undefined);
    if (unconverged.length > 0 || journal.pendingStops().length > 0) {
      await journal.pending(
        unconverged.map((r) => ({
          symbol: r.symbol,
          side: (r.desired as DesiredStop).side,
          quantity: (r.desired as DesiredStop).quantity,
          stopPrice: (r.desired as DesiredStop).stopPrice,
          code: r.code ?? r.state,
        })),
      );
    }
    const source = typeof options.data === 'string' ? options.data : 'generated bars';
    const report: ReplayReport = {
      summary,
      plugin: s,
      brokerExecutions: embedded?.executions.length,
      executions: embedded === undefined ? [] : [...embedded.executions],
      brokerFills: orders.fills,
      deadLetters: dlq.size,
      restoredStops: risk.restoredStops,
      stops,
      protection: counts0,
      converged,
      foreignExecutions: orders.foreignExecutions,
      stopCommands: { ...(protection?.sent ?? { place: 0, amend: 0, cancel: 0, status: 0, reads: 0 }) },
      inDoubt: journal.inDoubt().length,
      maxDrawdown: risk.maxDrawdown,
      startingEquity: STARTING_EQUITY,
      rejectedRows,
      rejectedRowsNotListed,
    };
    const located = rejectedRows.map(
      (r) => `${r.line === undefined ? 'record' : `line ${r.line}`} ${r.code}: ${r.message}`,
    );
    if (rejectedRowsNotListed > 0) located.push(`… and ${rejectedRowsNotListed} more (--max-rejected-rows)`);
    const writeReport = async (): Promise<void> => {
      if (recorder === undefined || options.report === undefined) return;
      for (const d of dlq.list())
        recorder.action({
          t: d.deadAt,
          kind: 'DEAD_LETTERED',
          symbol: d.command.symbol,
          code: d.code,
          detail: `${d.command.kind} ${d.command.clientOrderId} after ${d.attempts} attempts`,
        });
      const title = `Bulwark replay: ${source === 'generated bars' ? source : basename(source)}`;
      const summaryRows: (readonly [string, string])[] = [
        ['bars accepted / rejected', `${summary.barsAccepted} / ${summary.barsRejected}`],
        ['stops placed / moved / triggered', `${s.stops.placed} / ${s.stops.moved} / ${s.stops.triggered}`],
        ['orders allowed / denied', `${s.orders.allowed} / ${summary.ordersDenied}`],
        ['final state', s.state],
        ['max drawdown (kernel)', `${(100 * risk.maxDrawdown).toFixed(2)} %`],
        ['starting equity', money(STARTING_EQUITY)],
        ['final equity', money(summary.finalEquity)],
        ['protective fills at the broker', String(orders.fills)],
        [
          'protection at the end',
          `converged ${counts0.converged}, pending ${counts0.pending}, unprotected ${counts0.unprotected}`,
        ],
        ['dead letters', String(dlq.size)],
        ['stop commands superseded by an execution', String(s.commands.superseded)],
        ...located.map((l) => ['rejected bar', l] as const),
      ];
      try {
        await writeFile(options.report, renderReport(recorder.data(title, summaryRows)));
      } catch (e) {
        // The summary is already printed: nothing of the replay is lost.
        throw new CliError(
          'NO_OUTPUT',
          `cannot write the report ${options.report}: ${e instanceof Error ? e.message : String(e)}`,
          EXIT.NO_OUTPUT,
        );
      }
    };
    if (options.json === true) {
      print(JSON.stringify(report));
      await writeReport();
      return report;
    }
    print(
      `Bulwark replay: ${source}, ${summary.batches} batches, broker ${embedded === undefined ? url : 'embedded simulator on the replay clock'}`,
    );
    print(
      `  bars            read ${summary.barsRead}, accepted ${summary.barsAccepted}, rejected ${summary.barsRejected} (${counts(summary.rejectedByCode)})`,
    );
    for (const l of located) print(`                  ${l}`);
    if (summary.firstTimestamp !== undefined && summary.lastTimestamp !== undefined)
      print(
        `  period          ${new Date(summary.firstTimestamp).toISOString()} to ${new Date(summary.lastTimestamp).toISOString()} (UTC)`,
      );
    print(`  plugin          ${s.bars.accepted} bars accepted, rejections: ${counts(s.rejections)}`);
    print(
      `  stops           placed ${s.stops.placed}, moved ${s.stops.moved}, triggered ${s.stops.triggered}, held back by quarantine ${s.stops.suppressed}; adopted from the broker at start ${risk.restoredStops}`,
    );
    print(`  anomalies       ${counts(s.anomalies)}`);
    print(`  state           ${s.state} now; ${s.transitions} transitions`);
    for (const t of transitions.slice(0, 12)) print(`                  ${t}`);
    print(
      `  orders          submitted ${summary.ordersSubmitted}, allowed ${s.orders.allowed}, denied ${summary.ordersDenied} (${counts(summary.deniedByCode)}), filled ${summary.ordersFilled}`,
    );
    // LOCAL stops go through the plugin's command path; BROKER stops through the reconciler (the broker line).
    if (protection === undefined)
      print(
        `  commands        sent ${s.commands.sent}, failed ${s.commands.failed}, superseded by an execution ${s.commands.superseded}, coalesced ${s.commands.coalesced}`,
      );
    const sent = protection?.sent;
    print(
      `  broker          ${sent === undefined ? '' : `stop commands: place ${sent.place}, amend ${sent.amend}, cancel ${sent.cancel}; `}protective fills booked ${orders.fills}${embedded === undefined ? '' : ` (broker's own record: ${embedded.executions.length} executions)`}; foreign reports ${orders.foreignExecutions}; dead letters ${dlq.size}`,
    );
    const byCode: Record<string, number> = {};
    for (const d of dlq.list())
      byCode[`${d.command.kind} ${d.code}`] = (byCode[`${d.command.kind} ${d.code}`] ?? 0) + 1;
    print(
      `  dead letters    ${counts(byCode)}${dlq.size > 0 ? ` (in ${dlq.path}; \`bulwark dlq list --state-dir ${stateDir}\`)` : ''}`,
    );
    print(
      `  protection      ${converged ? 'converged' : 'NOT CONVERGED'}: ${counts0.converged} converged, ${counts0.pending} pending, ${counts0.unprotected} unprotected`,
    );
    for (const r of unconverged.slice(0, 20))
      print(
        `                  ${r.symbol} ${r.state}${r.code === undefined ? '' : ` ${r.code}`} (wanted ${(r.desired as DesiredStop).side} ${(r.desired as DesiredStop).quantity} @ ${(r.desired as DesiredStop).stopPrice}; journaled as pending)`,
      );
    print(
      `  equity          starting ${money(STARTING_EQUITY)}, final ${money(summary.finalEquity)} (realised P&L ${money(summary.realisedPnl)})`,
    );
    await writeReport();
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
    if (e instanceof BrokerRequestError)
      throw new CliError(
        'BROKER',
        `the broker at ${url} refused the logon (${e.message}): check BULWARK_API_KEY and BULWARK_API_SECRET`,
        EXIT.BROKER,
      );
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
        reject(e instanceof Error ? e : new CliError('FAILED', String(e), EXIT.FAILURE));
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
