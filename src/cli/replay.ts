import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BrokerOrderService } from '../broker/broker-order-service.js';
import { startSimBroker, type SimBroker } from '../testing/sim-broker.js';
import { createDemoStrategy } from '../testing/demo-strategy.js';
import { DeadLetterQueue } from '../egress/dead-letter-queue.js';
import { OrderEgress, type EgressEvent } from '../egress/order-egress.js';
import { OrderJournal } from '../egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../egress/rate-limiter.js';
import { VenueGuard } from '../egress/venue-guard.js';
import { CliError, EXIT } from './cli-error.js';
import { Engine } from '../engine/index.js';
import { createRiskPlugin, type RiskPlugin } from '../plugin/risk-plugin.js';
import { FileProtectionStore } from '../limits/protection-store.js';
import { DEMO_RISK_CONFIG } from './replay-config.js';
import { SYSTEM_CLOCK, VirtualClock, type Clock } from '../util/clock.js';
import type { DesiredStop } from '../protection/stop-reconciler.js';
import { renderReport } from '../report/html-report.js';
import { ReportRecorder } from '../report/report-recorder.js';
import type { RiskEvent } from '../plugin/risk-events.js';
import type { Bar } from '../vocabulary/market.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import { logEgressEvent } from '../logging/risk-log.js';

import type { RejectedRow, ReplayCommandOptions, ReplayReport, ReplayStop } from './replay-types.js';
import { waitFor, within } from './replay-timing.js';
import { brokerLink, venueLink } from './replay-link.js';
export type { RejectedRow, ReplayCommandOptions, ReplayReport, ReplayStop } from './replay-types.js';

