import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decimalsOf,
  formatDecimal,
  roundQuantity,
  roundStopPrice,
  roundToStep,
  type RoundingMode,
} from '../../src/egress/decimal.js';
import { isBulwarkError } from '../../src/index.js';

// The reference below works on exact decimals held as BigInt scaled integers (`units` of
// 10^-scale), parsed from text: no floating point anywhere in it. The functions under test
// get the nearest doubles of those decimals, and their text output is compared with the
// reference's, exactly.

interface Dec {
  readonly units: bigint;
  readonly scale: number;
}

/** An exact decimal from plain text ('-12.340', '0.00000001', '5'). */
function dec(text: string): Dec {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (m === null) throw new Error(`not a plain decimal: ${text}`);
  const fraction = m[3] ?? '';
  const units = BigInt((m[2] as string) + fraction);
  return { units: m[1] === '-' ? -units : units, scale: fraction.length };
}

/** `units × 10^-scale` as text with exactly `scale` decimals. */
function text(units: bigint, scale: number): string {
  const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
  const body =
    scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return units < 0n ? `-${body}` : body;
}

/** ⌊a / b⌋ for b > 0 (BigInt division truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/**
 * The reference: value (units at `scale`, scale ≥ the step's) rounded to a multiple of the
 * step, DOWN toward −∞, UP toward +∞, NEAREST with exact halves away from zero; the result
 * as text with the step's decimals.
 */
function reference(value: Dec, stepText: string, mode: RoundingMode): string {
  const step = dec(stepText);
  const perStep = step.units * 10n ** BigInt(value.scale - step.scale); // the step, in the value's units
  const v = value.units;
  let k: bigint;
  if (mode === 'DOWN') k = floorDiv(v, perStep);
  else if (mode === 'UP') k = -floorDiv(-v, perStep);
  else k = v >= 0n ? floorDiv(2n * v + perStep, 2n * perStep) : -floorDiv(-2n * v + perStep, 2n * perStep);
  return text(k * step.units, step.scale);
}

/** `t` at `scale` decimals (scale ≥ its own). */
function atScale(t: string, scale: number): bigint {
  const d = dec(t);
  return d.units * 10n ** BigInt(scale - d.scale);
}

const STEPS = ['0.01', '0.001', '1', '0.5', '0.25', '0.00000001', '5', '0.05', '0.0001', '10', '0.1'] as const;

/**
 * A step and an exact decimal value with 0 to 6 more decimals than the step, of at most
 * 10^(11 − extra) steps: small enough that a double tells every such value from the nearest
 * multiple of the step (the functions forgive only float error).
 */
const stepAndValue = (sign: 'ANY' | 'POSITIVE' | 'NON_NEGATIVE') =>
  fc.constantFrom(...STEPS).chain((stepText) =>
    fc.integer({ min: 0, max: 6 }).chain((extra) => {
      const step = dec(stepText);
      const scale = step.scale + extra;
      const limit = 10n ** BigInt(11 - extra) * step.units * 10n ** BigInt(extra);
      const min = sign === 'ANY' ? -limit : sign === 'POSITIVE' ? 1n : 0n;
      return fc.record({
        stepText: fc.constant(stepText),
        value: fc.bigInt({ min, max: limit }).map((units): Dec => ({ units, scale })),
      });
    }),
  );

const wire = /^-?\d+(\.\d+)?$/;

