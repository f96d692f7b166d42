import { BulwarkError } from '../errors.js';
import type { AnomalyDetector } from '../anomaly/detector.js';
import type { AnomalyEvent } from '../anomaly/events.js';
import { i32At } from '../util/indexed.js';
import { BarColumns } from '../market/bar-columns.js';
import { RoundSplitter } from '../market/round-splitter.js';
import type { SymbolRegistry } from '../market/symbol-registry.js';
import type { StopManager } from '../stops/stop-manager.js';
import { validBarInto, validateBar } from '../validation/records.js';
import type { Rejection } from '../validation/validated.js';
import type { Bar } from '../vocabulary/market.js';
import type { AnomalyResponse } from './anomaly-response.js';
import { BarMailbox } from './bar-mailbox.js';
import type { RiskLimits } from './config.js';
import type { RiskEventHub } from './event-hub.js';
import type { PluginCounters } from './plugin-stats.js';
import type { StopAtr } from './stop-atr.js';
import type { TradingStateMachine } from './trading-state-machine.js';
import { readString } from './guarded-read.js';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** What a delivery processed at once returns: one promise, settled, shared by every call. */
const SETTLED: Promise<void> = Promise.resolve();

/** What the bar path works with. */
export interface BarPipelineParts {
  readonly limits: RiskLimits;
  readonly registry: SymbolRegistry;
  readonly detector: AnomalyDetector;
  readonly atr: StopAtr;
  readonly stops: StopManager;
  readonly anomalies: AnomalyResponse;
  readonly machine: TradingStateMachine;
  readonly counters: PluginCounters;
  readonly hub: RiskEventHub;
  /** The host's clock (epoch ms). */
  now(): number;
  /** Aborted at dispose: a batch in progress stops at its next yield, queued ones are dropped. */
  readonly signal: AbortSignal;
  /** Told each accepted close not held back as a suspected bad tick (the pre-trade limits' marks). */
  readonly onClose?: (symbol: string, close: number) => void;
}

/**
 * The bar path: validates each raw bar straight into columns (rejecting bad ones with a code,
 * in per-symbol time order, within the symbol limit), then processes a batch round by round
 * (a round has at most one bar per symbol): anomalies first, then the stops' ATR, then every
 * position's stop, in bounded chunks that yield to the event loop. Bars that arrive while a
 * batch is processed wait in a bounded {@link BarMailbox} that keeps the latest per symbol.
 *
 * @example
 * ```ts
 * const pipeline = new BarPipeline(parts);
 * await pipeline.take(bars); // what RiskPlugin.onBars does once initialised
 * ```
 */
export class BarPipeline {
  readonly #p: BarPipelineParts;
  readonly #mailbox: BarMailbox;
  /** The batch being processed, validated into columns (reused); and the one being queued while busy. */
  readonly #batch = new BarColumns();
  readonly #staging = new BarColumns(64);
  readonly #splitter: RoundSplitter;
  /** Per bar of the current round: 1 when its symbol is quarantined. Reused, never reallocated. */
  readonly #held: Uint8Array;
  /** Slot of the bar at each position of the previous batch: the guess for this one. */
  readonly #hints: Int32Array;
  /** Per slot: the timestamp of its last accepted bar (−∞: none yet). */
  readonly #lastTimestamp: Float64Array;
  /** Per slot: the close of its last bar not held back as a suspected bad tick (NaN: none yet). */
  readonly #lastClose: Float64Array;
  /** The round's anomaly events, the position in the round each is due with, and the next to act on (reused). */
  readonly #events: AnomalyEvent[] = [];
  readonly #eventAt: number[] = [];
  #nextEvent = 0;
  /** BAD_TICKs of the records refused from the delivery being processed, each with the number of accepted bars before it. */
  readonly #refused: AnomalyEvent[] = [];
  readonly #refusedAt: number[] = [];
  #nextRefused = 0;
  /** The delivery taken into the batch columns, processed at once (bound once: no closure per call). */
  readonly #processBatchNow = (): void => this.#processNow(this.#batch);
  /** Bars the mailbox queued, processed after what was in progress; after dispose not started. */
  readonly #processQueued = (queued: readonly Bar[]): Promise<void> =>
    this.#p.signal.aborted ? Promise.resolve() : this.#process(this.#load(queued));

