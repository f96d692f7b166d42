import { BulwarkError } from '../errors.js';
import { at } from '../util/indexed.js';

/**
 * Prices and quantities for the wire. The protocol carries them as decimal strings;
 * `String(float)` prints float noise (`98.09800000000001`) or exponents (`1e-8`). Here a
 * value is counted in whole steps (tick or lot), and the count times the step is written in
 * exact decimal arithmetic (BigInt), so the text has exactly the step's decimals and the
 * number returned is the double nearest that decimal.
 *
 * A quotient `value / step` within float error of a whole number (32 ulps of it, and at
 * most a thousandth of a step) is taken as that number: `0.3 / 0.1` is 3, not 2.9999…
 * Counts beyond 2^53 steps cannot be exact and are refused.
 */

/** Relative float error, in steps, forgiven in `value / step`: 32 ulps of the quotient. */
const SNAP_RELATIVE = 2 ** -48;
/** …but never more than this many steps (large quotients). */
const SNAP_MAX = 2 ** -10;

/** How a value between two multiples of the step is rounded. */
export type RoundingMode = 'DOWN' | 'UP' | 'NEAREST';

const MODES: readonly RoundingMode[] = ['DOWN', 'UP', 'NEAREST'];

function invalid(message: string, details: Record<string, unknown>): BulwarkError {
  return new BulwarkError('INVALID_OPTION', message, details);
}

function checkFinite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid(`${name} must be a finite number, got ${String(value)}`, { [name]: value });
  return value;
}

function checkStep(step: unknown): number {
  if (typeof step !== 'number' || !Number.isFinite(step) || !(step > 0))
    throw invalid(`step must be a finite number > 0, got ${String(step)}`, { step });
  return step;
}

/** `x` (finite, ≥ 0) as `digits × 10^exp10`, read exactly from its shortest round-trip text. */
function decimalParts(x: number): { readonly digits: bigint; readonly exp10: number } {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(x)) as RegExpExecArray;
  const fraction = m[2] ?? '';
  return { digits: BigInt(at(m, 1) + fraction), exp10: Number(m[3] ?? '0') - fraction.length };
}

/**
 * The number of decimals of `step` as written in its shortest form: 0.01 → 2, 0.25 → 2,
 * 0.5 → 1, 1 → 0, 5 → 0, 1e-8 → 8, 2.5e-7 → 8. Throws `INVALID_OPTION` unless `step` is
 * finite and > 0.
 *
 * @example
 * ```ts
 * decimalsOf(0.001); // 3
 * ```
 */
export function decimalsOf(step: number): number {
  return Math.max(0, -decimalParts(checkStep(step)).exp10);
}

/** The step as a whole number of units of 10^-decimals. */
function stepUnits(step: number, decimals: number): bigint {
  const { digits, exp10 } = decimalParts(step);
  return digits * 10n ** BigInt(exp10 + decimals);
}

