import type { SizingConfig } from '../limits/position-sizing.js';
import {
  preTradeProblems,
  protectionsProblems,
  sizingProblems,
  type PreTradeConfig,
  type ProtectionsConfig,
} from '../limits/pre-trade-config.js';
import { kernelLimitProblems, resolveAnomalyConfig, type AnomalyConfigInput } from '../anomaly/config.js';
import { BulwarkError, isBulwarkError } from '../errors.js';
import { DEFAULT_KERNEL_LIMITS } from '../kernels/limits.js';
import { DEFAULT_LADDER, ladderProblems, type DrawdownLadder } from '../drawdown/ladder.js';
import type { KernelBuild } from '../kernels/load.js';
import type { StopMode } from '../stops/stop-manager.js';
import type { StopPolicy } from '../stops/stop-rules.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/** Finite bounds on every resource the plugin holds. */
export interface RiskLimits {
  /** Symbols tracked (kernel slots). Default 10 000. */
  readonly maxSymbols: number;
  /** Positions under stop management. Default 10 000. */
  readonly maxPositions: number;
  /** Bars waiting while a batch is processed (latest per symbol kept). Default 10 000. */
  readonly maxPendingBars: number;
  /** Bars one `onBars` call takes; the rest of a larger batch is rejected `BATCH_LIMIT`. Default 100 000. */
  readonly maxBatchBars: number;
  /** Positions updated between yields to the event loop. Default 2 048. */
  readonly chunkSize: number;
  /** Equity points kept. Default 525 600 (one year of minutes). */
  readonly historyCapacity: number;
  /** Default 32. */
  readonly maxSymbolLength: number;
  /** Default 1e15. */
  readonly maxPrice: number;
  /** Default 1e15. */
  readonly maxQuantity: number;
}

/** Stop-loss settings applied to every position. */
export interface StopsConfig {
  /** Default `LOCAL`. */
  readonly mode: StopMode;
  /** Wilder period of the ATR the rules use. Default 14. */
  readonly atrPeriod: number;
  /** Default: chandelier at 3 ATR. */
  readonly policy: StopPolicy;
  /** Fraction of the distance to the close a TIGHTEN_STOPS anomaly removes. Default 0.5. */
  readonly tightenFraction: number;
  /**
   * BROKER mode after a restart: how long (host clock, ms) a stop found resting at the broker
   * waits for its position to show up in a portfolio snapshot before it is cancelled. Default
   * 300 000 (a host may rebuild its positions over its first few bars).
   */
  readonly restoreGraceMs: number;
  /**
   * BROKER mode: the price step of stop prices on the wire; a stop is rounded to it only
   * toward the tighter side (up for a SELL stop, down for a BUY stop). Default 1e-8.
   */
  readonly tickSize: number;
  /** BROKER mode: the quantity step; a stop's size is rounded down to it. Default 1e-8. */
  readonly lotSize: number;
  /** Per-symbol `tickSize` and `lotSize` (e.g. `{ BTCUSDT: { tickSize: 0.01, lotSize: 0.00001 } }`). Default none. */
  readonly instruments: Readonly<Record<string, { readonly tickSize?: number; readonly lotSize?: number }>>;
  /** BROKER mode: how the stop reconciler paces itself (see `StopReconcilerOptions`). */
  readonly reconcile: ReconcileConfig;
}

/** Timing of the stop reconciler (ms). */
export interface ReconcileConfig {
  /** Re-read the broker's open orders this often. Default 30 000. */
  readonly rereadMs: number;
  /** First retry delay after a failed command. Default 100. */
  readonly initialBackoffMs: number;
  /** Longest retry delay. Default 5 000. */
  readonly maxBackoffMs: number;
  /** How long a stop execution seen at the broker waits for the host's fill. Default 5 000. */
  readonly fenceMs: number;
  /** How long a hard-rejected stop waits before it is tried again unchanged. Default 60 000. */
  readonly hardRetryMs: number;
  /** A position with no stop resting at the broker this long is UNPROTECTED. Default 10 000. */
  readonly unprotectedAfterMs: number;
}

