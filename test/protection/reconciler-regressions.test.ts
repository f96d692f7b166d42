import { describe, expect, it } from 'vitest';
import { createRiskPlugin, type RiskPlugin } from '../../src/plugin/risk-plugin.js';
import type { RiskEvent } from '../../src/plugin/risk-events.js';
import { VirtualClock } from '../../src/util/clock.js';
import type { Position } from '../../src/vocabulary/market.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import { ScriptedVenue } from './scripted-venue.js';

const T0 = Date.parse('2026-03-02T14:30:00Z');

/** A plugin in BROKER mode on a virtual clock, its stops at a scripted venue (5 % from entry, trailing 5 % under the high; tick 0.01, lot 1). */
async function rig(venue = new ScriptedVenue()) {
  const clock = new VirtualClock(T0);
  const plugin = createRiskPlugin(
    {
      stops: {
        mode: 'BROKER',
        tickSize: 0.01,
        lotSize: 1,
        policy: {
          rules: [
            { kind: 'PERCENT', percent: 5 },
            { kind: 'TRAILING', percent: 5, activationPercent: 0 },
          ],
        },
        reconcile: { unprotectedAfterMs: 10_000, hardRetryMs: 60_000 },
      },
      limits: { maxSymbols: 16, maxPositions: 16 },
    },
    { clock },
  );
  const events: RiskEvent[] = [];
  plugin.subscribe((e) => events.push(e));
  await plugin.onInit({ now: () => clock.now(), portfolio: { positions: async () => [] }, orders: venue });
  return { clock, plugin, venue, events };
}

/** Lets the plugin and its reconciler work for `ms` of virtual time (timers fire in order). */
async function run(clock: VirtualClock, ms: number, stepMs = 50): Promise<void> {
  const end = clock.now() + ms;
  for (;;) {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    if (clock.now() >= end) return;
    clock.advanceTo(Math.min(end, clock.now() + stepMs));
  }
}

const long = (symbol: string, quantity: number, entryPrice = 100): Position => ({
  symbol,
  side: 'LONG',
  quantity,
  entryPrice,
  openedAt: T0,
});
const snapshot = (plugin: RiskPlugin, clock: VirtualClock, positions: Position[]) =>
  plugin.onPortfolio({ timestamp: clock.now(), equity: 1e6, positions });

