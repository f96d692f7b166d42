/**
 * The world of the protection property: one virtual clock, one broker model (the broker's
 * record is the truth), the host's own book of positions, and a chain of Bulwark processes
 * ("incarnations") that may be killed -9 and restarted on the same journal file.
 *
 * Nothing here is taken from src/egress, src/stops, src/protection or src/broker: Bulwark's
 * parts are only constructed and wired as a host would wire them; the expectations are stated
 * from the design's promise and read off the broker model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerOrderService } from '../../src/broker/broker-order-service.js';
import { isBulwarkError } from '../../src/errors.js';
import { OrderEgress } from '../../src/egress/order-egress.js';
import { OrderJournal } from '../../src/egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { VenueGuard } from '../../src/egress/venue-guard.js';
import type { RiskPluginConfig } from '../../src/plugin/config.js';
import { createRiskPlugin, type RiskPlugin } from '../../src/plugin/risk-plugin.js';
import { VirtualClock, type Clock, type TimerHandle } from '../../src/util/clock.js';
import type { Fill, Position } from '../../src/vocabulary/market.js';
import { BrokerModel, type Fault, type OrderObject, type ReportFault } from '../model/broker-model.js';
import { ModelClient } from './model-client.js';
import { rng } from '../helpers/random.js';

export const T0 = Date.parse('2026-03-02T14:30:00Z');
export const SYMBOLS = ['S0', 'S1', 'S2', 'S3', 'S4', 'S5'] as const;
export const EQUITY = 1_000_000;
/** The broker's price step (the plugin is configured with it too). */
export const TICK = 0.01;

export const PLUGIN_CONFIG: RiskPluginConfig = {
  stops: {
    mode: 'BROKER',
    tickSize: TICK,
    lotSize: 1,
    policy: {
      rules: [
        { kind: 'PERCENT', percent: 5 },
        { kind: 'CHANDELIER', multiple: 3 },
      ],
    },
    reconcile: {
      rereadMs: 5_000,
      maxBackoffMs: 2_000,
      fenceMs: 2_000,
      unprotectedAfterMs: 10_000,
      hardRetryMs: 20_000,
    },
    restoreGraceMs: 30_000,
  },
  limits: { maxSymbols: 64, maxPositions: 64 },
};

// ---- the schedule

export type PositionSide = 'LONG' | 'SHORT';
/**
 * `order`: any of order.place / order.amend / order.replace / order.cancel. On a cancel-replace
 * venue a fault for `order.amend` hits `order.replace` (the request that moves a stop there).
 */
export type FaultMethod =
  'any' | 'order' | 'order.place' | 'order.amend' | 'order.cancel' | 'order.status' | 'openOrders.status';
export interface RequestFault {
  readonly method: FaultMethod;
  readonly fault: Fault;
  readonly count: number;
}
export interface ReportFaults {
  readonly fault: Exclude<ReportFault, 'NONE'>;
  readonly count: number;
}

export type Step =
  /** Let virtual time pass (timers fire in order, the system works between them). */
  | { readonly kind: 'advance'; readonly ms: number }
  /** The host opens a position (or adds to the one it has, whatever its side). */
  | { readonly kind: 'open'; readonly sym: number; readonly side: PositionSide; readonly qty: number }
  /** The host adds to its position (opens a LONG if flat). */
  | { readonly kind: 'grow'; readonly sym: number; readonly qty: number }
  /** The host sells/buys back part of its position (by `pct` %, at least 1, never all). */
  | { readonly kind: 'shrink'; readonly sym: number; readonly pct: number }
  /** The host closes its position. */
  | { readonly kind: 'close'; readonly sym: number }
  /** One bar: the broker sees open, low, high, close in turn, then the plugin gets the bar. */
  | { readonly kind: 'bar'; readonly sym: number; readonly bps: number; readonly wickBps: number }
  /** The broker executes part of a live Bulwark order on the symbol (`pct` % of what remains, at least 1, never all). */
  | { readonly kind: 'partial'; readonly sym: number; readonly pct: number }
  /** Someone else trades on the account (a client id Bulwark never sent). */
  | { readonly kind: 'foreign'; readonly sym: number; readonly side: 'BUY' | 'SELL'; readonly qty: number }
  /** The next matching requests get these faults (in order); the next `reports.count` reports this fault. */
  | { readonly kind: 'faults'; readonly requests: readonly RequestFault[]; readonly reports: ReportFaults | null }
  /** The broker sends the replies held by DELAY_REPLY (and held reports). */
  | { readonly kind: 'flush'; readonly lifo: boolean }
  /** kill -9 of the Bulwark process, and a restart on the same journal. */
  | { readonly kind: 'kill' }
  /** The next 6 order requests are refused busy (503 -1008): the venue breaker trips. */
  | { readonly kind: 'breaker' };

