import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { isEngineError } from '../../src/engine/errors.js';
import type { EnginePlugin, PluginFailed } from '../../src/engine/plugin.js';
import { ALLOW, deny, type OrderRequest } from '../../src/vocabulary/orders.js';
import { at, bar, recorder } from './helpers.js';

const order = (id: string): OrderRequest => ({
  clientOrderId: id,
  symbol: 'ACME',
  side: 'BUY',
  quantity: 1,
  type: 'MARKET',
  intent: 'ENTRY',
});

describe('Engine.use: registration', () => {
  it('runs hooks in registration order, each awaited before the next plugin', async () => {
    const engine = new Engine();
    const log: string[] = [];
    const slow: EnginePlugin = {
      name: 'slow',
      async onBars() {
        await new Promise((r) => setTimeout(r, 5));
        log.push('slow:bars done');
      },
    };
    engine.use(recorder('a', log));
    engine.use(slow);
    engine.use(recorder('b', log));
    await engine.replay([bar(0, 'ACME', 10, 11, 9, 10)]);
    expect(log).toEqual(['a:init', 'b:init', 'a:bars 1', 'slow:bars done', 'b:bars 1', 'a:portfolio', 'b:portfolio']);
    expect(engine.plugins).toEqual(['a', 'slow', 'b']);
  });

  it('returns an unregister function that stops the hooks, calls onDispose once, and is idempotent', async () => {
    const engine = new Engine();
    const a = recorder('a');
    const off = engine.use(a);
    await engine.replay([bar(0, 'ACME', 10, 11, 9, 10)]);
    off();
    off();
    await engine.replay([bar(1, 'ACME', 10, 11, 9, 10)]);
    expect(a.events).toEqual(['init', 'bars 1', 'portfolio', 'dispose']);
    expect(engine.plugins).toEqual([]);
  });

  it('hands onInit a context whose portfolio, orders and clock are the engine’s', async () => {
    const engine = new Engine({ startingCash: 5_000 });
    const seen: number[] = [];
    engine.use({
      name: 'ctx',
      onInit(ctx) {
        expect(ctx.orders).toBe(engine.orders);
        this.onBars = async () => {
          seen.push(ctx.now());
          expect(await ctx.portfolio.positions()).toEqual([]);
        };
      },
    });
    await engine.replay([bar(0, 'ACME', 10, 11, 9, 10), bar(1, 'ACME', 10, 11, 9, 10)]);
    expect(seen).toEqual([at(0), at(1)]);
  });

  it('waits for an async onInit before any other hook of that plugin', async () => {
    const engine = new Engine();
    const log: string[] = [];
    engine.use({
      name: 'async-init',
      async onInit() {
        await new Promise((r) => setTimeout(r, 10));
        log.push('init done');
      },
      onBars: () => void log.push('bars'),
    });
    await engine.replay([bar(0, 'ACME', 10, 11, 9, 10)]);
    expect(log).toEqual(['init done', 'bars']);
  });

  it('refuses a second plugin with the same name, a non-object and a non-function hook (coded errors)', () => {
    const engine = new Engine();
    engine.use({ name: 'risk' });
    const codeOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isEngineError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(codeOf(() => engine.use({ name: 'risk' }))).toBe('DUPLICATE_PLUGIN');
    expect(codeOf(() => engine.use(null as unknown as EnginePlugin))).toBe('INVALID_PLUGIN');
    expect(codeOf(() => engine.use({ name: '' }))).toBe('INVALID_PLUGIN');
    expect(codeOf(() => engine.use({ name: 'x', onBar: 3 } as unknown as EnginePlugin))).toBe('INVALID_PLUGIN');
  });

  it('dispose() unregisters every plugin, waits for async onDispose, and refuses further use', async () => {
    const engine = new Engine();
    const log: string[] = [];
    engine.use({ name: 'a', onDispose: async () => void (await Promise.resolve(), log.push('a')) });
    engine.use({ name: 'b', onDispose: () => void log.push('b') });
    await engine.dispose();
    expect(log.sort()).toEqual(['a', 'b']);
    await expect(engine.submitOrder(order('x'))).rejects.toMatchObject({ code: 'ENGINE_DISPOSED' });
    expect(() => engine.use({ name: 'c' })).toThrow(/ENGINE_DISPOSED/);
  });
});

