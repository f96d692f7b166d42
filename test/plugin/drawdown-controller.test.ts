import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DrawdownController, type DrawdownEvent } from '../../src/drawdown/drawdown-controller.js';
import { EquityHistory } from '../../src/drawdown/equity-history.js';
import { DEFAULT_LADDER, ladderProblems, type DrawdownLadder } from '../../src/drawdown/ladder.js';
import { loadKernels, type Kernels } from '../../src/index.js';
import type { Position } from '../../src/vocabulary/market.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { OpenOrder, PluginContext } from '../../src/vocabulary/services.js';

let k: Kernels;
beforeAll(async () => {
  k = await loadKernels();
});
afterEach(() => {
  vi.useRealTimers();
});

const T0 = Date.parse('2026-03-02T14:30:00Z');
const MIN = 60_000;

function setup(
  ladder: Partial<DrawdownLadder> = {},
  services: { open?: OpenOrder[]; positions?: Position[]; hang?: boolean } = {},
) {
  const events: DrawdownEvent[] = [];
  const commands: ProtectiveCommand[] = [];
  const calls = { openOrders: 0, positions: 0 };
  const never = new Promise<never>(() => {});
  const context: PluginContext = {
    now: () => Date.now(),
    portfolio: {
      positions: async () => {
        calls.positions++;
        return services.hang === true ? never : (services.positions ?? []);
      },
    },
    orders: {
      send: (c) => Promise.resolve({ ok: true, clientOrderId: c.clientOrderId }),
      openOrders: async () => {
        calls.openOrders++;
        return services.hang === true ? never : (services.open ?? []);
      },
    },
  };
  let id = 0;
  const dd = new DrawdownController({
    kernels: k,
    ladder: { ...DEFAULT_LADDER, ...ladder },
    historyCapacity: 1_000,
    context,
    submit: (c) => commands.push(c),
    nextId: () => `flat-${++id}`,
    onEvent: (e) => events.push(e),
  });
  return { dd, events, commands, calls };
}

describe('EquityHistory', () => {
  it('keeps only the newest `capacity` points and finds values by time in O(log n)', () => {
    const h = new EquityHistory(100);
    for (let i = 0; i < 250; i++) expect(h.push(T0 + i * MIN, 1000 + i).ok).toBe(true);
    expect(h.size).toBe(100);
    expect(h.point(0)).toEqual({ timestamp: T0 + 150 * MIN, equity: 1150 });
    expect(h.valueAt(T0 + 200 * MIN + 30_000)).toBe(1200);
    expect(h.valueAt(T0 + 149 * MIN)).toBeNaN(); // before the oldest point held
    expect(h.valueAt(T0 + 10_000 * MIN)).toBe(1249);
  });

  it('refuses non-monotonic timestamps and bad values with codes', () => {
    const h = new EquityHistory(10);
    h.push(T0, 100);
    const codes = [
      h.push(T0, 101),
      h.push(T0 - 1, 101),
      h.push(T0 + 1, Number.NaN),
      h.push(T0 + 1, 0),
      h.push(Number.NaN, 1),
    ].map((r) => (r.ok ? 'ok' : r.rejection.code));
    expect(codes).toEqual([
      'NON_MONOTONIC_TIMESTAMP',
      'NON_MONOTONIC_TIMESTAMP',
      'NON_FINITE_VALUE',
      'NON_POSITIVE_PRICE',
      'INVALID_TIMESTAMP',
    ]);
    expect(h.size).toBe(1);
  });

  it('exports the underwater curve, or a typed INSUFFICIENT_DATA for fewer than two points', () => {
    const h = new EquityHistory(10);
    expect(h.underwater()).toEqual({ ok: false, reason: 'INSUFFICIENT_DATA', points: 0 });
    h.push(T0, 100);
    expect(h.underwater()).toEqual({ ok: false, reason: 'INSUFFICIENT_DATA', points: 1 });
    h.push(T0 + 1, 80);
    h.push(T0 + 2, 120);
    h.push(T0 + 3, 90);
    const u = h.underwater();
    expect(u.ok && Array.from(u.drawdown)).toEqual([0, 0.2, 0, 0.25]);
  });
});