export interface Schedule {
  /** The broker's limit (announced at logon and enforced). */
  readonly limit: number;
  /** Symbols used: S0 .. S(n-1). */
  readonly symbols: number;
  /** Starting prices in cents, per symbol. */
  readonly cents: readonly number[];
  readonly steps: readonly Step[];
  /** How the venue moves a stop: in place (`order.amend`), or by cancel-replace (`order.replace`). Default native. */
  readonly venue?: 'native' | 'cancel-replace';
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'advance':
      return `advance ${s.ms} ms`;
    case 'open':
      return `open S${s.sym} ${s.side} ${s.qty}`;
    case 'grow':
      return `grow S${s.sym} +${s.qty}`;
    case 'shrink':
      return `shrink S${s.sym} by ${s.pct}%`;
    case 'close':
      return `close S${s.sym}`;
    case 'bar':
      return `bar S${s.sym} ${s.bps >= 0 ? '+' : ''}${s.bps} bps (wick ${s.wickBps} bps)`;
    case 'partial':
      return `partial fill of S${s.sym}'s stop (${s.pct}% of the rest)`;
    case 'foreign':
      return `foreign ${s.side} ${s.qty} S${s.sym}`;
    case 'faults':
      return `faults [${s.requests.map((r) => `${r.count}x ${r.fault} on ${r.method}`).join(', ')}]${s.reports === null ? '' : ` reports ${s.reports.count}x ${s.reports.fault}`}`;
    case 'flush':
      return `flush delayed replies (${s.lifo ? 'lifo' : 'fifo'})`;
    case 'kill':
      return 'kill -9 and restart';
    case 'breaker':
      return 'breaker trip (6x BUSY on order requests)';
  }
}

export function describeSchedule(s: Schedule): string {
  const head = `limit ${s.limit}/s, symbols S0..S${s.symbols - 1}, prices ${s.cents
    .slice(0, s.symbols)
    .map((c) => (c / 100).toFixed(2))
    .join(' ')}`;
  return [head, ...s.steps.map((step, i) => `  #${i} ${describeStep(step)}`)].join('\n');
}

// ---- the world

interface HostPosition {
  side: PositionSide;
  qty: number;
  entry: number;
  openedAt: number;
}

/**
 * A clock that forwards to the shared one until killed; then its timers do nothing. Delays are
 * rounded up to whole milliseconds (as Node's timers and Date.now have them), so that virtual
 * time stays on whole milliseconds: the broker's order objects carry it as an integer.
 */
class ScopedClock implements Clock {
  #killed = false;
  constructor(readonly base: VirtualClock) {}
  now(): number {
    return this.base.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(
      () => {
        if (!this.#killed) fn();
      },
      Number.isFinite(ms) ? Math.ceil(Math.max(0, ms)) : 0,
    );
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.base.clearTimeout(handle);
  }
  kill(): void {
    this.#killed = true;
  }
}

const JOURNAL_WRITES = new Set<PropertyKey>(['intent', 'outcome', 'booked', 'done', 'pending', 'close']);

/** The journal as one process sees it: once the process is dead, its writes never happen (nor settle). */
function killable(journal: OrderJournal, dead: () => boolean): OrderJournal {
  return new Proxy(journal, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const f = v as (...args: unknown[]) => unknown;
      if (JOURNAL_WRITES.has(prop))
        return (...args: unknown[]) => (dead() ? new Promise(() => {}) : f.apply(target, args));
      return f.bind(target);
    },
  });
}

export interface Incarnation {
  readonly n: number;
  readonly clock: ScopedClock;
  readonly raw: OrderJournal;
  readonly client: ModelClient;
  readonly limiter: SlidingWindowRateLimiter;
  readonly venue: VenueGuard;
  readonly egress: OrderEgress;
  readonly service: BrokerOrderService;
  readonly plugin: RiskPlugin;
  initialised: boolean;
  dead: boolean;
}

export interface Coverage {
  runs: number;
  steps: number;
  kills: number;
  killsWithRequestsInFlight: number;
  faultsApplied: Record<string, number>;
  reportFaultsApplied: Record<string, number>;
  breakerTrips: number;
  executions: number;
  partialFills: number;
  foreignExecutions: number;
  serverDisconnects: number;
  seqGaps: number;
  rateLimitedAnswers: number;
  /** Per announced limit: the most order requests the broker received in any 1 s window of one run. */
  busiestSecond: Record<string, number>;
  overshoots: number;
  delayedRepliesFlushed: number;
  /** Order requests received, by method (order.amend on a native venue, order.replace on a cancel-replace one). */
  requestsByMethod: Record<string, number>;
}

export function newCoverage(): Coverage {
  return {
    runs: 0,
    steps: 0,
    kills: 0,
    killsWithRequestsInFlight: 0,
    faultsApplied: {},
    reportFaultsApplied: {},
    breakerTrips: 0,
    executions: 0,
    partialFills: 0,
    foreignExecutions: 0,
    serverDisconnects: 0,
    seqGaps: 0,
    rateLimitedAnswers: 0,
    busiestSecond: {},
    overshoots: 0,
    delayedRepliesFlushed: 0,
    requestsByMethod: {},
  };
}

const isOrderMethod = (m: string) =>
  m === 'order.place' || m === 'order.amend' || m === 'order.replace' || m === 'order.cancel';
const closingSide = (side: PositionSide): 'BUY' | 'SELL' => (side === 'LONG' ? 'SELL' : 'BUY');
const round2 = (x: number) => Math.max(0.01, Number(x.toFixed(2)));