/** `units × 10^-decimals` as text: no exponent, exactly `decimals` digits after the point. */
function unitsToText(units: bigint, decimals: number): string {
  const negative = units < 0n;
  let text = (negative ? -units : units).toString();
  if (decimals > 0) {
    text = text.padStart(decimals + 1, '0');
    text = `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
  }
  return negative ? `-${text}` : text;
}

/**
 * `value / step` as a whole number of steps: the nearest one when within float error of
 * it (see the module note), else rounded by `mode`; undefined for a value that is not a
 * multiple when no mode is given.
 */
function stepsIn(value: number, step: number, mode: RoundingMode): number;
function stepsIn(value: number, step: number, mode: undefined): number | undefined;
function stepsIn(value: number, step: number, mode: RoundingMode | undefined): number | undefined {
  const q = value / step;
  if (!(Math.abs(q) <= Number.MAX_SAFE_INTEGER)) {
    throw invalid(`${value} is more than 2^53 steps of ${step}: not exact in a double`, { value, step });
  }
  const tolerance = Math.min(Math.max(1, Math.abs(q)) * SNAP_RELATIVE, SNAP_MAX);
  const whole = Math.round(q);
  if (Math.abs(q - whole) <= tolerance) return whole;
  switch (mode) {
    case undefined:
      return undefined;
    case 'DOWN':
      return Math.floor(q);
    case 'UP':
      return Math.ceil(q);
    case 'NEAREST': {
      // Half a step (within float error) goes away from zero.
      const half = Math.floor(q) + 0.5;
      if (Math.abs(q - half) <= tolerance) return q > 0 ? Math.ceil(q) : Math.floor(q);
      return Math.round(q);
    }
  }
}

/** `steps × step`, exactly, as text with the step's decimals. */
function stepsToText(steps: number, step: number): string {
  const decimals = decimalsOf(step);
  return unitsToText(BigInt(steps) * stepUnits(step, decimals), decimals);
}

/**
 * `value`, a multiple of `step` up to float error, written with exactly the decimals of
 * `step`, without exponent or float noise: for the protocol's decimal strings. Throws
 * `INVALID_OPTION` for a non-finite value, a step that is not finite and > 0, or a value
 * that is not a multiple of the step (round it first: {@link roundToStep},
 * {@link roundStopPrice}, {@link roundQuantity}).
 *
 * @example
 * ```ts
 * formatDecimal(98.09800000000001, 0.001); // '98.098'
 * formatDecimal(98.1, 0.01);               // '98.10'
 * formatDecimal(5e-7, 1e-8);               // '0.00000050'
 * ```
 */
export function formatDecimal(value: number, step: number): string {
  checkFinite('value', value);
  checkStep(step);
  const steps = stepsIn(value, step, undefined);
  if (steps === undefined) throw invalid(`${value} is not a multiple of ${step}`, { value, step });
  return stepsToText(steps, step);
}

/**
 * `value` rounded to a multiple of `step`: `DOWN` towards −∞, `UP` towards +∞, `NEAREST`
 * with half a step away from zero. A value already a multiple up to float error stays
 * that multiple (`0.3` with step `0.1` is 0.3 in every mode). The result is the double
 * nearest the exact decimal, so {@link formatDecimal} prints it cleanly. Throws
 * `INVALID_OPTION` for a non-finite value, a step that is not finite and > 0, or an
 * unknown mode.
 *
 * @example
 * ```ts
 * roundToStep(1.37, 0.25, 'NEAREST'); // 1.25
 * roundToStep(0.1 + 0.2, 0.1, 'UP');  // 0.3
 * ```
 */
export function roundToStep(value: number, step: number, mode: RoundingMode): number {
  checkFinite('value', value);
  checkStep(step);
  if (!MODES.includes(mode)) throw invalid(`mode must be one of ${MODES.join(', ')}, got ${String(mode)}`, { mode });
  return Number(stepsToText(stepsIn(value, step, mode), step));
}

/**
 * A protective stop price on the tick grid, rounded only towards the tighter side: a SELL
 * stop (protecting a long) rounds UP, a BUY stop (protecting a short) rounds DOWN, so
 * rounding never loosens the protection (and moves it by less than one tick). `price` must
 * be finite and > 0; a BUY stop below one tick rounds to 0, which no venue accepts. Throws
 * `INVALID_OPTION` otherwise, or for a bad tick or side.
 *
 * @example
 * ```ts
 * roundStopPrice(98.098000001, 'SELL', 0.01); // 98.1  (formatDecimal: '98.10')
 * roundStopPrice(98.098000001, 'BUY', 0.01);  // 98.09
 * ```
 */
export function roundStopPrice(price: number, side: 'BUY' | 'SELL', tick: number): number {
  if (!(checkFinite('price', price) > 0)) throw invalid(`price must be > 0, got ${price}`, { price });
  const given: string = side; // untyped (JavaScript) callers reach here too
  if (given !== 'BUY' && given !== 'SELL') throw invalid(`side must be BUY or SELL, got ${given}`, { side });
  return roundToStep(price, tick, side === 'SELL' ? 'UP' : 'DOWN');
}

/**
 * A quantity rounded DOWN to the lot step (never more than asked). `quantity` must be
 * finite and ≥ 0; one below a lot rounds to 0. Throws `INVALID_OPTION` otherwise, or for
 * a bad lot.
 *
 * @example
 * ```ts
 * roundQuantity(0.123456789, 0.001); // 0.123
 * ```
 */
export function roundQuantity(quantity: number, lot: number): number {
  if (!(checkFinite('quantity', quantity) >= 0)) throw invalid(`quantity must be ≥ 0, got ${quantity}`, { quantity });
  return roundToStep(quantity, lot, 'DOWN');
}

/**
 * A number as the wire carries it when no step is known (the order path's last line of
 * defence; the stop reconciler rounds to the instrument's tick and lot first): a plain
 * decimal string of at most 12 places, no exponent, no float noise (`0.1 + 0.2` → `'0.3'`).
 *
 * @example
 * ```ts
 * wire(98.09800000000001); // '98.098'
 * ```
 */
export function wire(value: number): string {
  if (!Number.isFinite(value) || value < 0 || value >= 1e21)
    throw new BulwarkError('INVALID_OPTION', `cannot put ${String(value)} on the wire`, { value });
  return value.toFixed(12).replace(/\.?0+$/, '');
}
