import { BulwarkError } from '../errors.js';
import type { KernelLimits } from '../kernels/limits.js';
import { atrBankBytes, correlationBankBytes, windowBankBytes } from '../kernels/sizes.js';
import { ANOMALY_ACTIONS, ANOMALY_TYPES, type AnomalyAction, type AnomalyType } from './events.js';

/** Which actions each anomaly type triggers. */
export type AnomalyActions = Readonly<Record<AnomalyType, readonly AnomalyAction[]>>;

/**
 * Settings of the {@link AnomalyDetector}. Every bound is finite; per-symbol memory is sized
 * from `maxSymbols`, `spikeWindow` and `correlationSymbols` once, at construction.
 */
export interface AnomalyConfig {
  /** Most symbols tracked; a new symbol beyond it is refused. Default 10 000. */
  readonly maxSymbols: number;
  /** Previous values per symbol that spike scores use (median/MAD). Default 60 bars. */
  readonly spikeWindow: number;
  /** Values a symbol needs in its window before spikes can fire. Default 30. */
  readonly minSamples: number;
  /** |robust z| of the log return at or above which PRICE_SPIKE fires. Default 8. */
  readonly priceZ: number;
  /** |robust z| at or above which a price spike is quarantined as a suspected bad tick. Default 12. */
  readonly badTickZ: number;
  /**
   * Fraction of a quarantined spike's move (in log price) that the next bar must take back
   * for the spike to be reported as BAD_TICK; less, and the move is confirmed. Default 0.5.
   */
  readonly revertFraction: number;
  /** Smallest scale for price z, in log-return units. Default 1e-4 (1 basis point). */
  readonly priceScaleFloor: number;
  /**
   * Robust z of log(1 + volume) at or above which VOLUME_SPIKE fires (upward only). Default 8:
   * at 6, even Gaussian log volume (σ 0.3, window 60) gave ~2 false positives per 10⁶ bars.
   */
  readonly volumeZ: number;
  /** Smallest scale for volume z, in log-volume units. Default 0.05. */
  readonly volumeScaleFloor: number;
  /** Short ATR period. Default 14. */
  readonly atrShortPeriod: number;
  /** Long ATR period. Default 100. */
  readonly atrLongPeriod: number;
  /** ATR(short)/ATR(long) at or above which VOLATILITY_REGIME fires. Default 2. */
  readonly regimeRatio: number;
  /** The ratio must fall below this before the next crossing can fire. Default 1.5. */
  readonly regimeRearmRatio: number;
  /**
   * Symbols in the correlation watch-list: the first ones registered. 0 turns
   * CORRELATION_BREAK off. Memory grows with its square. Default 50, at most 2 048.
   */
  readonly correlationSymbols: number;
  /** Rolling correlation window, in bars. Default 60. */
  readonly correlationWindow: number;
  /** Span, in bars, of the exponential average that is the baseline mean correlation. Default 600. */
  readonly baselineWindow: number;
  /** |mean − baseline| at or above which CORRELATION_BREAK fires. Default 0.3. */
  readonly breakThreshold: number;
  /** |mean − baseline| must fall below this before the next break can fire. Default 0.15. */
  readonly breakRearm: number;
  /** A symbol with no bar for longer than this is stale. Default 300 000 (5 minutes). */
  readonly staleAfterMs: number;
  /** Which actions each anomaly type triggers. QUARANTINE is meaningful only for PRICE_SPIKE. */
  readonly actions: AnomalyActions;
}

/** What {@link resolveAnomalyConfig} accepts: any subset of {@link AnomalyConfig}. */
export type AnomalyConfigInput = {
  readonly [K in Exclude<keyof AnomalyConfig, 'actions'>]?: AnomalyConfig[K];
} & { readonly actions?: Partial<AnomalyActions> };

type NumericKey = Exclude<keyof AnomalyConfig, 'actions'>;

/**
 * The defaults of {@link AnomalyConfig} (frozen, arrays included).
 *
 * @example
 * ```ts
 * DEFAULT_ANOMALY_CONFIG.actions.CORRELATION_BREAK; // ['REDUCE']
 * ```
 */
export const DEFAULT_ANOMALY_CONFIG: AnomalyConfig = Object.freeze({
  maxSymbols: 10_000,
  spikeWindow: 60,
  minSamples: 30,
  priceZ: 8,
  badTickZ: 12,
  revertFraction: 0.5,
  priceScaleFloor: 1e-4,
  volumeZ: 8,
  volumeScaleFloor: 0.05,
  atrShortPeriod: 14,
  atrLongPeriod: 100,
  regimeRatio: 2,
  regimeRearmRatio: 1.5,
  correlationSymbols: 50,
  correlationWindow: 60,
  baselineWindow: 600,
  breakThreshold: 0.3,
  breakRearm: 0.15,
  staleAfterMs: 300_000,
  actions: Object.freeze({
    PRICE_SPIKE: Object.freeze(['QUARANTINE'] as const),
    VOLUME_SPIKE: Object.freeze([] as const),
    VOLATILITY_REGIME: Object.freeze(['TIGHTEN_STOPS'] as const),
    CORRELATION_BREAK: Object.freeze(['REDUCE'] as const),
    STALE_FEED: Object.freeze([] as const),
    BAD_TICK: Object.freeze([] as const),
  }),
});