export class World {
  readonly clock = new VirtualClock(T0);
  readonly model: BrokerModel;
  readonly symbols: readonly string[];
  readonly book = new Map<string, HostPosition>();
  readonly price = new Map<string, number>();
  readonly lastBar = new Map<string, number>();
  /** Quantity booked as fills per client id, by every incarnation. */
  readonly booked = new Map<string, number>();
  readonly foreignIds = new Set<string>();
  /** Executions the test made with `partialFill`, per client id. */
  readonly partials = new Map<string, number>();
  readonly incarnations: Incarnation[] = [];
  /** What happened, in order, tagged with the step (for failure messages). */
  readonly log: string[] = [];
  /** Errors the harness saw from Bulwark's callbacks (any fails the run). */
  readonly errors: string[] = [];
  current: Incarnation | undefined;
  /** '#k' during step k, 'start', 'settle'. */
  stepTag = 'start';
  #faults: RequestFault[] = [];
  #reportFaults: { fault: ReportFaults['fault']; count: number } | undefined;
  #applied = 0;
  #retryablesSeen = 0;
  #lastSnapshot = 0;
  #dir = '';
  journalPath = '';
  bookChangedAt = T0;

  constructor(
    readonly schedule: Schedule,
    readonly coverage: Coverage,
  ) {
    this.symbols = SYMBOLS.slice(0, schedule.symbols);
    this.model = new BrokerModel({
      now: () => this.clock.now(),
      limit: schedule.limit,
      amend: schedule.venue ?? 'native',
    });
    this.model.faultFor = (method, _params, n) => this.#faultFor(method, n);
    this.model.reportFaultFor = (report) => this.#reportFaultFor(report.data.clientOrderId, report.data.status);
    this.symbols.forEach((s, i) => {
      const p = round2((schedule.cents[i] ?? 10_000) / 100);
      this.price.set(s, p);
      this.model.setPrice(s, p);
    });
  }

  note(line: string): void {
    this.log.push(`${this.stepTag} t+${this.clock.now() - T0}: ${line}`);
  }