/** The report's rows for the pre-trade limits and protections that are configured (none otherwise). */
function limitRows(j: ReturnType<RiskPlugin['toJSON']>): (readonly [string, string])[] {
  const rows: (readonly [string, string])[] = [];
  const e = j.exposure;
  if (e !== undefined) {
    rows.push(['exposure gross / net at the end', `${money(e.grossExposure)} / ${money(e.netExposure)}`]);
    const groups = Object.entries(e.groups);
    if (groups.length > 0) rows.push(['exposure by group', groups.map(([g, v]) => `${g} ${money(v)}`).join(', ')]);
    rows.push(['entries this session day', String(e.ordersToday)]);
  }
  const d = j.dailyLoss;
  if (d !== undefined)
    rows.push([
      "the session's loss / its limit",
      `${money(d.loss)} / ${d.limit === undefined ? 'none yet' : money(d.limit)}${d.tripped ? ' (tripped: entries halted)' : ''}`,
    ]);
  const l = j.locks;
  if (l !== undefined) {
    const until = (m: Readonly<Record<string, number>>) =>
      Object.entries(m).map(([k, t]) => `${k} until ${new Date(t).toISOString().slice(11, 16)}Z`);
    rows.push([
      'locks in force',
      [...until(l.guard), ...until(l.cooldown).map((x) => `cooldown ${x}`)].join(', ') || 'none',
    ]);
  }
  return rows;
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
  const external = options.broker !== undefined || options.venue !== undefined;
  const stateDir = options.stateDir ?? (external ? '.bulwark' : await mkdtemp(join(tmpdir(), 'bulwark-replay-')));
  await mkdir(stateDir, { recursive: true });
  // One clock for everything in a replay against the embedded broker: the broker, the rate
  // limiter, request timeouts, the reconciler's retries and the plugin all run on replay time,
  // so the same data gives the same outcome every run. An external broker keeps wall time.
  const virtual = external ? undefined : new VirtualClock(0);
  const clock: Clock = virtual ?? SYSTEM_CLOCK;
  // A venue is resolved first: an unknown id or a missing ccxt fails before any file is opened.
  const venueOf = options.venue;
  const venueLinked = venueOf === undefined ? undefined : await venueLink({ ...venueOf, now: () => clock.now() });
  const journal = await OrderJournal.open(join(stateDir, 'journal.jsonl'), { now: () => clock.now() });
  const dlq = await DeadLetterQueue.open(join(stateDir, 'dlq.jsonl'), {
    onFull: (n) => print(`  dead-letter queue full (${n} entries): orders are kept in memory`),
  });

  let embedded: SimBroker | undefined;
  let credentials: { apiKey: string; apiSecret: string } | undefined;
  if (!external) {
    credentials = { apiKey: randomBytes(8).toString('hex'), apiSecret: randomBytes(16).toString('hex') };
    embedded = await startSimBroker({
      ...credentials,
      ordersPerSecond: options.ordersPerSecond ?? 200,
      now: () => clock.now(),
    });
  }

  let service: BrokerOrderService | undefined;
  let reportWaiter: (() => void) | undefined;
  let plugin: RiskPlugin | undefined;
  /** Set once shutdown starts: the broker's callbacks touch nothing that is being disposed. */
  let closing = false;
  const link =
    venueLinked ??
    brokerLink(options.broker ?? (embedded as SimBroker).url, credentials, clock, {
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
  const client = link.client;
  const engine = new Engine({
    startingCash: STARTING_EQUITY,
    // The plugin reads the broker through the order service (made once connected): its status
    // reads, open orders with executions, the journal's pending stops, and how the venue amends.
    protectiveOrders: {
      send: (c) => (service as BrokerOrderService).send(c),
      openOrders: () => (service as BrokerOrderService).openOrders(),
      orderStatus: (symbol, id) => (service as BrokerOrderService).orderStatus(symbol, id),
      observedOpenOrders: () => (service as BrokerOrderService).observedOpenOrders(),
      bookExecuted: (o) => (service as BrokerOrderService).bookExecuted(o),
      isOurs: (id) => (service as BrokerOrderService).isOurs(id),
      pendingStops: () => journal.pendingStops(),
      amend: client.amend ?? 'native',
    },
  });
  let egress: OrderEgress | undefined;
  let limiter: SlidingWindowRateLimiter | undefined;
  const cleanup = async () => {
    // Listeners first, then what they call: nothing reaches the engine once it is going.
    closing = true;
    reportWaiter = undefined;
    link.close();
    egress?.close();
    limiter?.dispose();
    await engine.dispose();
    await journal.close();
    await dlq.close();
    await embedded?.close();
  };
  try {
    const [first = { limit: 1, windowMs: 1_000 }, ...more] = await link.connect(options.connectTimeoutMs ?? 10_000);
    limiter = new SlidingWindowRateLimiter({ ...first, windows: more, safety: 0.9, clock });
    // The broker remembers an earlier process's requests: wait out its windows (up to a
    // minute; a day's count is the venue's to tell) before the first one of ours.
    const remembered = Math.max(first.windowMs, ...more.map((w) => w.windowMs).filter((ms) => ms <= 60_000));
    limiter.pauseUntil(clock.now() + remembered);
    // A venue's price and lot steps: the plugin's stops round as the venue's own filters do.
    const steps = await link.instruments();
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
        const io = link.awaiting === 0 && !journal.writing; // nothing on the wire or the disk
        if (io && !(plugin?.busy ?? false) && out.inFlight === 0 && out.queued === 0) return;
        calm = io ? calm + 1 : 0;
        if (link.awaiting > 0) await new Promise((r) => setTimeout(r, 1));
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
    const config = options.riskConfig ?? DEMO_RISK_CONFIG;
    const risk = createRiskPlugin(
      {
        ...config,
        ...(Object.keys(steps).length === 0
          ? {}
          : { stops: { ...config.stops, instruments: { ...steps, ...config.stops?.instruments } } }),
        ...(options.shadow === true ? { shadow: true } : {}),
      },
      {
        ...(logger === undefined ? {} : { logger }),
        ...(metrics === undefined ? {} : { metrics }),
        clock,
        // StoplossGuard's locks and the cooldowns outlive the process, beside the journal.
        protectionStore: new FileProtectionStore(join(stateDir, 'protections.json')),
      },
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
    // The plugin's state at the end, read once for the stops, the limits and their rows.
    const final = risk.toJSON();
    const finalLimitRows = limitRows(final);
    const stops: ReplayStop[] = final.stops.map((v) => {
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
      stopCommands: { ...(protection?.sent ?? { place: 0, amend: 0, replace: 0, cancel: 0, status: 0, reads: 0 }) },
      inDoubt: journal.inDoubt().length,
      maxDrawdown: risk.maxDrawdown,
      startingEquity: STARTING_EQUITY,
      rejectedRows,
      rejectedRowsNotListed,
      limits: (({ exposure, dailyLoss, locks }) => ({
        ...(exposure === undefined ? {} : { exposure }),
        ...(dailyLoss === undefined ? {} : { dailyLoss }),
        ...(locks === undefined ? {} : { locks }),
      }))(final),
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
        ['denials by code', counts(s.orders.denied)],
        ...finalLimitRows,
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
      `Bulwark replay: ${source}, ${summary.batches} batches, broker ${embedded === undefined ? link.label : 'embedded simulator on the replay clock'}`,
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
    finalLimitRows.forEach(([k, v], i) => print(`${i === 0 ? '  limits          ' : ' '.repeat(18)}${k}: ${v}`));
    // LOCAL stops go through the plugin's command path; BROKER stops through the reconciler (the broker line).
    if (protection === undefined)
      print(
        `  commands        sent ${s.commands.sent}, failed ${s.commands.failed}, superseded by an execution ${s.commands.superseded}, coalesced ${s.commands.coalesced}`,
      );
    const sent = protection?.sent;
    print(
      `  broker          ${sent === undefined ? '' : `stop commands: place ${sent.place}, amend ${sent.amend}, replace ${sent.replace}, cancel ${sent.cancel}; `}protective fills booked ${orders.fills}${embedded === undefined ? '' : ` (broker's own record: ${embedded.executions.length} executions)`}; foreign reports ${orders.foreignExecutions}; dead letters ${dlq.size}`,
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
