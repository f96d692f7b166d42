/**
 * protections.dailyLossLimit through the plugin: the session's loss from its starting equity
 * (the first accepted snapshot of the session day; the snapshot's equity includes open P&L)
 * halts entries (DAILY_LOSS_LIMIT) until the next session starts, then trading is ACTIVE again
 * with an event. Equal to the limit passes; exits always pass. Fake timers move the clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRiskPlugin, type RiskEvent } from '../../src/index.js';
import type { Position } from '../../src/vocabulary/market.js';
import type { OrderDecision } from '../../src/vocabulary/orders.js';
import { fakeContext, MIN, order, T0 } from '../plugin/helpers.js';

afterEach(() => vi.useRealTimers());

const codeOf = (d: OrderDecision) => (d.allow ? 'ALLOW' : d.code);
const held: Position[] = [{ symbol: 'AAA', side: 'LONG', quantity: 10, entryPrice: 100, openedAt: T0 }];

async function plugin(dailyLossLimit: { fraction: number } | { amount: number }, sessionStart = '00:00Z') {
  vi.useFakeTimers({ now: T0 }); // 2026-03-02 14:30Z
  const p = createRiskPlugin({ protections: { dailyLossLimit, sessionStart } });
  const events: RiskEvent[] = [];
  p.subscribe((e) => events.push(e));
  await p.onInit(fakeContext().context);
  const snapshot = (equity: number) => {
    vi.advanceTimersByTime(MIN);
    p.onPortfolio({ timestamp: Date.now(), equity, positions: held });
  };
  return { p, events, snapshot };
}

describe('protections.dailyLossLimit', () => {
  it('{ fraction: 0.03 }: a loss of exactly 3 % of the session’s starting equity passes; a cent more halts entries, not exits', async () => {
    const { p, events, snapshot } = await plugin({ fraction: 0.03 });
    snapshot(1_000_000); // the session's starting equity
    snapshot(970_000); // loss 30 000 = 3 %: equal passes
    expect(p.state).toBe('ACTIVE');
    expect(codeOf(p.beforeOrder(order()))).toBe('ALLOW');
    snapshot(969_999.99);
    expect(p.state).toBe('HALTED');
    const d = p.beforeOrder(order());
    expect(codeOf(d)).toBe('DAILY_LOSS_LIMIT');
    expect(d.allow ? '' : d.message).toMatch(/30000\.01 of 30000\.00/);
    expect(codeOf(p.beforeOrder(order({ side: 'SELL', quantity: 10 })))).toBe('ALLOW'); // an exit
    expect(events.filter((e) => e.kind === 'STATE_CHANGED')).toEqual([
      expect.objectContaining({ from: 'ACTIVE', to: 'HALTED', cause: 'DAILY_LOSS_LIMIT' }),
    ]);
    expect(p.toJSON().dailyLoss).toEqual({
      sessionStartEquity: 1_000_000,
      loss: expect.closeTo(30_000.01, 6) as number,
      limit: 30_000,
      tripped: true,
    });
    // Recovering within the session does not lift it.
    snapshot(1_100_000);
    expect(p.state).toBe('HALTED');
  });

  it('the next session starts ACTIVE again, with an event, and measures from its own starting equity', async () => {
    const { p, events, snapshot } = await plugin({ amount: 25_000 }, '14:00Z');
    snapshot(1_000_000);
    snapshot(974_000); // 26 000 lost
    expect(p.state).toBe('HALTED');
    // 2026-03-03 14:00Z is the next session: the halt ends at that instant, by a timer.
    vi.advanceTimersByTime(Date.parse('2026-03-03T13:59:59Z') - Date.now());
    expect(p.state).toBe('HALTED');
    vi.advanceTimersByTime(1_000);
    expect(p.state).toBe('ACTIVE');
    expect(events.filter((e) => e.kind === 'STATE_CHANGED').at(-1)).toMatchObject({
      from: 'HALTED',
      to: 'ACTIVE',
      cause: 'SESSION_START',
    });
    snapshot(974_000); // the new session's start: no loss yet
    snapshot(949_000); // 25 000 from 974 000: equal passes
    expect(p.state).toBe('ACTIVE');
    snapshot(948_999);
    expect(p.state).toBe('HALTED');
    await p.onDispose(); // the session timer is released
    expect(vi.getTimerCount()).toBe(0);
  });

  it('independent of the drawdown ladder: the stricter state wins, and a manual reset of the ladder does not lift it', async () => {
    const { p, snapshot } = await plugin({ fraction: 0.05 });
    snapshot(1_000_000);
    snapshot(940_000); // 6 % lost: the daily limit (5 %) trips; the ladder (REDUCING at 10 %) does not
    expect(p.state).toBe('HALTED');
    p.reset();
    expect(p.state).toBe('HALTED');
  });

  it('bad configurations are refused with the others', () => {
    expect(() => createRiskPlugin({ protections: { dailyLossLimit: { fraction: 1.5 } } })).toThrow(
      /protections.dailyLossLimit must be/,
    );
    expect(() =>
      createRiskPlugin({
        protections: { dailyLossLimit: { amount: 5, fraction: 0.1 } },
      }),
    ).toThrow(/protections.dailyLossLimit must be/);
  });
});
