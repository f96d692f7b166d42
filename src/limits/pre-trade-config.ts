import type { DailyLossLimitConfig } from './daily-loss.js';
import type { StoplossGuardConfig } from './stop-out-guard.js';

/**
 * Pre-trade limits (`preTrade` in the plugin's config): every one is off unless configured.
 * Notional is |quantity| × price, in the account's currency.
 */
export interface PreTradeConfig {
  /** |quantity × price| of one order (price: its limit or stop price, else the last accepted close). */
  readonly maxOrderNotional?: number;
  /** The position after the order, per symbol (notional at the symbol's mark). */
  readonly maxPositionNotional?: number;
  /** Per-symbol overrides of `maxPositionNotional`. */
  readonly positionNotionalBySymbol?: Readonly<Record<string, number>>;
  /** Named groups of symbols (a sector, a strategy's book), for `maxGroupNotional`. */
  readonly groups?: Readonly<Record<string, readonly string[]>>;
  /** Σ |position notional| of a group's symbols after the order, per group. */
  readonly maxGroupNotional?: Readonly<Record<string, number>>;
  /** Σ |position notional| over every symbol after the order. */
  readonly maxGrossExposure?: number;
  /** |Σ signed position notional| after the order. */
  readonly maxNetExposure?: number;
  /** Open positions after the order (a new position counts one). */
  readonly maxOpenPositions?: number;
  /** A limit or stop price further than this many percent from the last accepted close is refused. */
  readonly priceBandPercent?: number;
  /** Entries allowed per session day (see `protections.sessionStart`): a runaway-loop guard. */
  readonly maxOrdersPerDay?: number;
}

/** When a session day begins, and the protections that count by it. */
export interface ProtectionsConfig {
  /**
   * Loss from the session's starting equity (open P&L included) that halts entries until the
   * next session: `{ fraction: 0.03 }` of that equity, or `{ amount: 30_000 }`.
   */
  readonly dailyLossLimit?: DailyLossLimitConfig;
  /** UTC time of day a session begins, `HH:MMZ`. Default `00:00Z`. */
  readonly sessionStart?: string;
  /** `stopOuts` stop-outs within `withinMs` lock entries for `lockMs`, per symbol or across all (`scope`). */
  readonly stoplossGuard?: StoplossGuardConfig;
  /** No re-entry in a symbol this long after one of its stops executed (ms). */
  readonly cooldownAfterExitMs?: number;
}

/** The most symbols one group may list, and the most groups. */
export const MAX_GROUP_SYMBOLS = 10_000;
export const MAX_GROUPS = 1_000;

const PRE_TRADE_KEYS = new Set([
  'maxOrderNotional',
  'maxPositionNotional',
  'positionNotionalBySymbol',
  'groups',
  'maxGroupNotional',
  'maxGrossExposure',
  'maxNetExposure',
  'maxOpenPositions',
  'priceBandPercent',
  'maxOrdersPerDay',
]);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** `HH:MMZ` as ms after midnight UTC, or undefined when it is not one. */
export function sessionOffsetMs(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)Z$/.exec(text);
  return m === null ? undefined : (Number(m[1]) * 60 + Number(m[2])) * 60_000;
}

const DAY_MS = 86_400_000;

/** The session day of time `t` (epoch ms), sessions beginning `offsetMs` after midnight UTC. */
export function sessionDayOf(t: number, offsetMs: number): number {
  return Math.floor((t - offsetMs) / DAY_MS);
}

/** When session day `day` begins (epoch ms). */
export function sessionStartOf(day: number, offsetMs: number): number {
  return day * DAY_MS + offsetMs;
}

