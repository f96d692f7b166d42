import { BulwarkError } from '../errors.js';
import type { Kernels } from '../kernels/load.js';
import type { Bar } from '../vocabulary/market.js';
import { kernelLimitProblems, resolveAnomalyConfig, type AnomalyConfig, type AnomalyConfigInput } from './config.js';
import { CorrelationBreak } from './correlation-break.js';
import { anomalyEvent, type AnomalyEvent, type BadTickEvent, type StaleFeedEvent } from './events.js';
import { PriceSpikes } from './price-spikes.js';
import { VolatilityRegime } from './regime.js';
import { SymbolRegistry } from '../market/symbol-registry.js';
import { BarColumns } from '../market/bar-columns.js';
import { RoundSplitter } from '../market/round-splitter.js';
import { RobustScorer } from './robust.js';
import { StaleFeed } from './stale.js';
import { VolumeSpikes } from './volume-spikes.js';
import { at, f64At, i32At } from '../util/indexed.js';

/**
 * Detects market-data anomalies for the risk plugin: PRICE_SPIKE, VOLUME_SPIKE,
 * VOLATILITY_REGIME, CORRELATION_BREAK, STALE_FEED and BAD_TICK (see each detector's notes).
 *
 * Memory is fixed at construction: every per-symbol column (last close, quarantine, stale
 * and regime state) is a typed array of `maxSymbols` rows (157 bytes per symbol), and the
 * spike windows, ATR and correlation state live in the kernels' banks in WASM memory (two
 * window banks of 16·spikeWindow + 56 bytes per symbol, 20 MB at the defaults; two ATR banks;
 * one correlation bank). Symbols get slots in arrival order; a new symbol beyond `maxSymbols`
 * is refused (its bars are counted in `refusedBars` and skipped).
 *
 * @example
 * ```ts
 * const k = await loadKernels();
 * const detector = new AnomalyDetector(k, { maxSymbols: 500 });
 * for (const e of detector.observe(validatedBars)) plugin.onAnomaly(e);
 * if (detector.isQuarantined('AAPL')) skipStopsFor('AAPL');
 * setInterval(() => detector.checkStale(Date.now()).forEach(plugin.onAnomaly), 10_000);
 * ```
 */
export class AnomalyDetector {
  /** The frozen, validated config in force. */
  readonly config: AnomalyConfig;
  readonly #registry: SymbolRegistry;
  readonly #scorer: RobustScorer;
  readonly #price: PriceSpikes;
  readonly #volume: VolumeSpikes;
  readonly #stale: StaleFeed;
  readonly #regime: VolatilityRegime;
  readonly #correlation: CorrelationBreak;
  /** observe()'s batch as columns, split into rounds (one bar per symbol each). */
  readonly #cols = new BarColumns(64);
  readonly #splitter: RoundSplitter;
  /** A round's regime and correlation events and their positions, before they are merged in. */
  readonly #late: AnomalyEvent[] = [];
  readonly #lateAt: number[] = [];
  /** Per position of the round being run: its accepted log return, and whether the regime ATRs took its bar. */
  readonly #returns: Float64Array;
  readonly #regimeStaged: Uint8Array;
  #refused = 0;
  #invalid = 0;
  #disposed = false;

  /**
   * Validates `config` (see {@link resolveAnomalyConfig}) and that the kernels' limits allow
   * the banks it needs, then allocates everything. Throws `INVALID_OPTION` listing every problem.
   * `registry`, when given, is shared with the caller (the risk plugin keys its own kernel
   * columns by the same slots); its capacity must not exceed `maxSymbols`.
   */
  constructor(kernels: Kernels, config: AnomalyConfigInput = {}, registry?: SymbolRegistry) {
    const cfg = resolveAnomalyConfig(config);
    const problems = kernelLimitProblems(cfg, kernels.limits);
    if (registry !== undefined && registry.capacity > cfg.maxSymbols) {
      problems.push(
        `a shared registry of ${registry.capacity} symbols needs maxSymbols ≥ ${registry.capacity}, got ${cfg.maxSymbols}`,
      );
    }
    if (problems.length > 0) {
      throw new BulwarkError('INVALID_OPTION', `anomaly config does not fit the kernels: ${problems.join('; ')}`, {
        problems,
      });
    }
    this.config = cfg;
    this.#registry = registry ?? new SymbolRegistry(cfg.maxSymbols);
    this.#scorer = new RobustScorer();
    this.#stale = new StaleFeed(cfg, this.#registry);
    this.#splitter = new RoundSplitter(cfg.maxSymbols);
    this.#returns = new Float64Array(cfg.maxSymbols);
    this.#regimeStaged = new Uint8Array(cfg.maxSymbols);
    // Each of these holds WASM memory: if a later one cannot be made, the earlier are returned.
    const made: { dispose(): void }[] = [];
    const make = <T extends { dispose(): void }>(create: () => T): T => {
      const x = create();
      made.push(x);
      return x;
    };
    try {
      this.#price = make(() => new PriceSpikes(kernels, cfg, this.#scorer));
      this.#volume = make(() => new VolumeSpikes(kernels, cfg, this.#scorer));
      this.#regime = make(() => new VolatilityRegime(kernels, cfg, this.#registry));
      this.#correlation = make(() => new CorrelationBreak(kernels, cfg, this.#registry));
    } catch (e) {
      for (const x of made) x.dispose();
      throw e;
    }
  }