/**
 * Most window entries (maxSymbols × spikeWindow): price and volume each keep a ring and a
 * sorted copy in a WASM window bank, 16 bytes per entry per bank, so at most 128 MiB per
 * bank (within the kernels' default `maxBankBytes`).
 *
 * @example
 * ```ts
 * const longestWindow = Math.floor(MAX_WINDOW_ENTRIES / symbols);
 * ```
 */
export const MAX_WINDOW_ENTRIES = 2 ** 23;

interface Rule {
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  /** min itself is not allowed. */
  readonly above?: true;
}

const RULES: Readonly<Record<NumericKey, Rule>> = Object.freeze({
  maxSymbols: { integer: true, min: 1, max: 1_000_000 },
  spikeWindow: { integer: true, min: 3, max: 10_000 },
  minSamples: { integer: true, min: 3, max: 10_000 },
  priceZ: { integer: false, min: 0, max: 1e6, above: true },
  badTickZ: { integer: false, min: 0, max: 1e6, above: true },
  revertFraction: { integer: false, min: 0, max: 1, above: true },
  priceScaleFloor: { integer: false, min: 0, max: 1, above: true },
  volumeZ: { integer: false, min: 0, max: 1e6, above: true },
  volumeScaleFloor: { integer: false, min: 0, max: 10, above: true },
  atrShortPeriod: { integer: true, min: 1, max: 100_000 },
  atrLongPeriod: { integer: true, min: 2, max: 100_000 },
  regimeRatio: { integer: false, min: 0, max: 1e6, above: true },
  regimeRearmRatio: { integer: false, min: 0, max: 1e6, above: true },
  correlationSymbols: { integer: true, min: 0, max: 2_048 },
  correlationWindow: { integer: true, min: 2, max: 1_000_000 },
  baselineWindow: { integer: true, min: 1, max: 1_000_000 },
  breakThreshold: { integer: false, min: 0, max: 2, above: true },
  breakRearm: { integer: false, min: 0, max: 2 },
  staleAfterMs: { integer: false, min: 0, max: 8.64e15, above: true },
});

function checkNumber(key: NumericKey, value: unknown, problems: string[]): boolean {
  const r = RULES[key];
  const lower = r.above === true ? `> ${r.min}` : `>= ${r.min}`;
  const kind = r.integer ? 'an integer' : 'a finite number';
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!r.integer || Number.isInteger(value)) &&
    (r.above === true ? value > r.min : value >= r.min) &&
    value <= r.max;
  if (!ok) problems.push(`${key} must be ${kind} ${lower} and <= ${r.max}, got ${String(value)}`);
  return ok;
}

function checkActions(raw: unknown, problems: string[]): Partial<Record<AnomalyType, readonly AnomalyAction[]>> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push('actions must be an object keyed by anomaly type');
    return {};
  }
  const out: Partial<Record<AnomalyType, readonly AnomalyAction[]>> = {};
  for (const [type, list] of Object.entries(raw)) {
    if (!(ANOMALY_TYPES as readonly string[]).includes(type)) {
      problems.push(`actions.${type} is not an anomaly type (one of ${ANOMALY_TYPES.join(', ')})`);
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`actions.${type} must be an array of actions`);
      continue;
    }
    const seen = new Set<unknown>();
    let ok = true;
    for (const a of list as unknown[]) {
      if (!(ANOMALY_ACTIONS as readonly unknown[]).includes(a)) {
        problems.push(`actions.${type} has ${String(a)}, not one of ${ANOMALY_ACTIONS.join(', ')}`);
        ok = false;
      } else if (seen.has(a)) {
        problems.push(`actions.${type} lists ${String(a)} twice`);
        ok = false;
      } else if (a === 'QUARANTINE' && type !== 'PRICE_SPIKE') {
        problems.push(`actions.${type} cannot QUARANTINE: only a PRICE_SPIKE has a next bar to confirm it`);
        ok = false;
      }
      seen.add(a);
    }
    if (ok) out[type as AnomalyType] = Object.freeze((list as AnomalyAction[]).slice());
  }
  return out;
}

/**
 * Merges `input` into {@link DEFAULT_ANOMALY_CONFIG}, checks every field and the relations
 * between them, and returns a frozen config (its action lists frozen too). Throws one
 * `INVALID_OPTION` {@link BulwarkError} whose `details.problems` lists every problem.
 *
 * @example
 * ```ts
 * const config = resolveAnomalyConfig({ maxSymbols: 500, actions: { VOLUME_SPIKE: ['TIGHTEN_STOPS'] } });
 * Object.isFrozen(config.actions.VOLUME_SPIKE); // true
 * ```
 */