/** What `createRiskPlugin` accepts; every field is optional. */
export interface RiskPluginConfig {
  /** Default `bulwark`. */
  readonly name?: string;
  /** Kernel build. Default `release`. */
  readonly build?: KernelBuild;
  readonly limits?: Partial<RiskLimits>;
  readonly stops?: Partial<Omit<StopsConfig, 'reconcile'>> & { readonly reconcile?: Partial<ReconcileConfig> };
  readonly drawdown?: Partial<DrawdownLadder>;
  /** How long a REDUCE anomaly action holds trading in REDUCING. Default 15 minutes. */
  readonly anomalyReduceMs?: number;
  /** Anomaly detection settings (see `AnomalyConfig`); `maxSymbols` comes from `limits`. */
  readonly anomaly?: AnomalyConfigInput;
  /**
   * Shadow mode: every decision is made and reported (events, logs) but no order is sent
   * and no order is denied (a denial is reported with `shadow: true` and let through).
   * For trying Bulwark beside a live system. Default false.
   */
  readonly shadow?: boolean;
  /** Pre-trade limits on what may be opened (every one off unless set). */
  readonly preTrade?: PreTradeConfig;
  /** Loss protections and the session day they count by. */
  readonly protections?: ProtectionsConfig;
  /** Position sizing for `plugin.sizeOrder` (off unless set). */
  readonly sizing?: SizingConfig;
}

/** A validated, frozen configuration. */
export interface ResolvedRiskConfig {
  readonly name: string;
  readonly build: KernelBuild;
  readonly limits: RiskLimits;
  readonly stops: StopsConfig;
  readonly drawdown: DrawdownLadder;
  readonly anomalyReduceMs: number;
  readonly anomaly: AnomalyConfigInput;
  readonly shadow: boolean;
  /** The pre-trade limits as configured (an empty object: none). */
  readonly preTrade: PreTradeConfig;
  /** The loss protections, with the session start filled in. */
  readonly protections: ProtectionsConfig & { readonly sessionStart: string };
  /** Position sizing, if configured. */
  readonly sizing?: SizingConfig;
}

/** Defaults of {@link RiskLimits}. */
export const DEFAULT_RISK_LIMITS: RiskLimits = Object.freeze({
  maxSymbols: 10_000,
  maxPositions: 10_000,
  maxPendingBars: 10_000,
  maxBatchBars: 100_000,
  chunkSize: 2_048,
  historyCapacity: 525_600,
  maxSymbolLength: 32,
  maxPrice: 1e15,
  maxQuantity: 1e15,
});

/** Defaults of {@link StopsConfig}. */
export const DEFAULT_STOPS: StopsConfig = Object.freeze({
  mode: 'LOCAL',
  atrPeriod: 14,
  policy: Object.freeze({ rules: Object.freeze([Object.freeze({ kind: 'CHANDELIER', multiple: 3 })]) }),
  tightenFraction: 0.5,
  restoreGraceMs: 300_000,
  tickSize: 1e-8,
  lotSize: 1e-8,
  instruments: Object.freeze({}),
  reconcile: Object.freeze({
    rereadMs: 30_000,
    initialBackoffMs: 100,
    maxBackoffMs: 5_000,
    fenceMs: 5_000,
    hardRetryMs: 60_000,
    unprotectedAfterMs: 10_000,
  }),
});

/**
 * BROKER mode: the price (`tickSize`) or quantity (`lotSize`) step of `symbol`: its entry in
 * `stops.instruments` when it has one, else the section's own step. The one place the
 * per-instrument fallback is decided.
 *
 * @example
 * ```ts
 * instrumentStep(config.stops, 'BTCUSDT', 'tickSize'); // 0.01 with instruments: { BTCUSDT: { tickSize: 0.01 } }
 * ```
 */
export function instrumentStep(stops: StopsConfig, symbol: string, key: 'tickSize' | 'lotSize'): number {
  const own = Object.hasOwn(stops.instruments, symbol) ? stops.instruments[symbol]?.[key] : undefined;
  return own ?? stops[key];
}

