/**
 * What the anomaly detector reports. Events are plain, frozen objects built fresh for each
 * report: no shared default arrays (ISSUE-2979) and nothing to deep-copy when serialising
 * (ISSUE-2985); `JSON.stringify(event)` is the serialisation.
 */

/**
 * Kinds of anomaly.
 *
 * @example
 * ```ts
 * const counts = Object.fromEntries(ANOMALY_TYPES.map((t) => [t, 0]));
 * ```
 */
export const ANOMALY_TYPES = Object.freeze([
  'PRICE_SPIKE', // robust z of the bar's log return over the symbol's window
  'VOLUME_SPIKE', // robust z of the bar's log(1 + volume) over the symbol's window
  'VOLATILITY_REGIME', // ATR(short)/ATR(long) crossed above the configured ratio
  'CORRELATION_BREAK', // mean pairwise correlation of the watch-list moved away from its baseline
  'STALE_FEED', // no bar for longer than staleAfterMs
  'BAD_TICK', // a record the validator rejected, or a spike the next bar reverted
] as const);

/** A kind of anomaly. */
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/**
 * How serious an anomaly is, least to most.
 *
 * @example
 * ```ts
 * const atLeastWarning = ANOMALY_SEVERITIES.indexOf(e.severity) >= ANOMALY_SEVERITIES.indexOf('WARNING');
 * ```
 */
export const ANOMALY_SEVERITIES = Object.freeze(['INFO', 'WARNING', 'CRITICAL'] as const);

/** How serious an anomaly is. */
export type AnomalySeverity = (typeof ANOMALY_SEVERITIES)[number];

/**
 * What the risk plugin does about an anomaly (configured per anomaly type).
 *
 * @example
 * ```ts
 * if (e.actions.includes('REDUCE')) state = stricter(state, 'REDUCING');
 * ```
 */
export const ANOMALY_ACTIONS = Object.freeze([
  'QUARANTINE', // the symbol's stops do not fire on this bar; the next bar decides (PRICE_SPIKE only)
  'TIGHTEN_STOPS',
  'REDUCE', // move the trading state to REDUCING
] as const);

/** An action the risk plugin takes for an anomaly. */
export type AnomalyAction = (typeof ANOMALY_ACTIONS)[number];

/** Inputs of a robust z-score: z = (value − median)/scale over the previous `samples` values. */
export type SpikeInputs = {
  /** The scored value (log return for price, log(1 + volume) for volume). */
  readonly value: number;
  readonly median: number;
  /** Median absolute deviation from the median. */
  readonly mad: number;
  /** 1.4826·MAD, or a fallback when that is below the floor (see `RobustScorer`). */
  readonly scale: number;
  readonly z: number;
  /** The z threshold that fired. */
  readonly threshold: number;
  /** Values in the window. */
  readonly samples: number;
};

/** Inputs of a {@link PriceSpikeEvent}. */
export type PriceSpikeInputs = SpikeInputs & {
  readonly close: number;
  /** The last accepted close before this bar. */
  readonly previousClose: number;
  /** |z| at or above which the bar is quarantined as a suspected bad tick. */
  readonly badTickThreshold: number;
};

/** Inputs of a {@link VolumeSpikeEvent}. */
export type VolumeSpikeInputs = SpikeInputs & { readonly volume: number };

/** Inputs of a {@link VolatilityRegimeEvent}. */
export type VolatilityRegimeInputs = {
  /** atrShort / atrLong. */
  readonly ratio: number;
  readonly atrShort: number;
  readonly atrLong: number;
  readonly threshold: number;
  /** The ratio must fall below this before another crossing can fire. */
  readonly rearm: number;
  readonly shortPeriod: number;
  readonly longPeriod: number;
};

/** Inputs of a {@link CorrelationBreakEvent}. */
export type CorrelationBreakInputs = {
  /** Mean of the finite pairwise correlations over the last `window` bars. */
  readonly meanCorrelation: number;
  /** Exponential average of past means. */
  readonly baseline: number;
  /** meanCorrelation − baseline. */
  readonly change: number;
  readonly threshold: number;
  /** Pairs that entered the mean. */
  readonly pairs: number;
  readonly window: number;
};