  constructor(parts: BarPipelineParts) {
    this.#p = parts;
    const n = parts.limits.maxSymbols;
    this.#mailbox = new BarMailbox(parts.limits.maxPendingBars);
    this.#splitter = new RoundSplitter(n);
    this.#held = new Uint8Array(n);
    this.#hints = new Int32Array(n).fill(-1);
    this.#lastTimestamp = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    this.#lastClose = new Float64Array(n).fill(Number.NaN);
  }

  /** Bars the mailbox replaced with a newer bar of the same symbol before they were processed. */
  get coalesced(): number {
    return this.#mailbox.coalesced;
  }

  /** The last trusted close of `symbol` (NaN when it has none). */
  lastClose(symbol: string): number {
    const slot = this.#p.registry.slotOf(symbol);
    return slot < 0 ? Number.NaN : (this.#lastClose[slot] ?? Number.NaN);
  }

  /**
   * Takes one delivery of bars: validates and records each (a hostile array is read under
   * guard, at most `maxBatchBars` of it), then processes them, or, while a batch is being
   * processed, queues them behind it. Resolves once they have been processed.
   */
  take(bars: readonly Bar[]): Promise<void> {
    const { counters, limits } = this.#p;
    // A hostile batch (a revoked proxy, a throwing length or index getter) is read under
    // guard, and its length once, so a getter that grows the array cannot make the loop endless.
    let list: readonly unknown[] = [];
    let n = 0;
    try {
      if (Array.isArray(bars)) {
        n = bars.length;
        list = bars;
      }
    } catch {
      // Array.isArray throws on a revoked proxy: not an array, rejected just below.
    }
    if (list !== bars) this.#reject({ code: 'MALFORMED_RECORD', message: 'onBars expects an array' });
    const max = limits.maxBatchBars;
    if (n > max) {
      // A bounded amount of work per call: the tail of an oversized batch is refused, counted.
      counters.barsReceived += n - max;
      counters.rejections.add('BATCH_LIMIT', n - max);
      n = max;
    }
    // While a batch is being processed these bars would wait in the mailbox: one that would
    // not find room is refused (QUEUE_FULL) before its timestamp is recorded, so it can be sent again.
    const busy = this.#mailbox.busy;
    const planned = busy ? new Set<string>() : undefined;
    const cols = busy ? this.#staging : this.#batch;
    cols.clear();
    for (let i = 0; i < n; i++) {
      counters.barsReceived++;
      let raw: unknown;
      try {
        raw = list[i];
      } catch {
        raw = undefined; // an index getter threw: rejected as MALFORMED_RECORD like any non-object
      }
      this.#accept(raw, i, cols, planned);
    }
    if (!busy) {
      // The fast path (a bar at a time, or any batch that fits one chunk): nothing would
      // wait for the event loop, so it runs now and returns a promise already settled —
      // no promise, closure or array made per call.
      if (cols.size <= limits.chunkSize) {
        try {
          // Busy meanwhile: bars a listener delivers during it are queued behind it.
          const queued = this.#mailbox.runNow(this.#processBatchNow, this.#processQueued);
          if (queued !== undefined) return queued;
        } catch (e) {
          // What the batch path's promise would reject with (a thrown non-Error, which no part
          // of the bar path throws, wrapped).
          return Promise.reject(
            e instanceof Error
              ? e
              : new BulwarkError('INVALID_STATE', `the bar path threw ${String(e)}`, { thrown: e }),
          );
        }
        return SETTLED;
      }
      return this.#mailbox.run(() => this.#process(cols), this.#processQueued);
    }
    // The mailbox keeps what it queues: private copies.
    const copies: Bar[] = [];
    for (let i = 0; i < cols.size; i++) copies.push(cols.toBar(i));
    return this.#mailbox.queue(copies, (rejection) => {
      // Refused by the full mailbox (QUEUE_FULL) after passing validation: rejected after
      // all, so received = accepted + rejected and the codes still sum to `rejected`.
      counters.barsAccepted--;
      this.#reject(rejection);
    });
  }

  /**
   * Validates one raw bar, checks per-symbol time order and the symbol limit; appends an
   * accepted bar, with its registry slot, to `cols`.
   */
  #accept(raw: unknown, position: number, cols: BarColumns, planned?: Set<string>): void {
    const { registry, limits } = this.#p;
    // Feeds usually send symbols in the same order each batch: last batch's slot at this
    // position is the first guess, and its symbol (validated when it was registered) need not
    // be checked again. Beyond the hint table there is no guess.
    let hint = this.#hints[position] ?? -1;
    let ok: boolean;
    try {
      let known = hint >= 0 ? registry.symbolAt(hint) : undefined;
      // A feed of one bar per call (or one that changes its order) misses the positional
      // guess: then the symbol's own slot is the guess, when it is registered (its name was
      // checked when it was). validBarInto compares the symbol it reads itself with `known`.
      const symbol = (raw as { readonly symbol?: unknown }).symbol;
      if (symbol !== known && typeof symbol === 'string') {
        const slot = registry.slotOf(symbol);
        if (slot >= 0) {
          known = symbol;
          hint = slot;
        }
      }
      ok = validBarInto(raw, limits, cols, known);
    } catch {
      ok = false; // a hostile getter or proxy trap threw: validateBar names it MALFORMED_RECORD
    }
    if (!ok) {
      const v = validateBar(raw, limits, false);
      if (!v.ok) {
        this.#reject(v.rejection);
        const symbol = readString(raw, 'symbol');
        if (symbol !== undefined && registry.slotOf(symbol) >= 0) {
          const event = this.#p.detector.badTick(symbol, this.#p.now(), v.rejection.code);
          // Acted on between the same bars as if the records came one per call: before the
          // accepted bar that followed it (while busy, the bars wait: now).
          if (planned === undefined) {
            this.#refused.push(event);
            this.#refusedAt.push(cols.size);
          } else this.#p.anomalies.apply(event);
        }
        return;
      }
      const b = v.value;
      cols.push(-1, b.symbol, b.timestamp, b.open, b.high, b.low, b.close, b.volume);
    }
    const row = cols.size - 1;
    const bar = cols.row;
    bar.at = row;
    const symbol = bar.symbol;
    const timestamp = bar.timestamp;
    const slot = registry.registerHinted(symbol, hint);
    if (position < this.#hints.length) this.#hints[position] = slot;
    if (slot < 0) {
      cols.pop();
      this.#reject({ code: 'SYMBOL_LIMIT', message: `maxSymbols ${limits.maxSymbols} reached`, field: 'symbol' });
      return;
    }
    const last = this.#lastTimestamp[slot] ?? Number.NEGATIVE_INFINITY;
    if (!(timestamp > last)) {
      cols.pop();
      this.#reject({
        code: 'NON_MONOTONIC_TIMESTAMP',
        message: `${symbol} at ${timestamp} is not after ${last}`,
        field: 'timestamp',
      });
      return;
    }
    if (planned !== undefined && !this.#mailbox.admits(symbol, planned)) {
      cols.pop();
      this.#reject({
        code: 'QUEUE_FULL',
        message: `inbound bar queue full (${this.#mailbox.capacity} symbols)`,
        field: 'symbol',
      });
      return;
    }
    this.#lastTimestamp[slot] = timestamp;
    this.#p.counters.barsAccepted++;
    cols.slot[row] = slot;
  }

  /** Loads bars the mailbox queued (validated copies, symbols registered) into the batch columns. */
  #load(bars: readonly Bar[]): BarColumns {
    const cols = this.#batch;
    cols.clear();
    for (const b of bars) {
      const slot = this.#p.registry.slotOf(b.symbol);
      if (slot < 0) continue;
      cols.push(slot, b.symbol, b.timestamp, b.open, b.high, b.low, b.close, b.volume);
    }
    return cols;
  }

  /**
   * Anomalies, the stops' ATR, then stops, round by round (a round has at most one bar per
   * symbol), the stops in bounded chunks that yield to the event loop. After dispose, a batch
   * in progress stops when it resumes from its yield.
   */
  async #process(cols: BarColumns): Promise<void> {
    const { signal } = this.#p;
    const chunk = this.#p.limits.chunkSize;
    const splitter = this.#splitter;
    const rounds = this.#begin(cols);
    for (let r = 0; r < rounds; r++) {
      const from = splitter.start(r);
      const to = splitter.start(r + 1);
      this.#observe(cols, from, to);
      for (let start = from; start < to; start += chunk) {
        if (start > from) {
          await yieldToEventLoop();
          if (signal.aborted) {
            this.#clearRefused(); // dropped with the rest of the batch
            return;
          }
        }
        this.#moveStops(cols, from, start, Math.min(start + chunk, to));
      }
    }
    this.#end();
  }

  /** {@link BarPipeline.#process} for a batch of at most one chunk: the same steps, none waiting. */
  #processNow(cols: BarColumns): void {
    const splitter = this.#splitter;
    const rounds = this.#begin(cols);
    for (let r = 0; r < rounds; r++) {
      const from = splitter.start(r);
      const to = splitter.start(r + 1);
      this.#observe(cols, from, to);
      this.#moveStops(cols, from, from, to);
    }
    this.#end();
  }

  /**
   * What both ways of processing a delivery start with, before its bars: the log levels, the
   * trading state as of now (an anomaly hold that has run out ends before the bars, not after
   * them), and the feeds that are stale now, judged on what had arrived before it — so a
   * delivery of many bars and the same bars one per call report the same transitions and the
   * same symbols. Then the split into rounds (returned): a delivery of several rounds reorders
   * its bars, so its refused records' BAD_TICKs are acted on first; in one round, between the bars.
   */
  #begin(cols: BarColumns): number {
    const { detector, anomalies, hub, machine } = this.#p;
    hub.readLogLevels();
    machine.refresh('BARS');
    for (const event of detector.checkStale(this.#p.now())) anomalies.apply(event);
    const rounds = this.#splitter.split(cols.slot, cols.size);
    if (rounds > 1) this.#actOnRefused(Number.POSITIVE_INFINITY);
    return rounds;
  }

  /** What both ways of processing a delivery end with: the refused records' BAD_TICKs after its last bar. */
  #end(): void {
    this.#actOnRefused(Number.POSITIVE_INFINITY);
    this.#clearRefused();
  }

  /** Acts on the refused records' BAD_TICKs that came before accepted bar `row` and are not acted on yet. */
  #actOnRefused(row: number): void {
    const refused = this.#refused;
    while (this.#nextRefused < refused.length && (this.#refusedAt[this.#nextRefused] as number) <= row)
      this.#p.anomalies.apply(refused[this.#nextRefused++]);
  }

  #clearRefused(): void {
    if (this.#refused.length === 0) return;
    this.#refused.length = 0;
    this.#refusedAt.length = 0;
    this.#nextRefused = 0;
  }

  /**
   * A round's anomalies (kept, with the bar each is due with, for {@link BarPipeline.#moveStops})
   * and the stops' ATR: rows `order[from, to)` of `cols`.
   */
  #observe(cols: BarColumns, from: number, to: number): void {
    const { detector, atr } = this.#p;
    const order = this.#splitter.order;
    if (this.#events.length > 0) {
      this.#events.length = 0;
      this.#eventAt.length = 0;
    }
    this.#nextEvent = 0;
    detector.observeRoundInto(cols, order, from, to, this.#events, this.#eventAt);
    const held = this.#held;
    const bar = cols.row;
    for (let k = from; k < to; k++) {
      bar.at = i32At(order, k);
      held[k - from] = detector.isQuarantinedSlot(bar.slot) ? 1 : 0;
    }
    // A suspected bad tick stays out of the stop ATR, as it stays out of the detector's.
    atr.update(cols, order, from, to, held);
  }

  /**
   * One chunk of a round: rows `order[start, end)` (the round starts at `from`) update their
   * position's stop, each after the anomalies due with it have been acted on — so a
   * TIGHTEN_STOPS or REDUCE lands between the same bars as it would with one bar per call.
   */
  #moveStops(cols: BarColumns, from: number, start: number, end: number): void {
    const { stops, anomalies } = this.#p;
    const atrNow = this.#p.atr.values;
    const held = this.#held;
    const order = this.#splitter.order;
    const events = this.#events;
    const eventAt = this.#eventAt;
    const bar = cols.row;
    const onClose = this.#p.onClose;
    for (let k = start; k < end; k++) {
      // In a delivery of one round its rows are in delivery order (row k is accepted bar k).
      if (this.#nextRefused < this.#refused.length) this.#actOnRefused(k);
      while (this.#nextEvent < events.length && (eventAt[this.#nextEvent] as number) <= k - from)
        anomalies.apply(events[this.#nextEvent++]);
      bar.at = i32At(order, k);
      const slot = bar.slot;
      const isHeld = held[k - from] === 1;
      if (!isHeld) {
        this.#lastClose[slot] = bar.close;
        onClose?.(bar.symbol, bar.close);
      }
      stops.onBar(bar, atrNow[slot] ?? Number.NaN, isHeld, slot);
    }
  }

  #reject(rejection: Rejection): void {
    this.#p.counters.rejections.add(rejection.code);
  }
}