  /**
   * ATR(`atrShortPeriod`) per slot as of the last observed round, the volatility the regime
   * detector uses (bad ticks kept out). A read-only view, overwritten by each round: a caller
   * that needs the same ATR (the risk plugin's stops) reads it instead of keeping a bank.
   */
  get shortAtr(): Float64Array {
    return this.#regime.shortAtr;
  }

  /** The symbol → slot registry in use. */
  get registry(): SymbolRegistry {
    return this.#registry;
  }

  /**
   * Work done so far that could follow the universe rather than the bars received: the
   * regime ATR banks' symbol-updates, the stale check's slots scanned and the correlation
   * bank's pair-updates. For tests of cost (a count, not a timing).
   * @internal
   */
  get work(): number {
    const n = this.#correlation.size;
    return this.#regime.work + this.#stale.scanned + (this.#correlation.updates * n * (n - 1)) / 2;
  }

  /** Symbols registered so far (at most `config.maxSymbols`). */
  get symbolCount(): number {
    return this.#registry.size;
  }

  /** Bars skipped because their symbol was new and the registry was full. */
  get refusedBars(): number {
    return this.#refused;
  }

  /**
   * Bars skipped because they were not valid bars (observe expects validated bars; one NaN
   * would otherwise corrupt its symbol's sorted windows for good).
   */
  get invalidBars(): number {
    return this.#invalid;
  }

  /** True once {@link AnomalyDetector.dispose} has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** True when `symbol` has a slot. */
  hasSymbol(symbol: string): boolean {
    return this.#registry.slotOf(symbol) >= 0;
  }

  /**
   * Processes one time slice of validated bars and returns its events (a frozen array).
   * Each symbol's first bar in `bars` goes in round 1, its second in round 2, and so on; each
   * round is one kernel update per bank. Within a round, events come in bar order (each bar's
   * PRICE_SPIKE or BAD_TICK, then its VOLUME_SPIKE), then, again in bar order, each bar's
   * VOLATILITY_REGIME and the CORRELATION_BREAK of a time slice it completes (a slice is applied
   * once every watched symbol has reported, or a bar of a later slice arrives). `slots`, when
   * given, are the bars' slots in
   * {@link AnomalyDetector.registry} (a caller sharing the registry already has them), which
   * saves a lookup per bar. The bars are copied into the detector's columns first (nothing of
   * `bars` is kept); the columns grow to the largest batch seen, ~64 bytes per bar, the same
   * order as the caller's own array. A caller bounding its batches (the risk plugin's
   * `maxBatchBars`) bounds them.
   *
   * @example
   * ```ts
   * const events = detector.observe([{ symbol: 'AAPL', timestamp, open, high, low, close, volume }]);
   * ```
   */
  observe(bars: readonly Bar[], slots?: readonly number[]): readonly AnomalyEvent[] {
    this.#ready();
    const cols = this.#cols;
    cols.clear();
    const known = slots !== undefined && slots.length === bars.length ? slots : undefined;
    for (let b = 0; b < bars.length; b++) {
      const bar = at(bars, b);
      if (!isUsable(bar)) {
        this.#invalid++;
        continue;
      }
      const given = known?.[b];
      const slot =
        given !== undefined && given >= 0 && this.#registry.symbolAt(given) === bar.symbol
          ? given
          : this.#registry.register(bar.symbol);
      if (slot < 0) {
        this.#refused++;
        continue;
      }
      cols.push(slot, bar.symbol, bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume);
    }
    const out: AnomalyEvent[] = [];
    const splitter = this.#splitter;
    const rounds = splitter.split(cols.slot, cols.size);
    for (let r = 0; r < rounds; r++) this.#round(cols, splitter.order, splitter.start(r), splitter.start(r + 1), out);
    return Object.freeze(out);
  }

