import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { BulwarkMetrics } from '../../src/metrics/bulwark-metrics.js';
import { createRiskPlugin, type RiskPlugin } from '../../src/plugin/risk-plugin.js';
import type { RiskPluginConfig } from '../../src/plugin/config.js';
import { bar, fakeContext, MIN, order, T0 } from './helpers.js';

afterEach(() => vi.restoreAllMocks());

/** The value of one series in the exposition (the exact `name{labels}` text), or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function started(metrics: BulwarkMetrics, config: RiskPluginConfig = {}): Promise<RiskPlugin> {
  const plugin = createRiskPlugin(config, { metrics });
  await plugin.onInit(fakeContext().context);
  return plugin;
}

/**
 * Plugin `a` takes two good bars and a bad one, denies an invalid order and stays ACTIVE at 2 %
 * drawdown; plugin `b` takes one good bar and falls to REDUCING at 12 %.
 */
async function twoPlugins(metrics: BulwarkMetrics, names: [string | undefined, string | undefined] = ['a', 'b']) {
  const [na, nb] = names;
  const a = await started(metrics, na === undefined ? {} : { name: na });
  const b = await started(metrics, nb === undefined ? {} : { name: nb });
  await a.onBars([bar('AAA', T0, 100), bar('BBB', T0, 50), { ...bar('CCC', T0, 10), high: 1 }]);
  a.beforeOrder(order({ quantity: Number.NaN }));
  a.onPortfolio({ timestamp: T0, equity: 1_000, positions: [] });
  a.onPortfolio({ timestamp: T0 + MIN, equity: 980, positions: [] });
  await b.onBars([bar('AAA', T0, 100)]);
  b.onPortfolio({ timestamp: T0, equity: 1_000, positions: [] });
  b.onPortfolio({ timestamp: T0 + MIN, equity: 880, positions: [] });
  expect([a.state, b.state]).toEqual(['ACTIVE', 'REDUCING']);
  return { a, b };
}