/**
 * A config section as the caller wrote it, before validation: any field may hold anything.
 * The problem checks below read this, so each check states what it rules out.
 */
type Unchecked<T> = { readonly [K in keyof T]?: unknown };

/** Anything whose fields can be read as data (an object, arrays included; not null). */
function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null;
}

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
/** A price or quantity step: in (0, 1e6]. */
const step = (v: unknown): v is number => positive(v) && v <= 1e6;

function ruleProblems(rule: unknown, at: string): string[] {
  const p: string[] = [];
  const r = isRecord(rule) ? rule : {};
  switch (r['kind']) {
    case 'FIXED':
      if (!positive(r['price'])) p.push(`${at}.price must be a finite number > 0`);
      break;
    case 'PERCENT': {
      const percent = r['percent'];
      if (!positive(percent) || percent >= 100) p.push(`${at}.percent must be in (0, 100)`);
      break;
    }
    case 'ATR':
    case 'CHANDELIER':
      if (!positive(r['multiple'])) p.push(`${at}.multiple must be a finite number > 0`);
      break;
    case 'TRAILING': {
      const percent = r['percent'];
      const activation = r['activationPercent'];
      if (!positive(percent) || percent >= 100) p.push(`${at}.percent must be in (0, 100)`);
      if (typeof activation !== 'number' || !(activation >= 0)) p.push(`${at}.activationPercent must be ≥ 0`);
      break;
    }
    default:
      p.push(`${at}.kind must be FIXED, PERCENT, ATR, CHANDELIER or TRAILING`);
  }
  return p;
}

function instrumentsProblems(instruments: unknown): string[] {
  if (!isRecord(instruments)) return ['stops.instruments must be an object'];
  const p: string[] = [];
  for (const [symbol, i] of Object.entries(instruments)) {
    if (!isRecord(i)) {
      p.push(`stops.instruments.${symbol} must be an object`);
      continue;
    }
    for (const key of Object.keys(i))
      if (key !== 'tickSize' && key !== 'lotSize') p.push(`unknown config key stops.instruments.${symbol}.${key}`);
    if (i['tickSize'] !== undefined && !step(i['tickSize']))
      p.push(`stops.instruments.${symbol}.tickSize must be in (0, 1e6]`);
    if (i['lotSize'] !== undefined && !step(i['lotSize']))
      p.push(`stops.instruments.${symbol}.lotSize must be in (0, 1e6]`);
  }
  return p;
}

function reconcileProblems(reconcile: unknown): string[] {
  if (!isRecord(reconcile)) return ['stops.reconcile must be an object'];
  const p: string[] = [];
  for (const [key, v] of Object.entries(reconcile)) {
    if (!Object.hasOwn(DEFAULT_STOPS.reconcile, key)) p.push(`unknown config key stops.reconcile.${key}`);
    else if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 86_400_000))
      p.push(`stops.reconcile.${key} must be in [0, 86400000]`);
  }
  return p;
}

function policyProblems(policy: unknown): string[] {
  const p: string[] = [];
  const rules = isRecord(policy) ? policy['rules'] : undefined;
  if (!Array.isArray(rules) || rules.length === 0) p.push('stops.policy.rules must be a non-empty array');
  else rules.forEach((r: unknown, i: number) => p.push(...ruleProblems(r, `stops.policy.rules[${i}]`)));
  const be = isRecord(policy) ? policy['breakeven'] : undefined;
  if (be === undefined) return p;
  // null or a non-object breakeven is a problem, not a TypeError reading its fields.
  if (!isRecord(be)) {
    p.push('stops.policy.breakeven must be an object');
    return p;
  }
  const after = be['afterGainPercent'];
  const offset = be['offsetPercent'];
  if (!positive(after)) p.push('stops.policy.breakeven.afterGainPercent must be > 0');
  if (typeof offset !== 'number' || !(offset >= 0) || !(offset < Number(after))) {
    p.push('stops.policy.breakeven.offsetPercent must be in [0, afterGainPercent)');
  }
  return p;
}

