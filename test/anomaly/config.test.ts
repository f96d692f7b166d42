import { describe, expect, it } from 'vitest';
import { DEFAULT_ANOMALY_CONFIG, resolveAnomalyConfig, type AnomalyConfigInput } from '../../src/anomaly/index.js';
import { type BulwarkError, isBulwarkError } from '../../src/index.js';

function problemsOf(input: unknown): string[] {
  try {
    resolveAnomalyConfig(input as AnomalyConfigInput);
  } catch (e) {
    expect(isBulwarkError(e, 'INVALID_OPTION')).toBe(true);
    return (e as BulwarkError).details['problems'] as string[];
  }
  throw new Error('expected INVALID_OPTION');
}

describe('anomaly config', () => {
  it('defaults are finite, frozen all the way down, and what an empty input resolves to', () => {
    const c = resolveAnomalyConfig();
    expect(c).toEqual(DEFAULT_ANOMALY_CONFIG);
    for (const v of Object.values(c)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    expect(c.maxSymbols).toBe(10_000);
    expect(c.spikeWindow).toBe(60);
    expect(c.staleAfterMs).toBe(300_000);
    for (const cfg of [c, DEFAULT_ANOMALY_CONFIG]) {
      expect(Object.isFrozen(cfg)).toBe(true);
      expect(Object.isFrozen(cfg.actions)).toBe(true);
      for (const list of Object.values(cfg.actions)) expect(Object.isFrozen(list)).toBe(true);
    }
  });

  it('overrides merge into the defaults; the result is frozen and does not alias the caller’s arrays', () => {
    const mine = ['TIGHTEN_STOPS', 'REDUCE'] as const;
    const input = { maxSymbols: 500, actions: { VOLUME_SPIKE: [...mine] } };
    const c = resolveAnomalyConfig(input);
    expect(c.maxSymbols).toBe(500);
    expect(c.priceZ).toBe(8);
    expect(c.actions.VOLUME_SPIKE).toEqual(mine);
    expect(c.actions.PRICE_SPIKE).toEqual(['QUARANTINE']);
    input.actions.VOLUME_SPIKE.pop();
    expect(c.actions.VOLUME_SPIKE).toEqual(mine);
    expect(() => {
      (c as { maxSymbols: number }).maxSymbols = 1;
    }).toThrow(TypeError);
    expect(() => (c.actions.VOLUME_SPIKE as string[]).push('QUARANTINE')).toThrow(TypeError);
  });

  it('one INVALID_OPTION error lists every problem at once', () => {
    const problems = problemsOf({
      maxSymbols: -1,
      spikeWindow: 2.5,
      priceZ: Number.NaN,
      volumeZ: null,
      staleAfterMs: Number.POSITIVE_INFINITY,
      correlationSymbols: 1,
      atrShortPeriod: 200, // ≥ atrLongPeriod 100
      regimeRearmRatio: 3, // ≥ regimeRatio 2
      breakRearm: 0.5, // ≥ breakThreshold 0.3
      minSamples: 100, // > default spikeWindow? spikeWindow is invalid here, so not compared
      badTickZ: 4, // < priceZ? priceZ is invalid here, so not compared
      bogus: true,
      actions: {
        VOLUME_SPIKE: ['QUARANTINE'],
        NOT_A_TYPE: [],
        PRICE_SPIKE: ['REDUCE', 'REDUCE'],
        STALE_FEED: 'REDUCE',
        BAD_TICK: ['SELL_EVERYTHING'],
      },
    });
    const expected = [
      /^unknown option bogus$/,
      /^maxSymbols must be an integer >= 1/,
      /^spikeWindow must be an integer >= 3/,
      /^priceZ must be a finite number > 0/,
      /^volumeZ must be a finite number > 0 .* got null$/,
      /^staleAfterMs must be a finite number > 0/,
      /^atrShortPeriod \(200\) must be < atrLongPeriod \(100\)$/,
      /^regimeRearmRatio \(3\) must be < regimeRatio \(2\)$/,
      /^breakRearm \(0.5\) must be < breakThreshold \(0.3\)$/,
      /^correlationSymbols must be 0 \(off\) or >= 2$/,
      /^actions.VOLUME_SPIKE cannot QUARANTINE/,
      /^actions.NOT_A_TYPE is not an anomaly type/,
      /^actions.PRICE_SPIKE lists REDUCE twice$/,
      /^actions.STALE_FEED must be an array/,
      /^actions.BAD_TICK has SELL_EVERYTHING/,
    ];
    for (const re of expected)
      expect(
        problems.some((p) => re.test(p)),
        `${re} in ${problems.join(' | ')}`,
      ).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  it('relations between valid fields are checked', () => {
    expect(problemsOf({ minSamples: 61 })).toEqual(['minSamples (61) must be <= spikeWindow (60)']);
    expect(problemsOf({ badTickZ: 7 })).toEqual(['badTickZ (7) must be >= priceZ (8)']);
    expect(problemsOf({ maxSymbols: 1_000_000, spikeWindow: 100 })[0]).toMatch(/maxSymbols × spikeWindow/);
    expect(problemsOf('nope')).toEqual(['the config must be an object']);
  });
});
