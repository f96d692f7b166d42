import { describe, expect, it } from 'vitest';
import { runExample } from '../../examples/factory-engine/run.js';

describe('examples/factory-engine: Bulwark inside a plugin-factory engine', () => {
  it('trails stops as the host’s own stop orders, the host fills one through a gap, the ladder halts and vetoes a new entry', async () => {
    const lines: string[] = [];
    const { engine, plugin, vetoes } = await runExample((l) => lines.push(l));
    // Two stops were placed at the host (one per trade) and moved as prices rose.
    expect(plugin.stats().stops.placed).toBe(2);
    expect(plugin.stats().stops.moved).toBeGreaterThan(10);
    expect(engine.log.filter((l) => l.startsWith('stop '))).toHaveLength(2);
    // BTC gapped through its stop: the host closed the trade; Bulwark saw the fill and dropped the stop.
    expect(engine.trades.map((t) => t.pair)).toEqual(['ETH/USDT']);
    expect(plugin.stopOf('BTC/USDT')).toBeUndefined();
    // ETH's stop rests at the host at Bulwark's price, rounded to the default 1e-8 tick only
    // toward the tighter side (up, for a sell stop protecting a long).
    const eth = plugin.stopOf('ETH/USDT');
    expect(engine.stops.map((s) => [s.pair, s.side])).toEqual([['ETH/USDT', 'sell']]);
    const held = engine.stops[0]?.stopPrice as number;
    expect(held).toBeGreaterThanOrEqual(eth?.stop as number);
    expect(held - (eth?.stop as number)).toBeLessThan(1e-8);
    // The gap's loss crossed the 6 % halt threshold; the next entry was vetoed with the reason code.
    expect(plugin.state).toBe('HALTED');
    expect(vetoes).toHaveLength(1);
    expect(vetoes[0]).toMatch(/^TRADING_HALTED: /);
    expect(engine.log.some((l) => l.startsWith('veto o-btc-2 by bulwark: TRADING_HALTED'))).toBe(true);
    expect(lines).toContain('state ACTIVE → HALTED (DRAWDOWN_HALT_THRESHOLD)');
    await plugin.onDispose();
  });
});