  /**
   * One round for a caller that keeps its own columns (the risk plugin): rows
   * `order[from, to)` of `cols`, validated bars whose slots (in `cols.slot`, from
   * {@link AnomalyDetector.registry}) are all different. Appends the round's events to `out`
   * (a caller's reused array: nothing is allocated for a round without events) and, with
   * `at`, each event's position in the round (the bar it is due with, ascending).
   * @internal
   */
  observeRoundInto(
    cols: BarColumns,
    order: Int32Array,
    from: number,
    to: number,
    out: AnomalyEvent[],
    at?: number[],
  ): void {
    this.#ready();
    this.#round(cols, order, from, to, out, at);
  }

  /**
   * A BAD_TICK event for a record the validator rejected (nothing else changes: the record
   * never reached the detector's state). `timestamp` must be finite: pass the receive time
   * when the record's own is unusable. `inputs` are copied into the event.
   *
   * @example
   * ```ts
   * const r = validateBar(raw, limits);
   * if (!r.ok) events.push(detector.badTick(String(raw.symbol), now(), r.rejection.code));
   * ```
   */
  badTick(
    symbol: string,
    timestamp: number,
    reason: string,
    inputs: Readonly<Record<string, number>> = {},
  ): BadTickEvent {
    this.#ready();
    if (typeof symbol !== 'string' || !Number.isFinite(timestamp) || typeof reason !== 'string') {
      throw new BulwarkError(
        'INVALID_INPUT_TYPE',
        'badTick needs a string symbol, a finite timestamp and a string reason',
        {
          symbol,
          timestamp,
          reason,
        },
      );
    }
    return anomalyEvent<BadTickEvent>({
      type: 'BAD_TICK',
      severity: 'WARNING',
      symbols: [symbol],
      timestamp,
      inputs,
      actions: this.config.actions.BAD_TICK,
      reason,
    });
  }

  /**
   * STALE_FEED events for symbols whose last bar is more than `staleAfterMs` before `now`;
   * each stale episode is reported once, until the symbol's next bar. O(symbolCount).
   *
   * @example
   * ```ts
   * for (const e of detector.checkStale(ctx.now())) plugin.onAnomaly(e);
   * ```
   */
  checkStale(now: number): readonly StaleFeedEvent[] {
    this.#ready();
    const events = this.#stale.check(now);
    return events.length === 0 ? events : Object.freeze(events);
  }

  /**
   * True while `symbol`'s last bar is a suspected bad tick awaiting its next bar: its stops
   * must not fire on that bar. False for unknown symbols.
   *
   * @example
   * ```ts
   * if (!detector.isQuarantined(bar.symbol)) stops.check(bar);
   * ```
   */
  isQuarantined(symbol: string): boolean {
    const slot = this.#registry.slotOf(symbol);
    return slot >= 0 && this.#price.isQuarantined(slot);
  }

  /** {@link AnomalyDetector.isQuarantined} by registry slot, for callers that hold slots. */
  isQuarantinedSlot(slot: number): boolean {
    return slot >= 0 && slot < this.config.maxSymbols && this.#price.isQuarantined(slot);
  }

  /**
   * The typed arrays holding the detector's own state, all allocated at construction (the
   * kernels' banks are separate, in WASM memory). For memory accounting and tests.
   * @internal
   */
  stateArrays(): readonly ArrayBufferView[] {
    return Object.freeze([
      ...this.#price.buffers(),
      ...this.#stale.buffers(),
      ...this.#regime.buffers(),
      ...this.#correlation.buffers(),
      ...this.#splitter.buffers(),
      this.#returns,
      this.#regimeStaged,
    ]);
  }

  /** Bytes of the detector's own typed arrays (fixed at construction). */
  get stateBytes(): number {
    return this.stateArrays().reduce((sum, a) => sum + a.byteLength, 0);
  }