  #faultFor(method: string, n: number): Fault {
    if (method === 'session.logon' || method === 'ping') return 'NONE'; // logons are the stand-in client's own business
    const head = this.#faults[0];
    if (head === undefined) return 'NONE';
    const matches =
      head.method === 'any' ||
      head.method === method ||
      (head.method === 'order.amend' && method === 'order.replace') ||
      (head.method === 'order' && isOrderMethod(method));
    if (!matches) return 'NONE';
    if (head.count <= 1) this.#faults.shift();
    else this.#faults[0] = { ...head, count: head.count - 1 };
    this.coverage.faultsApplied[head.fault] = (this.coverage.faultsApplied[head.fault] ?? 0) + 1;
    this.note(`fault ${head.fault} on request #${n} ${method}`);
    return head.fault;
  }

  #reportFaultFor(clientOrderId: string, status: string): ReportFault {
    const r = this.#reportFaults;
    if (r === undefined || r.count <= 0) return 'NONE';
    r.count--;
    this.coverage.reportFaultsApplied[r.fault] = (this.coverage.reportFaultsApplied[r.fault] ?? 0) + 1;
    this.note(`report fault ${r.fault} on ${clientOrderId} ${status}`);
    return r.fault;
  }

  async open(): Promise<void> {
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    this.#dir = await mkdtemp(join(base, 'bulwark-prop-'));
    this.journalPath = join(this.#dir, 'journal.jsonl');
    await this.start();
    // The host feeds some history first (no positions yet), so the ATR-based rule has an opinion.
    for (let k = 15; k >= 1; k--) {
      for (const s of this.symbols) {
        const p = this.price.get(s) as number;
        const close = round2(p * (1 + (((k * 7 + s.charCodeAt(1) * 13) % 9) - 4) / 1_000));
        await this.#bar(s, p, close, 20, T0 - k * 60_000);
      }
    }
    await this.quiesce();
  }

  /** Ends the run: the last process is killed (nothing may still write the journal) and the files go. */
  async close(): Promise<void> {
    const inc = this.current;
    if (inc !== undefined) await this.#kill(inc);
    if (this.#dir !== '') await rm(this.#dir, { recursive: true, force: true });
  }

  // ---- incarnations

  async start(): Promise<Incarnation> {
    const n = this.incarnations.length;
    const clock = new ScopedClock(this.clock);
    const raw = await OrderJournal.open(this.journalPath, { now: () => clock.now() });
    const state = { dead: false, initialised: false };
    const journal = killable(raw, () => state.dead);
    // Assigned below: the client's callbacks run only once it is connected.
    let service: BrokerOrderService | undefined;
    let plugin: RiskPlugin | undefined;
    const fail = (what: string) => (e: unknown) => {
      if (!state.dead)
        this.errors.push(
          `${this.stepTag} incarnation ${n}: ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
        );
    };
    const client = new ModelClient({
      model: this.model,
      amend: this.schedule.venue ?? 'native',
      clock,
      name: `i${n}`,
      onReport: (r) => service?.onReport(r),
      onReconcile: (why) => {
        this.note(`incarnation ${n}: reconcile (${why})`);
        void (service as BrokerOrderService)
          .reconcile()
          .then(() => {
            this.note(`incarnation ${n}: reconcile (${why}) done`);
            return plugin?.protection?.reread();
          })
          .catch(fail(`reconcile after ${why}`));
      },
    });
    const limiter = new SlidingWindowRateLimiter({ limit: this.schedule.limit, safety: 0.9, clock });
    // The broker remembers the dead process's last second.
    limiter.pauseUntil(clock.now() + 1_000);
    const venue = new VenueGuard({
      initialDelayMs: 1,
      maxDelayMs: 4,
      breakAfter: 5,
      halfOpenAfterMs: 50,
      onStateChange: (s) => {
        if (s === 'REDUCING') this.coverage.breakerTrips++;
        this.note(`incarnation ${n}: venue ${s}`);
      },
    });
    const egress = new OrderEgress({ client, limiter, venue, journal, clock, maxInFlight: 8 });
    service = new BrokerOrderService({
      egress,
      broker: client,
      journal,
      now: () => clock.now(),
      onFill: (fill: Fill) => {
        if (state.dead) return;
        this.booked.set(fill.orderId, (this.booked.get(fill.orderId) ?? 0) + fill.quantity);
        this.note(
          `incarnation ${n} booked ${fill.orderId} ${fill.side} ${fill.quantity} ${fill.symbol} @ ${fill.price}`,
        );
        try {
          plugin?.onFill(fill);
        } catch (e) {
          // Before onInit the plugin takes no fills (the snapshot after it carries the position).
          if (!isBulwarkError(e, 'NOT_INITIALIZED')) fail('plugin.onFill')(e);
        }
      },
    });
    plugin = createRiskPlugin(PLUGIN_CONFIG, { clock });
    const inc: Incarnation = {
      n,
      clock,
      raw,
      client,
      limiter,
      venue,
      egress,
      service,
      plugin,
      get initialised() {
        return state.initialised;
      },
      set initialised(v: boolean) {
        state.initialised = v;
      },
      get dead() {
        return state.dead;
      },
      set dead(v: boolean) {
        state.dead = v;
      },
    };
    this.incarnations.push(inc);
    this.current = inc;
    this.#retryablesSeen = 0;
    this.note(`incarnation ${n} starts`);
    await this.drive(client.connect(), `incarnation ${n}: logon`);
    await this.drive(service.reconcile(), `incarnation ${n}: service.reconcile()`);
    await this.drive(
      plugin.onInit({
        now: () => clock.now(),
        portfolio: { positions: async () => this.positions() },
        orders: service,
      }),
      `incarnation ${n}: plugin.onInit()`,
    );
    inc.initialised = true;
    this.snapshot();
    await this.quiesce();
    return inc;
  }

  /** kill -9 at a step boundary: once the journal is on disk, the process stops dead, requests possibly in flight. */
  async #kill(inc: Incarnation): Promise<number> {
    for (;;) {
      await inc.raw.flushed();
      if (!inc.raw.writing) break; // checked synchronously just before the kill below
    }
    const inFlight = inc.client.awaiting;
    inc.dead = true;
    inc.clock.kill();
    inc.client.kill();
    this.note(`kill -9 of incarnation ${inc.n} (${inFlight} requests awaiting an answer)`);
    await inc.raw.close();
    if (this.current === inc) this.current = undefined;
    return inFlight;
  }

  async killAndRestart(): Promise<void> {
    const inc = this.current;
    if (inc === undefined) return;
    const inFlight = await this.#kill(inc);
    this.coverage.kills++;
    if (inFlight > 0) this.coverage.killsWithRequestsInFlight++;
    await this.start();
  }

  // ---- driving time

  /** Lets the system work at the current instant: event-loop turns, due timers, journal writes, real-time retry delays. */
  async quiesce(): Promise<void> {
    let last = '';
    let still = 0;
    let sleeps = 0;
    for (let i = 0; i < 2_000; i++) {
      await new Promise<void>((r) => setImmediate(r));
      this.clock.advanceTo(this.clock.now());
      const inc = this.current;
      if (inc !== undefined && inc.raw.writing) {
        await inc.raw.flushed();
        still = 0;
        continue;
      }
      // A busy (-1008) or rate-limited (429) answer is retried by cockatiel after a real 1-4 ms
      // backoff: wait it out before calling the system quiet (virtual time must not run ahead).
      if (inc !== undefined && inc.client.stats.retryableAnswers !== this.#retryablesSeen) {
        this.#retryablesSeen = inc.client.stats.retryableAnswers;
        await new Promise((r) => setTimeout(r, 6));
        still = 0;
        continue;
      }
      const sig = this.#signature();
      if (sig === last) still++;
      else {
        still = 0;
        last = sig;
      }
      if (still < 2) continue;
      // Nothing moves. Commands in flight that wait neither for an answer, nor a rate slot, nor a
      // logon wait for real time (cockatiel's retry backoff, 1-4 ms): give it some.
      if (
        inc !== undefined &&
        inc.client.live &&
        inc.egress.inFlight > 0 &&
        inc.client.awaiting === 0 &&
        inc.limiter.waiting === 0 &&
        sleeps < 25
      ) {
        sleeps++;
        await new Promise((r) => setTimeout(r, 2));
        still = 0;
        continue;
      }
      return;
    }
  }

  #signature(): string {
    const inc = this.current;
    return [
      this.model.requests.length,
      this.model.executions.length,
      this.clock.pending,
      inc?.egress.inFlight,
      inc?.egress.queued,
      inc?.client.awaiting,
      inc?.plugin.busy,
      inc?.limiter.waiting,
    ].join('|');
  }

  /** Advances virtual time by `ms`, timer by timer, letting the system work after each. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    for (let guard = 0; ; guard++) {
      const next = this.clock.nextDue();
      if (next === undefined || next > target) break;
      if (guard > 50_000) throw new Error(`timers keep firing before t+${target - T0}: a livelock?`);
      this.clock.advanceTo(next);
      await this.quiesce();
    }
    this.clock.advanceTo(target);
    await this.quiesce();
  }

  /** Waits for `p`, moving virtual time 100 ms at a time (a start may have to wait out timeouts). */
  async drive<T>(p: Promise<T>, what: string): Promise<T> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    const deadline = this.clock.now() + 120_000;
    let realWaits = 0;
    for (;;) {
      await this.quiesce();
      if (settled) return p;
      // Waiting for neither an answer, a rate slot nor a logon: for real time (the kernels load from disk).
      const inc = this.current;
      if (
        inc !== undefined &&
        inc.client.live &&
        inc.client.awaiting === 0 &&
        inc.limiter.waiting === 0 &&
        realWaits++ < 500
      ) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      if (this.clock.now() >= deadline) throw new Error(`${what} did not finish within 120 s of virtual time`);
      await this.advance(100);
    }
  }

  // ---- the host's book

  positions(): Position[] {
    const out: Position[] = [];
    for (const s of this.symbols) {
      const p = this.book.get(s);
      if (p !== undefined)
        out.push({ symbol: s, side: p.side, quantity: p.qty, entryPrice: p.entry, openedAt: p.openedAt });
    }
    return out;
  }

  snapshot(): void {
    const inc = this.current;
    if (inc === undefined || !inc.initialised) return;
    const timestamp = Math.max(this.#lastSnapshot + 1, this.clock.now());
    this.#lastSnapshot = timestamp;
    inc.plugin.onPortfolio({ timestamp, equity: EQUITY, positions: this.positions() });
  }

  #setSigned(symbol: string, signed: number, price: number): void {
    const before = this.book.get(symbol);
    this.bookChangedAt = this.clock.now();
    if (signed === 0) {
      this.book.delete(symbol);
      return;
    }
    const side: PositionSide = signed > 0 ? 'LONG' : 'SHORT';
    const qty = Math.abs(signed);
    if (before !== undefined && before.side === side) {
      if (qty > before.qty)
        before.entry = Number(((before.entry * before.qty + price * (qty - before.qty)) / qty).toFixed(4));
      before.qty = qty;
    } else this.book.set(symbol, { side, qty, entry: price, openedAt: this.clock.now() });
  }

  #signed(symbol: string): number {
    const p = this.book.get(symbol);
    return p === undefined ? 0 : p.side === 'LONG' ? p.qty : -p.qty;
  }

  /** Applies the broker's new executions of Bulwark's orders to the book; true when any. */
  applyExecutions(): boolean {
    let any = false;
    const all = this.model.executions;
    for (; this.#applied < all.length; this.#applied++) {
      const e = all[this.#applied]!;
      this.coverage.executions++;
      if (e.foreign) continue;
      any = true;
      const qty = Number(e.quantity);
      const before = this.book.get(e.symbol);
      const was = before ? `${before.side} ${before.qty}` : 'flat';
      const overshoot = before === undefined || closingSide(before.side) !== e.side || qty > before.qty;
      if (overshoot) this.coverage.overshoots++;
      this.#setSigned(e.symbol, this.#signed(e.symbol) + (e.side === 'BUY' ? qty : -qty), Number(e.price));
      const after = this.book.get(e.symbol);
      this.note(
        `broker executed ${e.clientOrderId} ${e.side} ${e.quantity} ${e.symbol} @ ${e.price}: book ${was} -> ${after ? `${after.side} ${after.qty}` : 'flat'}${overshoot ? ' (OVERSHOOT: more than the position, or no position)' : ''}`,
      );
    }
    return any;
  }

  // ---- steps

  async run(step: Step, index: number): Promise<void> {
    this.stepTag = `#${index}`;
    this.coverage.steps++;
    this.note(describeStep(step));
    switch (step.kind) {
      case 'advance':
        await this.advance(step.ms);
        break;
      case 'open':
      case 'grow': {
        const s = this.#sym(step.sym);
        const p = this.book.get(s);
        const side: PositionSide = p?.side ?? (step.kind === 'open' ? step.side : 'LONG');
        const signed = this.#signed(s) + (side === 'LONG' ? step.qty : -step.qty);
        this.#setSigned(s, signed, this.price.get(s) as number);
        this.snapshot();
        break;
      }
      case 'shrink': {
        const s = this.#sym(step.sym);
        const p = this.book.get(s);
        if (p !== undefined && p.qty > 1) {
          const by = Math.min(p.qty - 1, Math.max(1, Math.round((p.qty * step.pct) / 100)));
          this.#setSigned(s, this.#signed(s) - (p.side === 'LONG' ? by : -by), this.price.get(s) as number);
          this.snapshot();
        }
        break;
      }
      case 'close': {
        const s = this.#sym(step.sym);
        if (this.book.has(s)) {
          this.#setSigned(s, 0, this.price.get(s) as number);
          this.snapshot();
        }
        break;
      }
      case 'bar': {
        const s = this.#sym(step.sym);
        const open = this.price.get(s) as number;
        const close = round2(open * (1 + step.bps / 10_000));
        await this.#bar(s, open, close, step.wickBps, this.clock.now());
        break;
      }
      case 'partial': {
        const s = this.#sym(step.sym);
        const o = this.model.liveOrders(s).find((x) => !this.foreignIds.has(x.clientOrderId));
        if (o !== undefined) {
          const rest = Number(o.quantity) - Number(o.executedQty);
          if (rest >= 2) {
            const qty = Math.min(rest - 1, Math.max(1, Math.floor((rest * step.pct) / 100)));
            this.partials.set(o.clientOrderId, (this.partials.get(o.clientOrderId) ?? 0) + 1);
            this.coverage.partialFills++;
            this.note(`partial fill ${qty} of ${o.clientOrderId} (${o.side} ${o.quantity}, ${o.executedQty} executed)`);
            this.model.partialFill(o.clientOrderId, qty, this.price.get(s) as number);
          }
        }
        break;
      }
      case 'foreign': {
        const s = this.#sym(step.sym);
        const o = this.model.foreignExecution(s, step.side, step.qty, this.price.get(s) as number);
        this.foreignIds.add(o.clientOrderId);
        this.coverage.foreignExecutions++;
        break;
      }
      case 'faults':
        for (const f of step.requests) this.#faults.push({ ...f });
        if (step.reports !== null) this.#reportFaults = { ...step.reports };
        break;
      case 'flush':
        this.coverage.delayedRepliesFlushed += this.model.flushDelayed(step.lifo ? 'lifo' : 'fifo');
        break;
      case 'kill':
        await this.killAndRestart();
        break;
      case 'breaker':
        this.#faults.push({ method: 'order', fault: 'BUSY', count: 6 });
        break;
    }
    await this.quiesce();
    this.applyExecutions();
    this.snapshot();
    await this.quiesce();
  }

  #sym(i: number): string {
    return this.symbols[i % this.symbols.length] as string;
  }

  async #bar(symbol: string, open: number, close: number, wickBps: number, at: number): Promise<void> {
    const high = round2(Math.max(open, close) * (1 + wickBps / 10_000));
    const low = round2(Math.min(open, close) * (1 - wickBps / 10_000));
    for (const p of [open, low, high, close]) this.model.setPrice(symbol, p);
    this.price.set(symbol, close);
    const timestamp = Math.max((this.lastBar.get(symbol) ?? Number.NEGATIVE_INFINITY) + 1, at);
    this.lastBar.set(symbol, timestamp);
    const inc = this.current;
    if (inc?.initialised) await inc.plugin.onBars([{ symbol, timestamp, open, high, low, close, volume: 1_000 }]);
  }

  /** Faults off, delayed replies out, then ~60 s (more while the book still moves) of virtual time with periodic snapshots. */
  async settle(): Promise<void> {
    this.stepTag = 'settle';
    this.#faults = [];
    this.#reportFaults = undefined;
    this.coverage.delayedRepliesFlushed += this.model.flushDelayed();
    await this.quiesce();
    const start = this.clock.now();
    for (let i = 1; ; i++) {
      await this.advance(500);
      const changed = this.applyExecutions();
      if (changed || i % 4 === 0) this.snapshot();
      const now = this.clock.now();
      if (now - start >= 60_000 && (now - this.bookChangedAt >= 30_000 || now - start >= 120_000)) break;
    }
    this.applyExecutions();
    this.snapshot();
    await this.advance(2_000);
  }

  // ---- the verdict, by the broker's record

  /** Every way the broker's record breaks the promise; empty when kept. */
  verify(): string[] {
    const problems: string[] = [];
    const inc = this.current;
    if (inc === undefined) return ['no Bulwark process is running at the end of the schedule'];
    const plugin = inc.plugin;
    const ours = (o: OrderObject) => !this.foreignIds.has(o.clientOrderId);
    for (const s of this.symbols) {
      const pos = this.book.get(s);
      const live = this.model.liveOrders(s).filter(ours);
      if (pos === undefined) {
        if (live.length > 0)
          problems.push(
            `${s} is flat in the host's book, but the broker holds ${live.length} live Bulwark order(s)\n${this.describeSymbol(s)}`,
          );
        continue;
      }
      if (live.length !== 1) {
        problems.push(
          `${s} is ${pos.side} ${pos.qty} in the host's book, but the broker holds ${live.length} live Bulwark orders for it (want exactly 1)\n${this.describeSymbol(s)}`,
        );
        continue;
      }
      const o = live[0]!;
      const side = closingSide(pos.side);
      const rest = Number(o.quantity) - Number(o.executedQty);
      const wrong: string[] = [];
      if (o.type !== 'STOP_MARKET') wrong.push(`type ${o.type}, want STOP_MARKET`);
      if (o.side !== side) wrong.push(`side ${o.side}, want ${side} (closes a ${pos.side})`);
      if (rest !== pos.qty)
        wrong.push(
          `remaining quantity ${rest} (${o.quantity} - ${o.executedQty} executed), want the position's ${pos.qty}`,
        );
      const view = plugin.stopOf(s);
      if (view === undefined || !Number.isFinite(view.stop))
        wrong.push(
          `the plugin has no stop price for ${s} (${view === undefined ? 'no stop' : `stop ${view.stop}, ${view.status}`})`,
        );
      else if (o.stopPrice === undefined || !/^\d+(\.\d{1,2})?$/.test(o.stopPrice))
        wrong.push(`stopPrice ${o.stopPrice} is not on the ${TICK} tick`);
      else {
        // In ticks: the broker's k must be the plugin's price rounded toward the tighter side.
        const k = Math.round(Number(o.stopPrice) / TICK);
        const x = view.stop / TICK;
        const eps = 1e-6;
        const ok = side === 'SELL' ? x <= k + eps && x > k - 1 + eps : x >= k - eps && x < k + 1 - eps;
        if (!ok)
          wrong.push(
            `stopPrice ${o.stopPrice} is not the plugin's ${view.stop} rounded ${side === 'SELL' ? 'up' : 'down'} to the tick (want ${side === 'SELL' ? 'broker - plugin in [0, 0.01)' : 'broker - plugin in (-0.01, 0]'})`,
          );
      }
      if (wrong.length > 0)
        problems.push(
          `${s} is ${pos.side} ${pos.qty}; its stop ${o.clientOrderId} at the broker is wrong: ${wrong.join('; ')}\n${this.describeSymbol(s)}`,
        );
    }
    // No order executes twice (its own executions beyond those the test made with partialFill).
    const executed = new Map<string, number>();
    const count = new Map<string, number>();
    for (const e of this.model.executions) {
      if (e.foreign) {
        if (this.booked.has(e.clientOrderId))
          problems.push(
            `foreign execution ${e.clientOrderId} (${e.side} ${e.quantity} ${e.symbol}) was booked as Bulwark's fill (${this.booked.get(e.clientOrderId)})`,
          );
        continue;
      }
      executed.set(e.clientOrderId, (executed.get(e.clientOrderId) ?? 0) + Number(e.quantity));
      count.set(e.clientOrderId, (count.get(e.clientOrderId) ?? 0) + 1);
    }
    for (const [id, n] of count) {
      if (n - (this.partials.get(id) ?? 0) > 1)
        problems.push(
          `${id} executed ${n} times at the broker (${this.partials.get(id) ?? 0} of them partial fills made by the test)`,
        );
    }
    // Booked fills equal the broker's executions of Bulwark's ids.
    for (const id of new Set([...executed.keys(), ...this.booked.keys()])) {
      if (this.foreignIds.has(id)) continue;
      const atBroker = executed.get(id) ?? 0;
      const booked = this.booked.get(id) ?? 0;
      if (Math.abs(atBroker - booked) > 1e-9) {
        const o = this.model.order(id);
        problems.push(
          `${id} (${o ? `${o.symbol} ${o.side} ${o.type} ${o.status}` : 'unknown to the broker'}): the broker executed ${atBroker}, Bulwark booked ${booked}\n${o ? this.describeSymbol(o.symbol) : ''}`,
        );
      }
    }
    // The rate limit, by the broker's receive times (every connection, every incarnation).
    for (const w of this.model.violations(this.schedule.limit)) {
      problems.push(
        `rate limit ${this.schedule.limit}/s exceeded: ${w.count} order requests received in [t+${w.from - T0}, t+${w.to - T0}) at ${w.times.map((t) => `t+${t - T0}`).join(' ')}`,
      );
    }
    const summary = plugin.protection?.summary();
    if (summary === undefined) problems.push('the plugin has no stop reconciler (BROKER mode expected)');
    else if (summary.pending !== 0 || summary.unprotected !== 0) {
      const rows = (plugin.protection?.rows() ?? []).filter((r) => r.state !== 'CONVERGED');
      problems.push(
        `protection summary ${JSON.stringify(summary)}, want pending 0 and unprotected 0: ${rows.map((r) => `${r.symbol} ${r.state}${r.code ? ` ${r.code}` : ''}`).join(', ')} (venue ${inc.venue.state}, breaker ${inc.venue.circuit})\n${rows.map((r) => this.describeSymbol(r.symbol)).join('\n')}`,
      );
    }
    for (const e of this.errors) problems.push(`error: ${e}`);
    for (const i of this.incarnations)
      for (const e of i.client.callbackErrors)
        problems.push(
          `incarnation ${i.n}: a report/reconcile callback threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
        );
    return problems;
  }

  /** What the book, the plugin and the broker say about one symbol, and the symbol's history. */
  describeSymbol(symbol: string): string {
    const pos = this.book.get(symbol);
    const inc = this.current;
    const view = inc?.plugin.stopOf(symbol);
    const row = inc?.plugin.protection?.rows().find((r) => r.symbol === symbol);
    const ids = new Set<string>();
    for (const r of this.model.requests) {
      const p = r.params as Record<string, unknown> | undefined;
      const id = p?.['newClientOrderId'];
      if (typeof id === 'string' && p?.['symbol'] === symbol) ids.add(id);
    }
    const orders = [...ids].map((id) => this.model.order(id)).filter((o): o is OrderObject => o !== undefined);
    const fmt = (o: OrderObject) =>
      `${o.clientOrderId} ${o.side} ${o.type} qty ${o.quantity} executed ${o.executedQty} stop ${o.stopPrice ?? '-'} ${o.status}`;
    const history = this.log
      .filter((l) => l.includes(symbol) || /kill|incarnation \d+ starts|venue/.test(l))
      .slice(-40);
    const requests = this.model.requests
      .filter((r) => (r.params as Record<string, unknown> | undefined)?.['symbol'] === symbol)
      .slice(-30)
      .map((r) => {
        const p = r.params as Record<string, unknown>;
        const what = ['newClientOrderId', 'origClientOrderId', 'side', 'quantity', 'stopPrice']
          .filter((k) => p[k] !== undefined)
          .map((k) => `${k}=${String(p[k])}`);
        return `      #${r.n} t+${r.time - T0} conn ${r.connection} ${String(r.method)} ${what.join(' ')}${r.fault === 'NONE' ? '' : ` [${r.fault}]`}`;
      });
    return [
      `    host book: ${pos ? `${pos.side} ${pos.qty} @ ${pos.entry}` : 'flat'}; last price ${this.price.get(symbol)}`,
      `    plugin stop: ${view ? `${view.side} ${view.quantity} stop ${view.stop} ${view.status}` : 'none'}`,
      `    reconciler: ${row ? `${row.state}${row.code ? ` ${row.code}` : ''}, desired ${row.desired ? `${row.desired.side} ${row.desired.quantity} @ ${row.desired.stopPrice}` : 'flat'}, live ${JSON.stringify(row.live)}` : 'not managed'}`,
      `    broker's Bulwark orders on ${symbol}:`,
      ...orders.map((o) => `      ${fmt(o)}`),
      `    venue: ${inc ? `${inc.venue.state}, breaker ${inc.venue.circuit}` : '-'}`,
      `    requests about ${symbol} (last 30):`,
      ...requests,
      `    history (${symbol}, kills, starts, venue):`,
      ...history.map((l) => `      ${l}`),
    ].join('\n');
  }
}

