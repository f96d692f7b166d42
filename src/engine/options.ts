import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../validation/fields.js';
import { EngineError } from './errors.js';
import type { PluginFailed } from './plugin.js';
import type { OrderService } from '../vocabulary/services.js';

/** When a MARKET order fills. */
export type MarketFillMode =
  | 'NEXT_OPEN' // at the open of the symbol's next bar (default; no look-ahead)
  | 'CURRENT_CLOSE'; // at the close of the symbol's bar in the batch the order was sent in

/** Options of the reference {@link Engine}. Every resource bound has a finite default. */
export interface EngineOptions {
  /** Cash at start, > 0. Default 1 000 000. */
  readonly startingCash?: number;
  /** Default `'NEXT_OPEN'`. */
  readonly marketFill?: MarketFillMode;
  /** Bounds on bar fields; defaults {@link DEFAULT_INPUT_LIMITS}. */
  readonly limits?: Partial<InputLimits>;
  /** Distinct symbols one replay accepts; bars of further symbols are rejected `SYMBOL_LIMIT`. Default 10 000. */
  readonly maxSymbols?: number;
  /** Orders working at once (submitted and protective); beyond it orders are refused. Default 10 000. */
  readonly maxWorkingOrders?: number;
  /** Finished orders remembered for duplicate-id checks and idempotent retries. Default 100 000. */
  readonly maxOrderHistory?: number;
  /** Longest CSV line accepted, in characters; longer lines are rejected `MALFORMED_RECORD`. Default 4096. */
  readonly maxCsvLineLength?: number;
  /** Told about every plugin failure (after it is counted). Must not throw. */
  readonly onPluginError?: (event: PluginFailed) => void;
  /**
   * Where plugins' protective commands go (`ctx.orders`): a real broker's order path. Default:
   * the engine's own fill simulation. Fills of those orders come back through
   * {@link Engine.applyFill}; the strategy's own orders are still simulated by the engine.
   */
  readonly protectiveOrders?: OrderService;
}

/** {@link EngineOptions} with every default filled in, frozen. */
export interface ResolvedEngineOptions {
  readonly startingCash: number;
  readonly marketFill: MarketFillMode;
  readonly limits: InputLimits;
  readonly maxSymbols: number;
  readonly maxWorkingOrders: number;
  readonly maxOrderHistory: number;
  readonly maxCsvLineLength: number;
  readonly onPluginError: ((event: PluginFailed) => void) | undefined;
}

/** Defaults of {@link EngineOptions}. */
export const DEFAULT_ENGINE_OPTIONS = Object.freeze({
  startingCash: 1_000_000,
  marketFill: 'NEXT_OPEN',
  maxSymbols: 10_000,
  maxWorkingOrders: 10_000,
  maxOrderHistory: 100_000,
  maxCsvLineLength: 4096,
});

function positiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function positiveFinite(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

/**
 * Validates options up front and fills in defaults. Reports every problem at once in one
 * `INVALID_ENGINE_OPTION` error (`details.problems`).
 *
 * @example
 * ```ts
 * resolveEngineOptions({ startingCash: 50_000 }).maxSymbols; // 10000
 * ```
 */
export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  const o = { ...DEFAULT_ENGINE_OPTIONS, ...options };
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...options.limits };
  const problems: string[] = [];
  if (!positiveFinite(o.startingCash)) problems.push('startingCash must be a finite number > 0');
  const marketFill: string = o.marketFill; // untyped (JavaScript) callers reach here too
  if (marketFill !== 'NEXT_OPEN' && marketFill !== 'CURRENT_CLOSE')
    problems.push("marketFill must be 'NEXT_OPEN' or 'CURRENT_CLOSE'");
  for (const key of ['maxSymbols', 'maxWorkingOrders', 'maxOrderHistory', 'maxCsvLineLength'] as const) {
    if (!positiveInt(o[key])) problems.push(`${key} must be a positive integer`);
  }
  if (!positiveInt(limits.maxSymbolLength)) problems.push('limits.maxSymbolLength must be a positive integer');
  if (!positiveFinite(limits.maxPrice)) problems.push('limits.maxPrice must be a finite number > 0');
  if (!positiveFinite(limits.maxQuantity)) problems.push('limits.maxQuantity must be a finite number > 0');
  if (options.onPluginError !== undefined && typeof options.onPluginError !== 'function')
    problems.push('onPluginError must be a function');
  if (problems.length > 0) throw new EngineError('INVALID_ENGINE_OPTION', problems.join('; '), { problems });
  return Object.freeze({
    startingCash: o.startingCash,
    marketFill: o.marketFill,
    limits: Object.freeze(limits),
    maxSymbols: o.maxSymbols,
    maxWorkingOrders: o.maxWorkingOrders,
    maxOrderHistory: o.maxOrderHistory,
    maxCsvLineLength: o.maxCsvLineLength,
    onPluginError: options.onPluginError,
  });
}