function stopsProblems(s: Unchecked<StopsConfig>): string[] {
  const p: string[] = [];
  if (s.mode !== 'LOCAL' && s.mode !== 'BROKER') p.push('stops.mode must be LOCAL or BROKER');
  const period = s.atrPeriod;
  if (!(typeof period === 'number' && Number.isSafeInteger(period) && period >= 1 && period <= 10_000))
    p.push('stops.atrPeriod must be an integer in [1, 10000]');
  // typeof first: a string such as '0.5' compares as a number and would slip through.
  const tighten = s.tightenFraction;
  if (!(typeof tighten === 'number' && tighten > 0 && tighten < 1)) p.push('stops.tightenFraction must be in (0, 1)');
  const grace = s.restoreGraceMs;
  if (!(typeof grace === 'number' && grace >= 0 && grace <= 86_400_000))
    p.push('stops.restoreGraceMs must be in [0, 86400000]');
  if (!step(s.tickSize)) p.push('stops.tickSize must be in (0, 1e6]');
  if (!step(s.lotSize)) p.push('stops.lotSize must be in (0, 1e6]');
  p.push(...instrumentsProblems(s.instruments), ...reconcileProblems(s.reconcile), ...policyProblems(s.policy));
  return p;
}

function limitsProblems(l: RiskLimits): string[] {
  const p: string[] = [];
  for (const key of [
    'maxSymbols',
    'maxPositions',
    'maxPendingBars',
    'maxBatchBars',
    'chunkSize',
    'historyCapacity',
    'maxSymbolLength',
  ] as const) {
    const problem = positiveIntegerProblem(`limits.${key}`, l[key]);
    if (problem !== undefined) p.push(problem);
  }
  if (l.maxSymbols > 10_000) p.push('limits.maxSymbols must be ≤ 10000 (the kernels’ limit)');
  if (l.historyCapacity > 10_000_000) p.push('limits.historyCapacity must be ≤ 10000000');
  if (l.maxBatchBars > 10_000_000) p.push('limits.maxBatchBars must be ≤ 10000000');
  for (const key of ['maxPrice', 'maxQuantity'] as const)
    if (!positive(l[key])) p.push(`limits.${key} must be a finite number > 0`);
  return p;
}

function anomalyProblems(anomaly: AnomalyConfigInput, maxSymbols: number): string[] {
  try {
    const cfg = resolveAnomalyConfig({ ...anomaly, maxSymbols });
    return kernelLimitProblems(cfg, { ...DEFAULT_KERNEL_LIMITS, maxSymbols }).map((p) => `anomaly: ${p}`);
  } catch (e) {
    if (!isBulwarkError(e)) throw e;
    const list = e.details['problems'];
    return Array.isArray(list) ? list.map((p) => `anomaly: ${String(p)}`) : [`anomaly: ${e.message}`];
  }
}

function freezeDeep<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value); // before the children: a cycle back to this object stops here
    for (const v of Object.values(value)) freezeDeep(v);
  }
  return value;
}

/**
 * Problems with an optional section (`limits`, `stops`, …): it must be an object, and, when
 * `defaults` names its fields, hold no other keys (a typo such as `maxSymbol` would otherwise
 * be silently ignored, and a function in it would fail the clone below).
 */