describe('Engine: a failing plugin is counted and the engine keeps running', () => {
  it('a throwing beforeOrder denies with PLUGIN_ERROR (fail closed), is counted, and later orders still pass', async () => {
    const failures: PluginFailed[] = [];
    const engine = new Engine({ onPluginError: (e) => failures.push(e) });
    let calls = 0;
    engine.use({
      name: 'flaky',
      beforeOrder() {
        calls++;
        if (calls === 1) throw new Error('boom');
        return ALLOW;
      },
    });
    const first = await engine.submitOrder(order('o1'));
    expect(first).toMatchObject({ allow: false, code: 'PLUGIN_ERROR' });
    expect(first.allow === false && first.message).toMatch(/flaky.*boom/);
    expect(await engine.submitOrder(order('o2'))).toEqual({ allow: true });
    expect(engine.pluginErrors()).toEqual({ flaky: { beforeOrder: 1 } });
    expect(engine.stats()).toMatchObject({
      ordersSubmitted: 2,
      ordersDenied: 1,
      deniedByCode: { PLUGIN_ERROR: 1 },
      pluginErrors: 1,
    });
    expect(failures.map((f) => [f.plugin, f.hook, (f.error as Error).message])).toEqual([
      ['flaky', 'beforeOrder', 'boom'],
    ]);
  });

  it('a rejected promise or a non-decision from beforeOrder also denies with PLUGIN_ERROR', async () => {
    const engine = new Engine();
    engine.use({ name: 'rejects', beforeOrder: () => Promise.reject(new Error('async boom')) });
    expect(await engine.submitOrder(order('o1'))).toMatchObject({ allow: false, code: 'PLUGIN_ERROR' });
    const other = new Engine();
    other.use({ name: 'junk', beforeOrder: () => ({ allow: 'yes' }) as never });
    other.use({ name: 'undefined', beforeOrder: () => undefined as never });
    expect(await other.submitOrder(order('o1'))).toMatchObject({ allow: false, code: 'PLUGIN_ERROR' });
    expect(other.pluginErrors()).toEqual({ junk: { beforeOrder: 1 } });
  });

  it('the first deny wins and later plugins are not asked', async () => {
    const engine = new Engine();
    const asked: string[] = [];
    engine.use({ name: 'a', beforeOrder: () => (asked.push('a'), ALLOW) });
    engine.use({ name: 'b', beforeOrder: () => (asked.push('b'), deny('TRADING_HALTED', 'halted')) });
    engine.use({ name: 'c', beforeOrder: () => (asked.push('c'), deny('POSITION_LIMIT', 'full')) });
    expect(await engine.submitOrder(order('o1'))).toEqual({ allow: false, code: 'TRADING_HALTED', message: 'halted' });
    expect(asked).toEqual(['a', 'b']);
    expect(engine.stats().deniedByCode).toEqual({ TRADING_HALTED: 1 });
  });

  it('a throwing onBar, onBars, onFill, onPortfolio, onInit or onDispose is counted per hook and the replay completes', async () => {
    const engine = new Engine();
    const ok = recorder('ok', [], 'bar');
    engine.use({
      name: 'bad',
      onInit: () => {
        throw new Error('init');
      },
      onBar: () => {
        throw new Error('bar');
      },
      onFill: () => {
        throw new Error('fill');
      },
      onPortfolio: async () => {
        throw new Error('portfolio');
      },
      onDispose: () => {
        throw new Error('dispose');
      },
    });
    engine.use({
      name: 'bad-batch',
      onBars: () => {
        throw new Error('bars');
      },
    });
    engine.use(ok);
    await engine.orders.send({
      kind: 'PLACE_STOP',
      clientOrderId: 's',
      symbol: 'ACME',
      side: 'BUY',
      quantity: 1,
      stopPrice: 10.5,
    });
    await engine.submitOrder({ ...order('e'), side: 'SELL' });
    const s = await engine.replay([
      bar(0, 'ACME', 10, 11, 9, 10),
      bar(0, 'BETA', 5, 6, 4, 5),
      bar(1, 'ACME', 10, 11, 9, 10),
    ]);
    expect(s).toMatchObject({ barsAccepted: 3, batches: 2, fills: 2 });
    expect(ok.events.filter((e) => e.startsWith('bar '))).toEqual(['bar ACME', 'bar BETA', 'bar ACME']);
    await engine.dispose();
    // onBar is called per bar (3 bars), onFill per fill (2), onPortfolio per batch (2).
    expect(engine.pluginErrors()).toEqual({
      bad: { onInit: 1, onBar: 3, onFill: 2, onPortfolio: 2, onDispose: 1 },
      'bad-batch': { onBars: 2 },
    });
    expect(engine.stats().pluginErrors).toBe(11);
  });
});