/** Every problem with a `preTrade` section (empty when it is valid or absent). */
export function preTradeProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return ['preTrade must be an object'];
  const p: string[] = [];
  for (const k of Object.keys(value)) if (!PRE_TRADE_KEYS.has(k)) p.push(`unknown config key preTrade.${k}`);
  for (const k of ['maxOrderNotional', 'maxPositionNotional', 'maxGrossExposure', 'maxNetExposure', 'priceBandPercent'])
    if (value[k] !== undefined && !positive(value[k])) p.push(`preTrade.${k} must be a finite number > 0`);
  for (const k of ['maxOpenPositions', 'maxOrdersPerDay'])
    if (value[k] !== undefined && !(Number.isSafeInteger(value[k]) && (value[k] as number) > 0))
      p.push(`preTrade.${k} must be an integer > 0`);
  const bySymbol = value['positionNotionalBySymbol'];
  if (bySymbol !== undefined) {
    if (!isRecord(bySymbol)) p.push('preTrade.positionNotionalBySymbol must be an object');
    else
      for (const [s, n] of Object.entries(bySymbol))
        if (!positive(n)) p.push(`preTrade.positionNotionalBySymbol.${s} must be a finite number > 0`);
  }
  const groups = value['groups'];
  const names = new Set<string>();
  if (groups !== undefined) {
    if (!isRecord(groups)) p.push('preTrade.groups must be an object');
    else {
      if (Object.keys(groups).length > MAX_GROUPS) p.push(`preTrade.groups may name at most ${MAX_GROUPS} groups`);
      for (const [name, list] of Object.entries(groups)) {
        names.add(name);
        if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.length > 0))
          p.push(`preTrade.groups.${name} must be an array of symbols`);
        else if (list.length > MAX_GROUP_SYMBOLS)
          p.push(`preTrade.groups.${name} may list at most ${MAX_GROUP_SYMBOLS} symbols`);
      }
    }
  }
  const byGroup = value['maxGroupNotional'];
  if (byGroup !== undefined) {
    if (!isRecord(byGroup)) p.push('preTrade.maxGroupNotional must be an object');
    else
      for (const [g, n] of Object.entries(byGroup)) {
        if (!names.has(g)) p.push(`preTrade.maxGroupNotional.${g} names no group in preTrade.groups`);
        if (!positive(n)) p.push(`preTrade.maxGroupNotional.${g} must be a finite number > 0`);
      }
  }
  return p;
}

/** Every problem with a `protections` section (empty when it is valid or absent). */
export function protectionsProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return ['protections must be an object'];
  const p: string[] = [];
  for (const k of Object.keys(value))
    if (!['sessionStart', 'dailyLossLimit', 'stoplossGuard', 'cooldownAfterExitMs'].includes(k))
      p.push(`unknown config key protections.${k}`);
  const cool = value['cooldownAfterExitMs'];
  if (cool !== undefined && !(Number.isSafeInteger(cool) && (cool as number) > 0))
    p.push('protections.cooldownAfterExitMs must be an integer > 0 (ms)');
  const guard = value['stoplossGuard'];
  if (guard !== undefined) {
    if (!isRecord(guard)) p.push('protections.stoplossGuard must be an object');
    else {
      for (const k of Object.keys(guard))
        if (!['stopOuts', 'withinMs', 'lockMs', 'scope'].includes(k))
          p.push(`unknown config key protections.stoplossGuard.${k}`);
      for (const k of ['stopOuts', 'withinMs', 'lockMs'])
        if (!(Number.isSafeInteger(guard[k]) && (guard[k] as number) > 0))
          p.push(`protections.stoplossGuard.${k} must be an integer > 0`);
      if (guard['scope'] !== 'SYMBOL' && guard['scope'] !== 'ALL')
        p.push('protections.stoplossGuard.scope must be SYMBOL or ALL');
      if (Number.isSafeInteger(guard['stopOuts']) && (guard['stopOuts'] as number) > 1_000)
        p.push('protections.stoplossGuard.stopOuts must be ≤ 1000');
    }
  }
  const loss = value['dailyLossLimit'];
  if (loss !== undefined) {
    const keys = isRecord(loss) ? Object.keys(loss) : [];
    const ok =
      isRecord(loss) &&
      keys.length === 1 &&
      ((keys[0] === 'fraction' && positive(loss['fraction']) && loss['fraction'] < 1) ||
        (keys[0] === 'amount' && positive(loss['amount'])));
    if (!ok) p.push('protections.dailyLossLimit must be { fraction } in (0, 1) or { amount } > 0');
  }
  const start = value['sessionStart'];
  if (start !== undefined && (typeof start !== 'string' || sessionOffsetMs(start) === undefined))
    p.push('protections.sessionStart must be a UTC time of day, HH:MMZ (e.g. 00:00Z)');
  return p;
}

/** Every problem with a `sizing` section (empty when it is valid or absent). */
export function sizingProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return ['sizing must be an object'];
  const p: string[] = [];
  for (const k of Object.keys(value))
    if (k !== 'riskFraction' && k !== 'maxFractionOfEquity') p.push(`unknown config key sizing.${k}`);
  const r = value['riskFraction'];
  if (!positive(r) || r >= 1) p.push('sizing.riskFraction must be in (0, 1)');
  const m = value['maxFractionOfEquity'];
  if (m !== undefined && !positive(m)) p.push('sizing.maxFractionOfEquity must be a finite number > 0');
  return p;
}
