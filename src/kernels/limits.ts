import { BulwarkError } from '../errors.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/**
 * Finite bounds on every resource a kernel bank may take. Each has a documented default and
 * can be overridden per {@link loadKernels} call; a request over a bound throws
 * `LIMIT_EXCEEDED` before anything is allocated.
 */
export interface KernelLimits {
  /** Most symbols (series) in one ATR or drawdown bank. Default 10 000. */
  readonly maxSymbols: number;
  /** Most symbols in one correlation bank (memory grows with n²). Default 2 048. */
  readonly maxCorrelationSymbols: number;
  /** Longest ATR period. Default 10 000. */
  readonly maxPeriod: number;
  /** Longest drawdown or correlation window, in bars. Default 1 000 000. */
  readonly maxWindow: number;
  /** Most bytes of WASM memory one bank may take. Default 256 MiB. */
  readonly maxBankBytes: number;
  /** Largest accepted price or equity value; larger ones are rejected as inputs. Default 1e15. */
  readonly maxValue: number;
  /** Largest accepted absolute return; larger ones are rejected as inputs. Default 1e6. */
  readonly maxAbsReturn: number;
}

/** The defaults of {@link KernelLimits}. */
export const DEFAULT_KERNEL_LIMITS: KernelLimits = Object.freeze({
  maxSymbols: 10_000,
  maxCorrelationSymbols: 2_048,
  maxPeriod: 10_000,
  maxWindow: 1_000_000,
  maxBankBytes: 256 * 1024 * 1024,
  maxValue: 1e15,
  maxAbsReturn: 1e6,
});

const INTEGER_LIMITS = ['maxSymbols', 'maxCorrelationSymbols', 'maxPeriod', 'maxWindow', 'maxBankBytes'] as const;
/** The limits on counts the kernels take as 32-bit integers (a larger one would wrap on the way in). */
const COUNT_LIMITS = ['maxSymbols', 'maxCorrelationSymbols', 'maxPeriod', 'maxWindow'] as const;
/** Largest count a kernel parameter (an i32) holds. */
const MAX_KERNEL_INT = 2 ** 31 - 1;

/**
 * Merges overrides into the defaults, checking every field, and returns a frozen object.
 * Throws one `INVALID_OPTION` error that lists every problem.
 */
export function resolveLimits(overrides: Partial<KernelLimits> = {}): KernelLimits {
  const merged: KernelLimits = { ...DEFAULT_KERNEL_LIMITS, ...overrides };
  const problems: string[] = [];
  for (const key of INTEGER_LIMITS) {
    const p = positiveIntegerProblem(key, merged[key]);
    if (p !== undefined) problems.push(p);
  }
  if (merged.maxBankBytes > 2 ** 32) problems.push('maxBankBytes must not exceed 4 GiB, the wasm32 address space');
  for (const key of COUNT_LIMITS) {
    if (Number.isSafeInteger(merged[key]) && merged[key] > MAX_KERNEL_INT)
      problems.push(`${key} must not exceed ${MAX_KERNEL_INT}: kernels take 32-bit counts`);
  }
  for (const key of ['maxValue', 'maxAbsReturn'] as const) {
    const v = merged[key];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      problems.push(`${key} must be a finite positive number, got ${String(v)}`);
  }
  if (problems.length > 0) {
    throw new BulwarkError('INVALID_OPTION', `invalid kernel limits: ${problems.join('; ')}`, { problems });
  }
  return Object.freeze(merged);
}

/**
 * Checks that `value` is an integer in [min, max]. Throws `code` when it is not a number or
 * not an integer or below `min`; throws `LIMIT_EXCEEDED` when it is above `max`.
 */
export function checkInteger(
  code: 'INVALID_SIZE' | 'INVALID_PERIOD' | 'INVALID_WINDOW' | 'INVALID_OPTION',
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new BulwarkError(code, `${name} must be an integer >= ${min}, got ${String(value)}`, { [name]: value });
  }
  if (value > max) {
    throw new BulwarkError('LIMIT_EXCEEDED', `${name} ${value} exceeds the limit ${max}`, {
      [name]: value,
      limit: max,
    });
  }
  return value;
}

/**
 * Throws `LIMIT_EXCEEDED` when a bank would take more than `limits.maxBankBytes` (or its size
 * is not a number at all), before anything is allocated.
 */
export function checkBytes(bytes: number, limits: KernelLimits): number {
  if (!(bytes <= limits.maxBankBytes)) {
    throw new BulwarkError('LIMIT_EXCEEDED', `bank needs ${bytes} bytes, over maxBankBytes ${limits.maxBankBytes}`, {
      bytes,
      limit: limits.maxBankBytes,
    });
  }
  return bytes;
}
