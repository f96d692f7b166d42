import { describe, expect, it } from 'vitest';
import { candidateStop, isTighter, isTriggered, ruleStop, type StopInputs } from '../../src/stops/stop-rules.js';

const long: StopInputs = { side: 'LONG', entryPrice: 100, highWater: 110, lowWater: 95, close: 108, atr: 2 };
const short: StopInputs = { side: 'SHORT', entryPrice: 100, highWater: 105, lowWater: 90, close: 92, atr: 2 };

describe('stop rules, long and short', () => {
  it('FIXED is the given price for either side', () => {
    expect(ruleStop({ kind: 'FIXED', price: 97 }, long)).toBe(97);
    expect(ruleStop({ kind: 'FIXED', price: 103 }, short)).toBe(103);
  });

  it('PERCENT sits below a long and above a short entry', () => {
    expect(ruleStop({ kind: 'PERCENT', percent: 2 }, long)).toBeCloseTo(98, 12);
    expect(ruleStop({ kind: 'PERCENT', percent: 2 }, short)).toBeCloseTo(102, 12);
  });

  it('ATR multiple trails the close by k*ATR and has no opinion before ATR is seeded', () => {
    expect(ruleStop({ kind: 'ATR', multiple: 3 }, long)).toBeCloseTo(102, 12);
    expect(ruleStop({ kind: 'ATR', multiple: 3 }, short)).toBeCloseTo(98, 12);
    expect(ruleStop({ kind: 'ATR', multiple: 3 }, { ...long, atr: Number.NaN })).toBeNaN();
  });

  it('CHANDELIER hangs k*ATR from the highest high (long) / lowest low (short) since entry', () => {
    expect(ruleStop({ kind: 'CHANDELIER', multiple: 3 }, long)).toBeCloseTo(104, 12);
    expect(ruleStop({ kind: 'CHANDELIER', multiple: 3 }, short)).toBeCloseTo(96, 12);
  });

  it('TRAILING activates only after the favourable move, then trails the extreme', () => {
    const rule = { kind: 'TRAILING', percent: 5, activationPercent: 10 } as const;
    expect(ruleStop(rule, long)).toBeCloseTo(104.5, 12); // high water 110 = +10%
    expect(ruleStop(rule, { ...long, highWater: 109 })).toBeNaN(); // +9%: not yet
    expect(ruleStop(rule, short)).toBeCloseTo(94.5, 12); // low water 90 = +10% for a short
    expect(ruleStop(rule, { ...short, lowWater: 91 })).toBeNaN();
  });

  it('breakeven moves to entry + offset after the configured gain, and the tightest candidate wins', () => {
    const policy = {
      rules: [{ kind: 'PERCENT', percent: 5 }] as const,
      breakeven: { afterGainPercent: 5, offsetPercent: 0.5 },
    };
    expect(candidateStop(policy, long)).toBeCloseTo(100.5, 12); // gain 8% ≥ 5%
    expect(candidateStop(policy, { ...long, close: 104 })).toBeCloseTo(95, 12); // gain 4%: percent rule only
    expect(candidateStop(policy, short)).toBeCloseTo(99.5, 12);
    const many = {
      rules: [
        { kind: 'PERCENT', percent: 5 },
        { kind: 'CHANDELIER', multiple: 3 },
        { kind: 'ATR', multiple: 1 },
      ] as const,
    };
    expect(candidateStop(many, long)).toBeCloseTo(106, 12); // max of 95, 104, 106
    expect(candidateStop(many, short)).toBeCloseTo(94, 12); // min of 105, 96, 94
  });

  it('tighter and triggered are side-aware', () => {
    expect(isTighter('LONG', 99, 98)).toBe(true);
    expect(isTighter('LONG', 97, 98)).toBe(false);
    expect(isTighter('SHORT', 101, 102)).toBe(true);
    expect(isTighter('SHORT', 103, 102)).toBe(false);
    expect(isTighter('LONG', 1, Number.NaN)).toBe(true);
    expect(isTriggered('LONG', 98, 97.9, 101)).toBe(true);
    expect(isTriggered('LONG', 98, 98.1, 101)).toBe(false);
    expect(isTriggered('SHORT', 102, 99, 102)).toBe(true);
    expect(isTriggered('SHORT', 102, 99, 101.9)).toBe(false);
    expect(isTriggered('LONG', Number.NaN, 1, 2)).toBe(false);
  });
});