  /** Returns the kernel banks' memory. Idempotent; `observe`, `badTick` and `checkStale` then throw `BANK_DISPOSED`. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#price.dispose();
    this.#volume.dispose();
    this.#regime.dispose();
    this.#correlation.dispose();
  }

  #ready(): void {
    if (this.#disposed) throw new BulwarkError('BANK_DISPOSED', 'this anomaly detector has been disposed');
  }

  /**
   * Runs the round of rows `order[from, to)` of `cols` (one per slot). The bars are staged
   * (their spike windows' values computed), scored in one kernel call per window bank and
   * their ATRs updated in one call per bank; then each bar's events are produced in bar order:
   * its PRICE_SPIKE / BAD_TICK, VOLUME_SPIKE, VOLATILITY_REGIME, and the CORRELATION_BREAK of
   * a time slice it completes. `at`, when given, gets each event's position in the round (the
   * bar it is due with), so a caller can act on it between bars exactly as if the bars had
   * come one at a time.
   */
  #round(cols: BarColumns, order: Int32Array, from: number, to: number, out: AnomalyEvent[], at?: number[]): void {
    const price = this.#price;
    const volume = this.#volume;
    const regime = this.#regime;
    const returns = this.#returns;
    const staged = this.#regimeStaged;
    const bar = cols.row;
    price.begin();
    volume.begin();
    for (let k = from; k < to; k++) {
      const i = i32At(order, k);
      const slot = i32At(cols.slot, i);
      bar.at = i;
      this.#stale.touch(slot, f64At(cols.timestamp, i));
      price.stage(k - from, slot, bar);
      volume.stage(k - from, slot, bar);
    }
    price.run();
    volume.run(to - from);
    // First pass, in bar order: spikes (each bar's own window), then what the ATR banks take.
    const firstPass = out.length;
    for (let k = from; k < to; k++) {
      const i = i32At(order, k);
      const slot = i32At(cols.slot, i);
      bar.at = i;
      const before = out.length;
      returns[k - from] = price.finish(k - from, slot, bar, out);
      if (price.confirmed) {
        const book = price.book;
        regime.stageCatchUp(slot, book.high(slot), book.low(slot), book.close(slot));
      }
      staged[k - from] = price.held ? 0 : 1;
      if (!price.held) regime.stage(slot, bar);
      volume.finish(k - from, slot, bar, out);
      if (at !== undefined) for (let e = before; e < out.length; e++) at.push(k - from);
    }
    regime.apply();
    // Second pass, in bar order: regime crossings and completed correlation slices.
    const late = this.#late;
    const lateAt = this.#lateAt;
    for (let k = from; k < to; k++) {
      const i = i32At(order, k);
      const slot = i32At(cols.slot, i);
      const before = late.length;
      if (staged[k - from] === 1) regime.crossing(slot, late);
      this.#correlation.observe(slot, f64At(returns, k - from), f64At(cols.timestamp, i), late);
      for (let e = before; e < late.length; e++) lateAt.push(k - from);
    }
    if (late.length > 0) mergeByPosition(out, at, firstPass, late, lateAt);
    late.length = 0;
    lateAt.length = 0;
  }
}

/**
 * Merges `late` (positions `lateAt`, ascending) into `out` from index `from` on (positions in
 * `at`, ascending when given), keeping each position's first-pass events before its late ones.
 * Without `at`, the late events are appended.
 */
function mergeByPosition(
  out: AnomalyEvent[],
  at: number[] | undefined,
  from: number,
  late: AnomalyEvent[],
  lateAt: number[],
): void {
  if (at === undefined) {
    for (const e of late) out.push(e);
    return;
  }
  const first = out.splice(from);
  const firstAt = at.splice(from);
  let a = 0;
  let b = 0;
  while (a < first.length || b < late.length) {
    const takeFirst = b >= late.length || (a < first.length && (firstAt[a] as number) <= (lateAt[b] as number));
    if (takeFirst) {
      out.push(first[a] as AnomalyEvent);
      at.push(firstAt[a++] as number);
    } else {
      out.push(late[b] as AnomalyEvent);
      at.push(lateAt[b++] as number);
    }
  }
}

/** What the validator guarantees, rechecked cheaply: finite, 0 < low ≤ close ≤ high, volume ≥ 0. */
function isUsable(bar: Partial<Bar> | null | undefined): boolean {
  if (bar === null || bar === undefined) return false; // untyped (JavaScript) callers reach here too
  const { symbol, timestamp, low, close, high, volume } = bar;
  return (
    typeof symbol === 'string' &&
    typeof timestamp === 'number' &&
    typeof low === 'number' &&
    typeof close === 'number' &&
    typeof high === 'number' &&
    typeof volume === 'number' &&
    Number.isFinite(timestamp) &&
    low > 0 &&
    low <= close &&
    close <= high &&
    Number.isFinite(high) &&
    volume >= 0 &&
    Number.isFinite(volume)
  );
}
