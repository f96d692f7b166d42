import { describe, expect, it } from 'vitest';
import { SymbolRegistry } from '../../src/market/symbol-registry.js';

describe('SymbolRegistry', () => {
  it('registerHinted takes a right guess, and ignores a wrong or out-of-range one', () => {
    const reg = new SymbolRegistry(3);
    expect(reg.register('AAA')).toBe(0);
    expect(reg.register('BBB')).toBe(1);
    expect(reg.registerHinted('BBB', 1)).toBe(1);
    expect(reg.registerHinted('BBB', 0)).toBe(1); // wrong guess: looked up
    expect(reg.registerHinted('CCC', 0)).toBe(2); // new symbol, wrong guess: registered
    expect(reg.registerHinted('DDD', 7)).toBe(-1); // full, guess out of range
    expect(reg.registerHinted('AAA', -1)).toBe(0);
    expect(reg.size).toBe(3);
  });

  it('a plugin fed symbols in a changing order still maps every bar to its own slot', async () => {
    const { createRiskPlugin } = await import('../../src/index.js');
    const { fakeContext, bar, T0, MIN } = await import('./helpers.js');
    const plugin = createRiskPlugin({ stops: { policy: { rules: [{ kind: 'PERCENT', percent: 1 }] } } });
    await plugin.onInit(fakeContext().context);
    plugin.onPortfolio({
      timestamp: T0,
      equity: 1e6,
      positions: [
        { symbol: 'A', side: 'LONG', quantity: 1, entryPrice: 100, openedAt: T0 },
        { symbol: 'B', side: 'LONG', quantity: 1, entryPrice: 50, openedAt: T0 },
      ],
    });
    await plugin.onBars([bar('A', T0 + MIN, 101, 0.001), bar('B', T0 + MIN, 51, 0.001)]);
    await plugin.onBars([bar('B', T0 + 2 * MIN, 52, 0.001), bar('A', T0 + 2 * MIN, 102, 0.001)]); // order swapped
    expect(plugin.stats().rejections).toEqual({});
    expect(plugin.stopOf('A')?.stop).toBe(99); // 1% below entry 100: unchanged (percent rule)
    expect(plugin.stopOf('B')?.stop).toBe(49.5);
  });
});
