import { describe, expect, it } from 'vitest';
import { LocalCoordinator, type CoordinatorEvent } from '../../src/coordination/index.js';
import { resolveCoordinatorOptions } from '../../src/coordination/coordinator-options.js';
import { isBulwarkError } from '../../src/errors.js';
import { createRiskPlugin } from '../../src/plugin/risk-plugin.js';

describe('coordinator options', () => {
  it('fills in finite defaults and freezes them', () => {
    const o = resolveCoordinatorOptions({ url: 'redis://127.0.0.1:6379' });
    expect(o).toMatchObject({
      leaseMs: 10_000,
      renewIntervalMs: 3_333,
      safetyMarginMs: 200,
      restartGraceMs: 10_000,
      commandTimeoutMs: 1_000,
      connectTimeoutMs: 2_000,
      reconnectMaxDelayMs: 1_000,
      batchSize: 500,
      maxSymbols: 10_000,
      prefix: 'bulwark:',
      orderBudget: { capacity: 10, refillPerSecond: 10, name: 'orders' },
    });
    expect(Object.isFrozen(o)).toBe(true);
    expect(o.instanceId).toMatch(/^[A-Za-z0-9._:@-]+$/);
  });

  it('reports every problem at once, including timings that would let a lease lapse before its renewal is answered', () => {
    try {
      resolveCoordinatorOptions({
        url: 'http://x',
        instanceId: 'a|b',
        leaseMs: 300,
        renewIntervalMs: 200,
        commandTimeoutMs: 150,
        symbols: ['A', 'A', ''],
      });
      expect.fail('should have thrown');
    } catch (e) {
      expect(isBulwarkError(e, 'INVALID_OPTION')).toBe(true);
      const problems = (e as { details: { problems: string[] } }).details.problems.join('\n');
      for (const word of ['url', 'instanceId', 'leaseMs / 2', 'must be below leaseMs', 'repeat', '1 to 64'])
        expect(problems).toContain(word);
    }
  });
});

describe('LocalCoordinator (no Redis configured)', () => {
  it('owns every symbol, is ACTIVE, grants every order, and its kill switch halts this process', async () => {
    const c = new LocalCoordinator({ symbols: ['AAPL', 'MSFT'] });
    const events: CoordinatorEvent[] = [];
    c.subscribe((e) => events.push(e));
    await c.start();
    expect(c.state).toBe('ACTIVE');
    expect(c.owned()).toEqual(['AAPL', 'MSFT']);
    expect(c.tokenOf('AAPL')).toBe(1);
    expect(await c.tryTakeOrders(1_000)).toBe(true);
    expect(await c.write('AAPL', 'x')).toEqual({ ok: true, token: 1 });
    expect(await c.write('TSLA', 'x')).toEqual({ ok: false, code: 'NOT_OWNER', symbol: 'TSLA' });
    await c.engageKillSwitch('manual');
    expect(c.state).toBe('HALTED');
    await c.releaseKillSwitch();
    expect(c.state).toBe('ACTIVE');
    expect(events.map((e) => e.kind)).toEqual([
      'KILL_SWITCH_ENGAGED',
      'STATE_CHANGED',
      'KILL_SWITCH_RELEASED',
      'STATE_CHANGED',
    ]);
  });

  it('without symbols it owns the whole book: the plugin on it takes entries in any symbol (not NOT_OWNER)', async () => {
    const c = new LocalCoordinator();
    expect(c.owns('AAPL')).toBe(true);
    expect(c.owns('ANYTHING')).toBe(true);
    expect(c.tokenOf('TSLA')).toBe(1);
    expect(await c.write('TSLA', 'x')).toEqual({ ok: true, token: 1 });
    const plugin = createRiskPlugin({}, { coordinator: c });
    await plugin.onInit({
      portfolio: { positions: () => Promise.resolve([]) },
      orders: {
        send: (c) => Promise.resolve({ ok: true, clientOrderId: c.clientOrderId }),
        openOrders: () => Promise.resolve([]),
      },
      now: () => 0,
    });
    const order = {
      clientOrderId: 'e1',
      symbol: 'TSLA',
      side: 'BUY',
      quantity: 1,
      type: 'MARKET',
      intent: 'ENTRY',
    } as const;
    expect(plugin.beforeOrder(order)).toEqual({ allow: true });
    c.setSymbols(['AAPL']);
    expect(c.owns('TSLA')).toBe(false);
    expect(plugin.beforeOrder(order)).toMatchObject({ allow: false, code: 'NOT_OWNER' });
    await plugin.onDispose();
  });
});