describe('the stop reconciler, one regression per row of the broken promise', () => {
  it('a lost order.status reply after an unknown placement is asked again, and the stop is placed: the position is never left bare', async () => {
    const { clock, plugin, venue } = await rig();
    venue.fail('PLACE_STOP', 'LOST_BEFORE'); // the placement never reached the venue, and the answer is lost
    venue.fail('STATUS', 'LOST_BEFORE'); // and the first question about it is lost too
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 5_000);
    const live = venue.live('AAA');
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({ side: 'SELL', quantity: 10, price: 95 });
    expect(venue.calls.filter((c) => c.startsWith('STATUS'))).toHaveLength(2); // asked again after the lost answer
    expect(plugin.protection?.summary()).toEqual({ converged: 1, pending: 0, unprotected: 0 });
    await plugin.onDispose();
  });

  it('a placement the venue applied but whose answer was lost is adopted, not placed twice', async () => {
    const { clock, plugin, venue } = await rig();
    venue.fail('PLACE_STOP', 'LOST_AFTER');
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 5_000);
    expect([...venue.orders.values()].filter((o) => o.symbol === 'AAA')).toHaveLength(1);
    expect(venue.live('AAA')).toHaveLength(1);
    await plugin.onDispose();
  });

  it('an amend whose answer was lost and that the venue never applied is sent again until the venue shows the new price', async () => {
    const { clock, plugin, venue } = await rig();
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 1_000);
    expect(venue.live('AAA')[0]?.price).toBe(95);
    venue.fail('AMEND_STOP', 'LOST_BEFORE', 'LOST_BEFORE');
    expect(plugin.protection?.stateOf('AAA')).toBe('CONVERGED');
    // The stop tightens: 5 % under a new high of 110.
    await plugin.onBars([
      { symbol: 'AAA', timestamp: T0 + 60_000, open: 100, high: 110, low: 100, close: 110, volume: 1 },
    ]);
    await run(clock, 5_000);
    const want = plugin.stopOf('AAA')?.stop as number;
    expect(want).toBeGreaterThan(95);
    const held = venue.live('AAA')[0]?.price as number;
    expect(held).toBeGreaterThanOrEqual(want);
    expect(held - want).toBeLessThan(0.01);
    await plugin.onDispose();
  });

  it('a placement the venue rejects is reported UNPROTECTED (event, REDUCING), the stop is watched locally and closes on trigger, and it is placed again when the stop moves', async () => {
    const { clock, plugin, venue, events } = await rig();
    venue.fail('PLACE_STOP', 'REJECT');
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 1_000);
    expect(venue.live('AAA')).toHaveLength(0);
    expect(plugin.protection?.stateOf('AAA')).toBe('UNPROTECTED');
    expect(events.find((e) => e.kind === 'PROTECTION')).toMatchObject({
      symbol: 'AAA',
      to: 'UNPROTECTED',
      code: 'STOP_REJECTED',
    });
    expect(plugin.state).toBe('REDUCING');
    expect(
      plugin.beforeOrder({
        clientOrderId: 'e1',
        symbol: 'BBB',
        side: 'BUY',
        quantity: 1,
        type: 'MARKET',
        intent: 'ENTRY',
      }),
    ).toMatchObject({ allow: false, code: 'REDUCING_NEW_EXPOSURE' });
    // The stop moves (a new high): the new price is placed, and protection is restored.
    await plugin.onBars([
      { symbol: 'AAA', timestamp: T0 + 60_000, open: 100, high: 104, low: 100, close: 104, volume: 1 },
    ]);
    await run(clock, 1_000);
    expect(venue.live('AAA')).toHaveLength(1);
    expect(plugin.protection?.stateOf('AAA')).toBe('CONVERGED');
    expect(plugin.state).toBe('ACTIVE');
    await plugin.onDispose();
  });

  it('while UNPROTECTED, a bar through the stop closes the position locally', async () => {
    const { clock, plugin, venue } = await rig();
    venue.fail('PLACE_STOP', 'REJECT', 'REJECT', 'REJECT');
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 1_000);
    expect(plugin.protection?.stateOf('AAA')).toBe('UNPROTECTED');
    await plugin.onBars([{ symbol: 'AAA', timestamp: T0 + 60_000, open: 96, high: 96, low: 90, close: 91, volume: 1 }]);
    await run(clock, 1_000);
    expect(venue.calls.some((c) => c.startsWith('CLOSE_POSITION'))).toBe(true);
    expect(plugin.stopOf('AAA')?.status).toBe('CLOSING');
    await plugin.onDispose();
  });

  it('the stop follows the position: 10 → 100 is covered for 100; a partial fill of the stop leaves the rest covered, with no new order', async () => {
    const { clock, plugin, venue } = await rig();
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 1_000);
    expect(venue.live('AAA').map((o) => o.quantity - o.executed)).toEqual([10]);
    snapshot(plugin, clock, [long('AAA', 100)]);
    await run(clock, 1_000);
    expect(venue.live('AAA').map((o) => o.quantity - o.executed)).toEqual([100]);
    const id = venue.live('AAA')[0]?.clientOrderId as string;
    const placed = venue.calls.filter((c) => c.startsWith('PLACE_STOP')).length;
    // The stop executes 30 at the venue; the host books the fill, and its next snapshot says 70.
    plugin.onFill(venue.execute(id, 30, 95, clock.now()));
    snapshot(plugin, clock, [long('AAA', 70)]);
    await run(clock, 1_000);
    expect(venue.live('AAA').map((o) => [o.clientOrderId, o.quantity - o.executed])).toEqual([[id, 70]]);
    expect(venue.calls.filter((c) => c.startsWith('PLACE_STOP'))).toHaveLength(placed);
    await plugin.onDispose();
  });

  it('a stop that fully executes is not replaced before the host says the position is gone', async () => {
    const { clock, plugin, venue } = await rig();
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 1_000);
    const id = venue.live('AAA')[0]?.clientOrderId as string;
    plugin.onFill(venue.execute(id, 10, 95, clock.now()));
    await run(clock, 1_000);
    snapshot(plugin, clock, []);
    await run(clock, 1_000);
    expect(venue.live('AAA')).toHaveLength(0);
    expect(venue.calls.filter((c) => c.startsWith('PLACE_STOP'))).toHaveLength(1);
    await plugin.onDispose();
  });

  it('a busy venue (-1008) is retried with backoff until the stop rests; nothing is dropped', async () => {
    const { clock, plugin, venue } = await rig();
    venue.fail('PLACE_STOP', 'BUSY', 'BUSY', 'BUSY', 'BUSY');
    snapshot(plugin, clock, [long('AAA', 10)]);
    await run(clock, 10_000);
    expect(venue.live('AAA')).toHaveLength(1);
    expect(plugin.protection?.summary().pending).toBe(0);
    await plugin.onDispose();
  });

  it('an orphan of ours (a stop resting for a symbol with no position) is cancelled once the grace period passes', async () => {
    const venue = new ScriptedVenue();
    await venue.send({
      kind: 'PLACE_STOP',
      clientOrderId: 'bw-old-1',
      symbol: 'ZZZ',
      side: 'SELL',
      quantity: 5,
      stopPrice: 50,
    } satisfies ProtectiveCommand);
    const { clock, plugin } = await rig(venue);
    snapshot(plugin, clock, []);
    await run(clock, 1_000);
    expect(venue.live('ZZZ')).toHaveLength(1); // the grace period (restoreGraceMs) lets a host rebuild its positions
    await run(clock, 300_000, 10_000);
    expect(venue.live('ZZZ')).toHaveLength(0);
    await plugin.onDispose();
  });
});