/** Runs one schedule from a fresh world to the verdict; returns the broken promises (empty: kept) and the world. */
export async function runSchedule(
  s: Schedule,
  coverage: Coverage = newCoverage(),
): Promise<{ readonly problems: string[]; readonly world: World }> {
  coverage.runs++;
  const w = new World(s, coverage);
  let problems: string[] | undefined;
  // One clock and one source of randomness for everything, so that a schedule replays the same:
  // cockatiel's breaker reads Date.now (its half-open delay runs on the virtual clock too), and
  // the backoff jitter of cockatiel and of the reconciler draws Math.random (seeded per schedule).
  const realNow = Date.now;
  const realRandom = Math.random;
  Date.now = () => w.clock.now();
  Math.random = rng(hashOf(JSON.stringify(s)));
  try {
    await w.open();
    for (let i = 0; i < s.steps.length; i++) await w.run(s.steps[i]!, i);
    await w.settle();
    problems = w.verify();
  } catch (e) {
    problems = [
      `the run threw at ${w.stepTag}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      ...w.errors,
    ];
  } finally {
    try {
      await w.close();
    } catch (e) {
      problems = [...(problems ?? []), `closing the run failed: ${e instanceof Error ? e.message : String(e)}`];
    } finally {
      Date.now = realNow;
      Math.random = realRandom;
    }
    for (const inc of w.incarnations) {
      coverage.serverDisconnects += inc.client.stats.serverCloses;
      coverage.seqGaps += inc.client.stats.seqGaps;
      coverage.rateLimitedAnswers += inc.client.stats.rateLimitedAnswers;
    }
    for (const r of w.model.requests)
      if (typeof r.method === 'string' && isOrderMethod(r.method) && r.fault !== 'LOSE_REQUEST')
        coverage.requestsByMethod[r.method] = (coverage.requestsByMethod[r.method] ?? 0) + 1;
    const key = String(s.limit);
    coverage.busiestSecond[key] = Math.max(coverage.busiestSecond[key] ?? 0, w.model.maxInAnyWindow(1_000));
  }
  return { problems: problems ?? [], world: w };
}

function hashOf(text: string): number {
  let h = 2_166_136_261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619);
  return h >>> 0;
}

/** The failure message of a run: the schedule, each broken promise with its symbol's story, the last events. */
export function failureReport(s: Schedule, problems: readonly string[], w: World): string {
  return [
    `${problems.length} broken promise(s) after this schedule:`,
    describeSchedule(s),
    '',
    ...problems.map((p, i) => `(${i + 1}) ${p}`),
    '',
    'last events:',
    ...w.log.slice(-60).map((l) => `  ${l}`),
  ].join('\n');
}