describe('DrawdownController ladder', () => {
  it('warns, then REDUCING, then HALTED as drawdown deepens, with the inputs in each event', () => {
    vi.useFakeTimers({ now: T0 });
    const { dd, events } = setup();
    const equity = [100, 96, 94, 89, 86, 84];
    equity.forEach((e, i) => dd.update(T0 + i * MIN, e));
    expect(events.map((e) => [e.reason, e.from, e.to])).toEqual([
      ['DRAWDOWN_WARNING', 'ACTIVE', 'ACTIVE'],
      ['DRAWDOWN_REDUCE_THRESHOLD', 'ACTIVE', 'REDUCING'],
      ['DRAWDOWN_HALT_THRESHOLD', 'REDUCING', 'HALTED'],
    ]);
    expect(events[1]?.drawdown).toBeCloseTo(0.11, 12);
    expect(events[1]?.equity).toBe(89);
    expect(Object.isFrozen(events[0])).toBe(true);
    expect(dd.state).toBe('HALTED');
    expect(dd.maxDrawdown).toBeCloseTo(0.16, 12);
  });

  it('hysteresis: a partial recovery does not leave HALTED; cooldown after recovery does (fake timers)', () => {
    vi.useFakeTimers({ now: T0 });
    const { dd, events } = setup({ cooldownMs: 30 * MIN });
    dd.update(T0, 100);
    dd.update(T0 + MIN, 80); // HALTED
    vi.setSystemTime(T0 + 2 * MIN);
    dd.update(T0 + 2 * MIN, 92); // 8%: between resume and reduce
    expect(dd.state).toBe('HALTED');
    vi.setSystemTime(T0 + 3 * MIN);
    dd.update(T0 + 3 * MIN, 97); // 3% ≤ resumeBelow: cooldown starts
    vi.advanceTimersByTime(29 * MIN);
    expect(dd.state).toBe('HALTED');
    vi.advanceTimersByTime(MIN);
    expect(dd.state).toBe('ACTIVE');
    expect(events.at(-1)?.reason).toBe('DRAWDOWN_RECOVERED');
  });

  it('a relapse during the cooldown cancels the resume', () => {
    vi.useFakeTimers({ now: T0 });
    const { dd } = setup({ cooldownMs: 10 * MIN });
    dd.update(T0, 100);
    dd.update(T0 + MIN, 89); // REDUCING
    dd.update(T0 + 2 * MIN, 99); // recovering
    vi.advanceTimersByTime(5 * MIN);
    dd.update(T0 + 3 * MIN, 93); // 7%: relapse above resumeBelow
    vi.advanceTimersByTime(20 * MIN);
    expect(dd.state).toBe('REDUCING');
  });

  it('resumes on a later update once the cooldown has passed by the clock, without the timer', () => {
    vi.useFakeTimers({ now: T0 });
    const { dd } = setup({ cooldownMs: 10 * MIN });
    dd.update(T0, 100);
    dd.update(T0 + MIN, 89);
    dd.update(T0 + 2 * MIN, 99);
    vi.setSystemTime(T0 + 20 * MIN); // the clock moved (e.g. a replay) but no timer ran
    dd.update(T0 + 20 * MIN, 99.5);
    expect(dd.state).toBe('ACTIVE');
  });

  it('manual reset returns to ACTIVE and makes current equity the new peak', () => {
    vi.useFakeTimers({ now: T0 });
    const { dd, events } = setup();
    dd.update(T0, 100);
    dd.update(T0 + MIN, 80);
    dd.reset();
    expect(dd.state).toBe('ACTIVE');
    dd.update(T0 + 2 * MIN, 79);
    expect(dd.state).toBe('ACTIVE');
    expect(dd.drawdown).toBeCloseTo(1 / 80, 12);
    expect(events.map((e) => e.reason)).toContain('MANUAL_RESET');
  });

  it('uses a rolling window when configured: an old peak stops counting', () => {
    vi.useFakeTimers({ now: T0 });
    const { dd } = setup({ window: 3 });
    [100, 90, 90, 90, 90].forEach((e, i) => dd.update(T0 + i * MIN, e));
    expect(dd.drawdown).toBe(0);
    expect(dd.runningDrawdown).toBeCloseTo(0.1, 12); // from the peak since inception
    expect(dd.maxDrawdown).toBeCloseTo(0.1, 12);
  });
});