describe('decimalOf / formatDecimal / roundToStep / roundStopPrice / roundQuantity: known vectors (worked by hand)', () => {
  it('a protective stop rounds only to the tighter side: 98.098000001 at tick 0.01', () => {
    // 98.098000001 lies between 98.09 and 98.10. A SELL stop (below a long) tightens upward.
    expect(formatDecimal(roundStopPrice(98.098000001, 'SELL', 0.01), 0.01)).toBe('98.10');
    // A BUY stop (above a short) tightens downward.
    expect(formatDecimal(roundStopPrice(98.098000001, 'BUY', 0.01), 0.01)).toBe('98.09');
    // Already on the grid: unchanged either way.
    expect(roundStopPrice(98.1, 'SELL', 0.01)).toBe(98.1);
    expect(roundStopPrice(98.1, 'BUY', 0.01)).toBe(98.1);
  });

  it("prints with exactly the step's decimals, without float noise or exponents", () => {
    expect(formatDecimal(98.09800000000001, 0.001)).toBe('98.098'); // what String() sent before
    expect(formatDecimal(0.1 + 0.2, 0.01)).toBe('0.30'); // 0.30000000000000004
    expect(formatDecimal(1e-8, 1e-8)).toBe('0.00000001'); // String(1e-8) is '1e-8'
    expect(formatDecimal(5e-7, 1e-8)).toBe('0.00000050');
    expect(formatDecimal(12345.6789, 0.0001)).toBe('12345.6789');
    expect(formatDecimal(3, 1)).toBe('3');
    expect(formatDecimal(2.5, 0.5)).toBe('2.5');
    expect(formatDecimal(2.75, 0.25)).toBe('2.75');
    expect(formatDecimal(-1.5, 0.01)).toBe('-1.50');
    expect(formatDecimal(-0, 0.01)).toBe('0.00');
    expect(formatDecimal(1e20, 1e5)).toBe('100000000000000000000'); // String(1e21) would be '1e+21'
  });

  it('rounds to the step in each mode, a multiple up to float error staying put', () => {
    expect(roundToStep(0.3, 0.1, 'DOWN')).toBe(0.3); // 0.3 / 0.1 = 2.9999999999999996
    expect(roundToStep(0.1 + 0.2, 0.1, 'UP')).toBe(0.3); // 0.30000000000000004 / 0.1 = 3.0000000000000004
    expect(roundToStep(1.37, 0.25, 'DOWN')).toBe(1.25); // 5.48 steps
    expect(roundToStep(1.37, 0.25, 'UP')).toBe(1.5);
    expect(roundToStep(1.37, 0.25, 'NEAREST')).toBe(1.25);
    expect(roundToStep(1.375, 0.25, 'NEAREST')).toBe(1.5); // 5.5 steps: away from zero
    expect(roundToStep(0.005, 0.01, 'NEAREST')).toBe(0.01); // a decimal half, whatever the double says
    expect(roundToStep(-0.005, 0.01, 'NEAREST')).toBe(-0.01);
    expect(roundToStep(-1.37, 0.25, 'DOWN')).toBe(-1.5); // toward −∞
    expect(Object.is(roundToStep(-0.001, 0.01, 'UP'), 0)).toBe(true); // no '-0.00'
    expect(roundToStep(98.098, 0.001, 'NEAREST')).toBe(98.098);
  });

  it('quantities round DOWN to the lot', () => {
    expect(roundQuantity(0.123456789, 0.001)).toBe(0.123);
    expect(roundQuantity(2.9999999999999996, 1)).toBe(3); // 3 up to float error, not 2
    expect(roundQuantity(0.0009, 0.001)).toBe(0);
    expect(roundQuantity(7.99, 0.5)).toBe(7.5);
  });

  it('decimalsOf counts the decimals of the step as written', () => {
    expect([0.01, 0.001, 1, 0.5, 0.25, 1e-8, 2.5e-7, 5, 10, 1e21].map(decimalsOf)).toEqual([
      2, 3, 0, 1, 2, 8, 8, 0, 0, 0,
    ]);
  });

  it('refuses bad input with INVALID_OPTION', () => {
    const bad: Array<() => unknown> = [
      () => formatDecimal(Number.NaN, 0.01),
      () => formatDecimal(1, 0),
      () => formatDecimal(1, -0.01),
      () => formatDecimal(1, Number.POSITIVE_INFINITY),
      () => formatDecimal(1.005, 0.01), // not a multiple: round it first, in a chosen direction
      () => roundToStep(Number.POSITIVE_INFINITY, 0.01, 'UP'),
      () => roundToStep(1, 0.01, 'SIDEWAYS' as RoundingMode),
      () => roundToStep(1e10, 1e-8, 'DOWN'), // 10^18 steps: more than a double counts exactly
      () => roundStopPrice(0, 'SELL', 0.01),
      () => roundStopPrice(-1, 'BUY', 0.01),
      () => roundStopPrice(1, 'HOLD' as 'BUY', 0.01),
      () => roundQuantity(-1, 1),
      () => roundQuantity(1, Number.NaN),
      () => decimalsOf(0),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    let caught: unknown;
    try {
      decimalsOf(-1);
    } catch (e) {
      caught = e;
    }
    expect(isBulwarkError(caught, 'INVALID_OPTION')).toBe(true); // a BulwarkError, by its type guard
  });
});

describe('decimal egress: properties against the exact BigInt reference', () => {
  it('roundToStep equals the reference in every mode; formatDecimal prints it exactly, parses back to it, and has no exponent', () => {
    fc.assert(
      fc.property(
        stepAndValue('ANY'),
        fc.constantFrom<RoundingMode>('DOWN', 'UP', 'NEAREST'),
        ({ stepText, value }, mode) => {
          const step = Number(stepText);
          const want = reference(value, stepText, mode);
          const got = roundToStep(Number(text(value.units, value.scale)), step, mode);
          const printed = formatDecimal(got, step);
          expect(printed).toBe(want);
          expect(printed).toMatch(wire);
          expect(printed).not.toMatch(/e/i);
          expect(dec(printed).scale).toBe(dec(stepText).scale);
          expect(Number(printed)).toBe(got);
          expect(got).toBe(Number(want));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('roundStopPrice: a SELL stop is ≥ the price and a BUY stop ≤ it, less than one tick away, on the tick grid', () => {
    fc.assert(
      fc.property(stepAndValue('POSITIVE'), ({ stepText, value: price }) => {
        const tick = dec(stepText);
        const tickAtScale = tick.units * 10n ** BigInt(price.scale - tick.scale);
        for (const side of ['SELL', 'BUY'] as const) {
          const printed = formatDecimal(
            roundStopPrice(Number(text(price.units, price.scale)), side, Number(stepText)),
            Number(stepText),
          );
          const stop = atScale(printed, price.scale);
          expect(dec(printed).units % tick.units).toBe(0n); // a multiple of the tick
          if (side === 'SELL') {
            expect(stop >= price.units).toBe(true);
            expect(stop - price.units < tickAtScale).toBe(true);
          } else {
            expect(stop <= price.units).toBe(true);
            expect(price.units - stop < tickAtScale).toBe(true);
          }
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('roundQuantity: never more than asked, less than one lot below, on the lot grid', () => {
    fc.assert(
      fc.property(stepAndValue('NON_NEGATIVE'), ({ stepText, value: quantity }) => {
        const lot = dec(stepText);
        const printed = formatDecimal(
          roundQuantity(Number(text(quantity.units, quantity.scale)), Number(stepText)),
          Number(stepText),
        );
        const q = atScale(printed, quantity.scale);
        expect(dec(printed).units % lot.units).toBe(0n);
        expect(q <= quantity.units).toBe(true);
        expect(quantity.units - q < lot.units * 10n ** BigInt(quantity.scale - lot.scale)).toBe(true);
        expect(printed).toBe(reference(quantity, stepText, 'DOWN'));
      }),
      { numRuns: 2_000 },
    );
  });

  it('a multiple of the step computed in floating point (k × step) is that multiple in every mode and prints cleanly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STEPS), fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), (stepText, k) => {
        const step = dec(stepText);
        const want = text(BigInt(k) * step.units, step.scale);
        const noisy = [k * Number(stepText), (k * Number(step.units)) / 10 ** step.scale];
        for (const x of noisy) {
          expect(formatDecimal(x, Number(stepText))).toBe(want);
          for (const mode of ['DOWN', 'UP', 'NEAREST'] as const)
            expect(roundToStep(x, Number(stepText), mode)).toBe(Number(want));
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('decimalsOf agrees with the decimals the step is written with', () => {
    for (const s of STEPS) expect(decimalsOf(Number(s))).toBe(dec(s).scale);
  });
});

describe('wire', () => {
  it('prints a number as a plain decimal of at most 12 places: no exponent, no float noise', async () => {
    const { wire } = await import('../../src/egress/decimal.js');
    expect(wire(98.09800000000001)).toBe('98.098');
    expect(wire(0.1 + 0.2)).toBe('0.3');
    expect(wire(1e-7)).toBe('0.0000001');
    expect(wire(100)).toBe('100');
    expect(wire(1000)).toBe('1000');
    expect(wire(123456789.5)).toBe('123456789.5');
    expect(() => wire(Number.NaN)).toThrow(/INVALID_OPTION/);
    expect(() => wire(-1)).toThrow(/INVALID_OPTION/);
  });
});
