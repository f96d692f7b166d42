import { describe, expect, it } from 'vitest';
import { createRiskPlugin } from '../../src/plugin/risk-plugin.js';
import type { Position } from '../../src/vocabulary/market.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { OpenOrder } from '../../src/vocabulary/services.js';
import { fakeCoordinator } from './helpers.js';

const pos = (symbol: string): Position => ({ symbol, side: 'LONG', quantity: 10, entryPrice: 100, openedAt: 0 });

async function setup(owned: string[], resting: OpenOrder[] = []) {
  const { c, coordinator } = fakeCoordinator(owned);
  const sent: ProtectiveCommand[] = [];
  const plugin = createRiskPlugin(
    { stops: { mode: 'BROKER', policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } } },
    { coordinator },
  );
  await plugin.onInit({
    now: () => 1_000,
    portfolio: { positions: () => Promise.resolve([]) },
    orders: {
      send: (cmd) => (sent.push(cmd), Promise.resolve({ ok: true, clientOrderId: cmd.clientOrderId })),
      openOrders: () => Promise.resolve(resting),
    },
  });
  return { c, plugin, sent };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('RiskPlugin with a coordinator (several instances on one book)', () => {
  it('manages only owned positions and refuses entries in symbols another instance owns (NOT_OWNER); exits still pass', async () => {
    const { plugin, sent } = await setup(['AAA']);
    plugin.onPortfolio({ timestamp: 1, equity: 100_000, positions: [pos('AAA'), pos('BBB')] });
    await settle();
    expect(sent.map((s) => [s.kind, s.symbol])).toEqual([['PLACE_STOP', 'AAA']]);
    expect(plugin.stopOf('BBB')).toBeUndefined();
    expect(
      plugin.beforeOrder({
        clientOrderId: 'e1',
        symbol: 'BBB',
        side: 'BUY',
        quantity: 1,
        type: 'MARKET',
        intent: 'ENTRY',
      }),
    ).toMatchObject({ allow: false, code: 'NOT_OWNER' });
    expect(
      plugin.beforeOrder({
        clientOrderId: 'e2',
        symbol: 'AAA',
        side: 'BUY',
        quantity: 1,
        type: 'MARKET',
        intent: 'ENTRY',
      }).allow,
    ).toBe(true);
    expect(
      plugin.beforeOrder({
        clientOrderId: 'x1',
        symbol: 'BBB',
        side: 'SELL',
        quantity: 1,
        type: 'MARKET',
        intent: 'EXIT',
      }).allow,
    ).toBe(true);
    await plugin.onDispose();
  });

  it('a lost lease lets go of the position without cancelling its stop; an acquired one adopts the resting Bulwark stop instead of placing another', async () => {
    const resting: OpenOrder[] = [
      {
        clientOrderId: 'bw-otherinst-7',
        symbol: 'BBB',
        side: 'SELL',
        quantity: 10,
        type: 'STOP',
        price: 97,
        intent: 'EXIT',
      },
    ];
    const { c, plugin, sent } = await setup(['AAA'], resting);
    plugin.onPortfolio({ timestamp: 1, equity: 100_000, positions: [pos('AAA'), pos('BBB')] });
    await settle();
    sent.length = 0;
    // AAA moves to another instance, BBB comes to this one.
    c.owned = new Set(['BBB']);
    c.emit({ kind: 'LEASE_LOST', symbol: 'AAA', token: 1, reason: 'EXPIRED', heldUntil: 1, timestamp: 2 });
    c.emit({ kind: 'LEASE_ACQUIRED', symbol: 'BBB', token: 2, timestamp: 2 });
    await settle();
    plugin.onPortfolio({ timestamp: 2, equity: 100_000, positions: [pos('AAA'), pos('BBB')] });
    await settle();
    expect(sent).toEqual([]); // no CANCEL of AAA's stop, no second stop for BBB
    expect(plugin.stopOf('AAA')).toBeUndefined();
    expect(plugin.stopOf('BBB')).toMatchObject({ stop: 97 }); // adopted (5 % = 95 is looser)
    await plugin.onDispose();
  });

  it('is never less strict than the coordinator: REDUCING while coordination fails, HALTED on the kill switch', async () => {
    const { c, plugin } = await setup(['AAA']);
    expect(plugin.state).toBe('ACTIVE');
    c.state = 'REDUCING';
    c.emit({ kind: 'STATE_CHANGED', from: 'ACTIVE', to: 'REDUCING', cause: 'REDIS_UNAVAILABLE', timestamp: 3 });
    expect(plugin.state).toBe('REDUCING');
    expect(
      plugin.beforeOrder({
        clientOrderId: 'e3',
        symbol: 'AAA',
        side: 'BUY',
        quantity: 1,
        type: 'MARKET',
        intent: 'ENTRY',
      }),
    ).toMatchObject({ allow: false, code: 'REDUCING_NEW_EXPOSURE' });
    c.state = 'HALTED';
    c.emit({ kind: 'KILL_SWITCH_ENGAGED', reason: 'test', by: 'i-2', timestamp: 4 });
    expect(plugin.state).toBe('HALTED');
    c.state = 'ACTIVE';
    c.emit({ kind: 'KILL_SWITCH_RELEASED', by: 'i-2', timestamp: 5 });
    expect(plugin.state).toBe('ACTIVE');
    await plugin.onDispose();
  });
});