/** Inputs of a {@link StaleFeedEvent}. */
export type StaleFeedInputs = {
  readonly lastTimestamp: number;
  readonly ageMs: number;
  readonly staleAfterMs: number;
};

/**
 * Inputs of a {@link BadTickEvent}. For a reverted spike: `spikeClose`, `previousClose`,
 * `close`, `retrace`, `revertFraction`, `z`; for a rejected record, what the caller passed.
 */
export type BadTickInputs = Readonly<Record<string, number>>;

/** Fields every anomaly event has. */
export interface AnomalyEventFields<T extends AnomalyType, I> {
  readonly type: T;
  readonly severity: AnomalySeverity;
  /** Symbols concerned (one, except for CORRELATION_BREAK). */
  readonly symbols: readonly string[];
  /** Epoch ms: the bar's time, or `now` for STALE_FEED. */
  readonly timestamp: number;
  /** The numbers the decision used. */
  readonly inputs: Readonly<I>;
  /** The configured actions that apply to this event. */
  readonly actions: readonly AnomalyAction[];
}

/** A bar's log return far from its recent median. */
export type PriceSpikeEvent = AnomalyEventFields<'PRICE_SPIKE', PriceSpikeInputs>;
/** A bar's volume far above its recent median. */
export type VolumeSpikeEvent = AnomalyEventFields<'VOLUME_SPIKE', VolumeSpikeInputs>;
/** Short-term volatility rose well above long-term volatility. */
export type VolatilityRegimeEvent = AnomalyEventFields<'VOLATILITY_REGIME', VolatilityRegimeInputs>;
/** The watch-list's mean correlation moved away from its baseline. */
export type CorrelationBreakEvent = AnomalyEventFields<'CORRELATION_BREAK', CorrelationBreakInputs>;
/** A symbol has had no bar for longer than `staleAfterMs`. */
export type StaleFeedEvent = AnomalyEventFields<'STALE_FEED', StaleFeedInputs>;
/** A bad record: rejected by validation, or a spike that the next bar reverted. */
export type BadTickEvent = AnomalyEventFields<'BAD_TICK', BadTickInputs> & {
  /** `REVERTED` for a reverted spike; otherwise the caller's reason (e.g. a rejection code). */
  readonly reason: string;
};

/**
 * An anomaly, discriminated by `type`.
 *
 * @example
 * ```ts
 * for (const e of detector.observe(bars)) {
 *   if (e.type === 'PRICE_SPIKE' && e.actions.includes('QUARANTINE')) log(e.symbols[0], e.inputs.z);
 * }
 * ```
 */
export type AnomalyEvent =
  PriceSpikeEvent | VolumeSpikeEvent | VolatilityRegimeEvent | CorrelationBreakEvent | StaleFeedEvent | BadTickEvent;

/**
 * Builds a frozen event from `fields`. `symbols`, `inputs` and `actions` are copied (shallow:
 * they hold only strings and numbers) and frozen, so no two events, and no event and the
 * config, ever share a container, whatever the caller passes.
 *
 * @example
 * ```ts
 * const e = anomalyEvent<StaleFeedEvent>({
 *   type: 'STALE_FEED', severity: 'WARNING', symbols: ['AAPL'], timestamp: now,
 *   inputs: { lastTimestamp, ageMs: now - lastTimestamp, staleAfterMs }, actions: [],
 * });
 * Object.isFrozen(e.symbols); // true
 * ```
 */
export function anomalyEvent<E extends AnomalyEvent>(fields: E): E {
  const event: E = Object.assign({}, fields, {
    symbols: Object.freeze(fields.symbols.slice()),
    inputs: Object.freeze({ ...fields.inputs }),
    actions: Object.freeze(fields.actions.slice()),
  });
  return Object.freeze(event);
}