function sectionProblems(name: string, value: unknown, defaults?: object): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${name} must be an object`];
  if (defaults === undefined) return [];
  return Object.keys(value)
    .filter((k) => !Object.hasOwn(defaults, k))
    .map((k) => `unknown config key ${name}.${k}`);
}

function describeError(e: unknown): string {
  try {
    return e instanceof Error ? String(e.message) : typeof e;
  } catch {
    return 'unreadable error';
  }
}

/**
 * Validates a plugin configuration up front and returns it frozen, defaults filled in.
 * Throws one `INVALID_CONFIG` error whose `details.problems` lists every problem found.
 *
 * @example
 * ```ts
 * resolveRiskConfig({ stops: { policy: { rules: [{ kind: 'PERCENT', percent: 2 }] } } });
 * ```
 */
export function resolveRiskConfig(config: unknown = {}): ResolvedRiskConfig {
  try {
    return resolve(config);
  } catch (e) {
    if (isBulwarkError(e, 'INVALID_CONFIG')) throw e;
    // A config that cannot even be read (a getter or proxy trap that throws, a function or a
    // symbol where data belongs, nesting too deep to clone) is invalid too: one INVALID_CONFIG,
    // never a TypeError, RangeError or DataCloneError.
    const problem = `config could not be read as plain data: ${describeError(e)}`;
    throw new BulwarkError('INVALID_CONFIG', `invalid risk plugin config: ${problem}`, { problems: [problem] });
  }
}

function resolve(config: unknown): ResolvedRiskConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new BulwarkError('INVALID_CONFIG', 'config must be an object', { problems: ['config must be an object'] });
  }
  const c = config as RiskPluginConfig;
  const problems: string[] = [];
  const known = new Set([
    'name',
    'build',
    'limits',
    'stops',
    'drawdown',
    'anomalyReduceMs',
    'anomaly',
    'shadow',
    'preTrade',
    'protections',
    'sizing',
  ]);
  for (const key of Object.keys(c)) if (!known.has(key)) problems.push(`unknown config key ${key}`);
  problems.push(
    ...sectionProblems('limits', c.limits, DEFAULT_RISK_LIMITS),
    ...sectionProblems('stops', c.stops, DEFAULT_STOPS),
    ...sectionProblems('drawdown', c.drawdown, DEFAULT_LADDER),
    ...sectionProblems('anomaly', c.anomaly), // its keys are checked by resolveAnomalyConfig
  );
  const resolved: ResolvedRiskConfig = {
    // Only a missing field takes the default: null is a problem, as in the anomaly config.
    name: c.name === undefined ? 'bulwark' : c.name,
    build: c.build === undefined ? 'release' : c.build,
    limits: { ...DEFAULT_RISK_LIMITS, ...c.limits },
    stops: { ...DEFAULT_STOPS, ...c.stops, reconcile: { ...DEFAULT_STOPS.reconcile, ...(c.stops?.reconcile ?? {}) } },
    drawdown: { ...DEFAULT_LADDER, ...c.drawdown },
    anomalyReduceMs: c.anomalyReduceMs === undefined ? 15 * 60_000 : c.anomalyReduceMs,
    anomaly: { ...c.anomaly },
    shadow: c.shadow === undefined ? false : c.shadow,
    preTrade: { ...c.preTrade },
    protections: { sessionStart: '00:00Z', ...c.protections },
    ...(c.sizing === undefined ? {} : { sizing: { ...c.sizing } }),
  };
  if (typeof resolved.name !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(resolved.name))
    problems.push('name must be 1-32 characters of [A-Za-z0-9._-]');
  if (!['release', 'scalar', 'debug'].includes(resolved.build)) problems.push('build must be release, scalar or debug');
  if (!Number.isSafeInteger(resolved.anomalyReduceMs) || resolved.anomalyReduceMs < 0)
    problems.push('anomalyReduceMs must be an integer ≥ 0');
  if (typeof resolved.shadow !== 'boolean') problems.push('shadow must be true or false');
  problems.push(
    ...limitsProblems(resolved.limits),
    ...stopsProblems(resolved.stops),
    ...ladderProblems(resolved.drawdown),
  );
  problems.push(...anomalyProblems(resolved.anomaly, resolved.limits.maxSymbols));
  problems.push(...preTradeProblems(c.preTrade), ...protectionsProblems(c.protections), ...sizingProblems(c.sizing));
  if (problems.length > 0)
    throw new BulwarkError('INVALID_CONFIG', `invalid risk plugin config: ${problems.join('; ')}`, { problems });
  return freezeDeep(structuredClone(resolved));
}