describe('DrawdownController on HALTED', () => {
  const open: OpenOrder[] = [
    { clientOrderId: 'e1', symbol: 'AAA', side: 'BUY', quantity: 1, type: 'LIMIT', price: 10, intent: 'ENTRY' },
    { clientOrderId: 'x1', symbol: 'BBB', side: 'SELL', quantity: 1, type: 'LIMIT', price: 10, intent: 'EXIT' },
    { clientOrderId: 's1', symbol: 'CCC', side: 'SELL', quantity: 1, type: 'STOP', price: 10, intent: 'PROTECTIVE' },
  ];
  const positions: Position[] = [
    { symbol: 'AAA', side: 'LONG', quantity: 5, entryPrice: 10, openedAt: T0 },
    { symbol: 'DDD', side: 'SHORT', quantity: 2, entryPrice: 10, openedAt: T0 },
  ];

  it('cancels entry orders only, fetching open orders in one call', async () => {
    vi.useFakeTimers({ now: T0 });
    const { dd, commands, calls } = setup({}, { open, positions });
    dd.update(T0, 100);
    dd.update(T0 + MIN, 80);
    await dd.settled;
    expect(commands).toEqual([{ kind: 'CANCEL', clientOrderId: 'e1', symbol: 'AAA' }]);
    expect(calls).toEqual({ openOrders: 1, positions: 0 });
  });

  it('with flattenOnHalt closes every position, fetched in one call (no N+1)', async () => {
    vi.useFakeTimers({ now: T0 });
    const { dd, commands, calls } = setup({ flattenOnHalt: true }, { open, positions });
    dd.update(T0, 100);
    dd.update(T0 + MIN, 80);
    await dd.settled;
    expect(
      commands.filter((c) => c.kind === 'CLOSE_POSITION').map((c) => [c.symbol, 'side' in c ? c.side : '']),
    ).toEqual([
      ['AAA', 'SELL'],
      ['DDD', 'BUY'],
    ]);
    expect(calls).toEqual({ openOrders: 1, positions: 1 });
  });

  it('a host service that hangs times out into a HALT_ACTION_FAILED event; the state stays HALTED', async () => {
    vi.useFakeTimers({ now: T0 });
    const { dd, events, commands } = setup({ serviceTimeoutMs: 2_000 }, { hang: true });
    dd.update(T0, 100);
    dd.update(T0 + MIN, 80);
    await vi.advanceTimersByTimeAsync(2_000);
    await dd.settled;
    expect(events.at(-1)?.reason).toBe('HALT_ACTION_FAILED');
    expect(dd.state).toBe('HALTED');
    expect(commands).toEqual([]);
  });
});

describe('ladder validation', () => {
  it('lists every problem', () => {
    const problems = ladderProblems({ ...DEFAULT_LADDER, warnAt: 2, cooldownMs: -1, maxConcurrentCalls: 0 });
    expect(problems).toHaveLength(3);
    expect(ladderProblems({ ...DEFAULT_LADDER, reduceAt: 0.2, haltAt: 0.15 })).toEqual([
      'drawdown thresholds must satisfy resumeBelow < warnAt ≤ reduceAt < haltAt',
    ]);
    expect(ladderProblems(DEFAULT_LADDER)).toEqual([]);
  });
});