export function resolveAnomalyConfig(input: AnomalyConfigInput = {}): AnomalyConfig {
  const problems: string[] = [];
  const raw: unknown = input; // untyped (JavaScript) callers reach here too
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BulwarkError('INVALID_OPTION', 'invalid anomaly config: it must be an object', {
      problems: ['the config must be an object'],
    });
  }
  for (const key of Object.keys(input)) {
    if (key !== 'actions' && !(key in RULES)) problems.push(`unknown option ${key}`);
  }
  const merged: Record<string, unknown> = {};
  const valid = new Set<NumericKey>();
  for (const key of Object.keys(RULES) as NumericKey[]) {
    const given: unknown = input[key];
    const value = given === undefined ? DEFAULT_ANOMALY_CONFIG[key] : given; // null is a problem, not a default
    merged[key] = value;
    if (checkNumber(key, value, problems)) valid.add(key);
  }
  const m = merged as Record<NumericKey, number>;
  const both = (a: NumericKey, b: NumericKey): boolean => valid.has(a) && valid.has(b);
  if (both('minSamples', 'spikeWindow') && m.minSamples > m.spikeWindow) {
    problems.push(`minSamples (${m.minSamples}) must be <= spikeWindow (${m.spikeWindow})`);
  }
  if (both('badTickZ', 'priceZ') && m.badTickZ < m.priceZ) {
    problems.push(`badTickZ (${m.badTickZ}) must be >= priceZ (${m.priceZ})`);
  }
  if (both('atrShortPeriod', 'atrLongPeriod') && m.atrShortPeriod >= m.atrLongPeriod) {
    problems.push(`atrShortPeriod (${m.atrShortPeriod}) must be < atrLongPeriod (${m.atrLongPeriod})`);
  }
  if (both('regimeRearmRatio', 'regimeRatio') && m.regimeRearmRatio >= m.regimeRatio) {
    problems.push(`regimeRearmRatio (${m.regimeRearmRatio}) must be < regimeRatio (${m.regimeRatio})`);
  }
  if (both('breakRearm', 'breakThreshold') && m.breakRearm >= m.breakThreshold) {
    problems.push(`breakRearm (${m.breakRearm}) must be < breakThreshold (${m.breakThreshold})`);
  }
  if (valid.has('correlationSymbols') && m.correlationSymbols === 1) {
    problems.push('correlationSymbols must be 0 (off) or >= 2');
  }
  if (both('maxSymbols', 'spikeWindow') && m.maxSymbols * m.spikeWindow > MAX_WINDOW_ENTRIES) {
    problems.push(`maxSymbols × spikeWindow (${m.maxSymbols * m.spikeWindow}) must be <= ${MAX_WINDOW_ENTRIES}`);
  }
  const actions = checkActions(input.actions, problems);
  if (problems.length > 0) {
    throw new BulwarkError('INVALID_OPTION', `invalid anomaly config: ${problems.join('; ')}`, { problems });
  }
  return Object.freeze({
    ...(m as Omit<AnomalyConfig, 'actions'>),
    actions: Object.freeze({ ...DEFAULT_ANOMALY_CONFIG.actions, ...actions }),
  });
}

/**
 * Problems of a config against the kernels' limits (the banks it needs must fit), as
 * messages; empty when it fits.
 *
 * @example
 * ```ts
 * const problems = kernelLimitProblems(config, k.limits);
 * if (problems.length > 0) console.warn(problems);
 * ```
 */
export function kernelLimitProblems(config: AnomalyConfig, limits: KernelLimits): string[] {
  const problems: string[] = [];
  if (config.maxSymbols > limits.maxSymbols) {
    problems.push(`maxSymbols (${config.maxSymbols}) exceeds the kernels' maxSymbols ${limits.maxSymbols}`);
  }
  const watch = Math.min(config.correlationSymbols, config.maxSymbols);
  if (watch > limits.maxCorrelationSymbols) {
    problems.push(
      `correlationSymbols (${watch}) exceeds the kernels' maxCorrelationSymbols ${limits.maxCorrelationSymbols}`,
    );
  }
  const windowBytes = windowBankBytes(config.maxSymbols, config.spikeWindow);
  if (windowBytes > limits.maxBankBytes) {
    problems.push(
      `a spike window bank needs ${windowBytes} bytes, over the kernels' maxBankBytes ${limits.maxBankBytes}`,
    );
  }
  const atrBytes = atrBankBytes(config.maxSymbols);
  if (atrBytes > limits.maxBankBytes) {
    problems.push(`an ATR bank needs ${atrBytes} bytes, over the kernels' maxBankBytes ${limits.maxBankBytes}`);
  }
  const correlationBytes = watch >= 2 ? correlationBankBytes(watch, config.correlationWindow) : 0;
  if (correlationBytes > limits.maxBankBytes) {
    problems.push(
      `a correlation bank needs ${correlationBytes} bytes, over the kernels' maxBankBytes ${limits.maxBankBytes}`,
    );
  }
  if (config.atrLongPeriod > limits.maxPeriod) {
    problems.push(`atrLongPeriod (${config.atrLongPeriod}) exceeds the kernels' maxPeriod ${limits.maxPeriod}`);
  }
  if (watch >= 2 && config.correlationWindow > limits.maxWindow) {
    problems.push(`correlationWindow (${config.correlationWindow}) exceeds the kernels' maxWindow ${limits.maxWindow}`);
  }
  return problems;
}