describe('several risk plugins on one BulwarkMetrics', () => {
  it('by default the series are aggregated: counters summed, plugins counted per state, the worst drawdown', async () => {
    const metrics = new BulwarkMetrics();
    const { a, b } = await twoPlugins(metrics, [undefined, undefined]); // both named 'bulwark': allowed here
    const text = await metrics.registry.metrics();
    expect(value(text, 'bulwark_bars_total{outcome="accepted"}')).toBe(3);
    expect(value(text, 'bulwark_bars_total{outcome="rejected"}')).toBe(1);
    expect(value(text, 'bulwark_rejections_total{code="INCONSISTENT_OHLC"}')).toBe(1);
    expect(value(text, 'bulwark_orders_denied_total{code="INVALID_ORDER"}')).toBe(1);
    expect(value(text, 'bulwark_trading_state{state="ACTIVE"}')).toBe(1);
    expect(value(text, 'bulwark_trading_state{state="REDUCING"}')).toBe(1);
    expect(value(text, 'bulwark_trading_state{state="HALTED"}')).toBe(0);
    expect(value(text, 'bulwark_drawdown_ratio')).toBeCloseTo(0.12, 12);
    expect(text).not.toContain('plugin=');
    await Promise.all([a.onDispose(), b.onDispose()]);
  });

  it('with pluginLabel each plugin has its own series, labelled by its name', async () => {
    const metrics = new BulwarkMetrics({ pluginLabel: 'plugin' });
    const { a, b } = await twoPlugins(metrics);
    const text = await metrics.registry.metrics();
    expect(value(text, 'bulwark_bars_total{outcome="accepted",plugin="a"}')).toBe(2);
    expect(value(text, 'bulwark_bars_total{outcome="rejected",plugin="a"}')).toBe(1);
    expect(value(text, 'bulwark_bars_total{outcome="accepted",plugin="b"}')).toBe(1);
    expect(value(text, 'bulwark_bars_total{outcome="rejected",plugin="b"}')).toBe(0);
    expect(value(text, 'bulwark_orders_denied_total{code="INVALID_ORDER",plugin="a"}')).toBe(1);
    expect(value(text, 'bulwark_trading_state{state="ACTIVE",plugin="a"}')).toBe(1);
    expect(value(text, 'bulwark_trading_state{state="REDUCING",plugin="a"}')).toBe(0);
    expect(value(text, 'bulwark_trading_state{state="REDUCING",plugin="b"}')).toBe(1);
    expect(value(text, 'bulwark_drawdown_ratio{plugin="a"}')).toBeCloseTo(0.02, 12);
    expect(value(text, 'bulwark_drawdown_ratio{plugin="b"}')).toBeCloseTo(0.12, 12);
    await Promise.all([a.onDispose(), b.onDispose()]);
  });

  it('with pluginLabel, a second live plugin of the same name is refused (INVALID_OPTION), and so is a label the metrics use', async () => {
    const metrics = new BulwarkMetrics({ pluginLabel: 'plugin' });
    const a = createRiskPlugin({ name: 'a' }, { metrics });
    expect(() => createRiskPlugin({ name: 'a' }, { metrics })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    await a.onDispose();
    createRiskPlugin({ name: 'a' }, { metrics }); // the disposed one's place is free again
    for (const pluginLabel of ['state', 'code', '__name', 'bad-label', ''])
      expect(() => new BulwarkMetrics({ pluginLabel })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it("a disposed plugin is unwatched: no longer read, its final values kept, the other plugin's live", async () => {
    const metrics = new BulwarkMetrics({ registry: new Registry(), pluginLabel: 'plugin' });
    const { a, b } = await twoPlugins(metrics);
    await a.onDispose();
    const stats = vi.spyOn(a, 'stats');
    const drawdown = vi.spyOn(a, 'drawdown', 'get');
    await b.onBars([bar('AAA', T0 + MIN, 100)]);
    const text = await metrics.registry.metrics();
    expect(stats).not.toHaveBeenCalled();
    expect(drawdown).not.toHaveBeenCalled();
    expect(value(text, 'bulwark_bars_total{outcome="accepted",plugin="a"}')).toBe(2);
    expect(value(text, 'bulwark_trading_state{state="ACTIVE",plugin="a"}')).toBe(1);
    expect(value(text, 'bulwark_drawdown_ratio{plugin="a"}')).toBeCloseTo(0.02, 12);
    expect(value(text, 'bulwark_bars_total{outcome="accepted",plugin="b"}')).toBe(2);
    await b.onDispose();
  });

  it('a plugin of the same name takes a disposed one’s place: its counters go on from the earlier totals; forget drops them', async () => {
    const metrics = new BulwarkMetrics();
    const { a, b } = await twoPlugins(metrics);
    await a.onDispose();
    const again = await started(metrics, { name: 'a' });
    await again.onBars([bar('ZZZ', T0, 10)]);
    let text = await metrics.registry.metrics();
    expect(value(text, 'bulwark_bars_total{outcome="accepted"}')).toBe(4); // a 2 + a again 1 + b 1: never down
    expect(value(text, 'bulwark_trading_state{state="ACTIVE"}')).toBe(1); // the earlier a no longer counts
    expect(value(text, 'bulwark_trading_state{state="REDUCING"}')).toBe(1);
    await b.onDispose();
    metrics.forget('b');
    text = await metrics.registry.metrics();
    expect(value(text, 'bulwark_bars_total{outcome="accepted"}')).toBe(3);
    expect(value(text, 'bulwark_trading_state{state="REDUCING"}')).toBe(0);
    metrics.forget('a'); // a live plugin is not forgotten
    expect(value(await metrics.registry.metrics(), 'bulwark_bars_total{outcome="accepted"}')).toBe(3);
    await again.onDispose();
  });

  it("the order path's gauges are shared, and watch's deprecated plugin source still reads an unnamed plugin", async () => {
    const metrics = new BulwarkMetrics();
    const a = await started(metrics, { name: 'a' });
    await a.onBars([bar('AAA', T0, 100)]);
    const legacy = await started(new BulwarkMetrics(), { name: 'legacy' });
    await legacy.onBars([bar('AAA', T0, 100), bar('BBB', T0, 100)]);
    metrics.watch({ plugin: () => legacy.stats(), deadLetters: () => 7 });
    const text = await metrics.registry.metrics();
    expect(value(text, 'bulwark_bars_total{outcome="accepted"}')).toBe(3);
    expect(value(text, 'bulwark_dead_letters')).toBe(7);
    await Promise.all([a.onDispose(), legacy.onDispose()]);
  });
});
