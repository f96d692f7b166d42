import { afterEach, describe, expect, it, vi } from 'vitest';
import { isBulwarkError } from '../../src/errors.js';
import { createRiskPlugin, type RiskPlugin } from '../../src/plugin/risk-plugin.js';
import type { RiskEvent } from '../../src/plugin/risk-events.js';
import { VirtualClock } from '../../src/util/clock.js';
import type { Position } from '../../src/vocabulary/market.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { OpenOrder, PluginContext } from '../../src/vocabulary/services.js';
import { bar, fakeContext, fakeCoordinator, MIN, order, T0 } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A promise and the function that resolves it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets pending promise chains and immediates run (no timers: they are driven by the test). */
async function drain(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

const long = (symbol: string, quantity = 10, entryPrice = 100): Position => ({
  symbol,
  side: 'LONG',
  quantity,
  entryPrice,
  openedAt: T0,
});

/** Everything observable about a plugin: stats, stops, state, and its metrics exposition. */
async function observe(plugin: RiskPlugin) {
  return {
    stats: plugin.stats(),
    json: JSON.stringify(plugin.toJSON()),
    state: plugin.state,
    metrics: await plugin.metrics.registry.metrics(),
  };
}

/** Calls every hook that changes state and expects each to refuse: throw PLUGIN_DISPOSED, or deny without counting. */
async function expectInert(plugin: RiskPlugin): Promise<void> {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return isBulwarkError(e) ? e.code : String(e);
    }
    return 'no error';
  };
  expect(code(() => plugin.onBars([bar('AAA', T0 + 99 * MIN, 100)]))).toBe('PLUGIN_DISPOSED');
  expect(code(() => plugin.onBar(bar('AAA', T0 + 99 * MIN, 100)))).toBe('PLUGIN_DISPOSED');
  expect(
    code(() =>
      plugin.onFill({ fillId: 'f', orderId: 'o', symbol: 'AAA', side: 'SELL', quantity: 1, price: 1, timestamp: T0 }),
    ),
  ).toBe('PLUGIN_DISPOSED');
  expect(code(() => plugin.onPortfolio({ timestamp: T0 + 99 * MIN, equity: 1, positions: [] }))).toBe(
    'PLUGIN_DISPOSED',
  );
  expect(code(() => plugin.reset())).toBe('PLUGIN_DISPOSED');
  expect(plugin.beforeOrder(order())).toEqual({ allow: false, code: 'PLUGIN_ERROR', message: 'risk plugin disposed' });
  await expect(plugin.onInit(fakeContext().context)).resolves.toBeUndefined(); // the first onInit's promise
}

describe('RiskPlugin lifecycle: after onDispose nothing changes state', () => {
  it('a kill switch engaged after dispose does not HALT the plugin: the coordinator is left with no listener', async () => {
    const { c, coordinator } = fakeCoordinator(['AAA']);
    const plugin = createRiskPlugin({}, { coordinator });
    await plugin.onInit(fakeContext().context);
    const events: RiskEvent[] = [];
    plugin.subscribe((e) => events.push(e));
    expect(c.listeners).toBe(1);
    await plugin.onDispose();
    expect(c.listeners).toBe(0);
    const before = await observe(plugin);
    c.state = 'HALTED';
    c.emit({ kind: 'KILL_SWITCH_ENGAGED', reason: 'test', by: 'i-2', timestamp: T0 });
    c.emit({ kind: 'STATE_CHANGED', from: 'ACTIVE', to: 'HALTED', cause: 'KILL_SWITCH_ENGAGED', timestamp: T0 });
    expect(plugin.state).toBe('ACTIVE');
    expect(plugin.beforeOrder(order())).toMatchObject({ allow: false, code: 'PLUGIN_ERROR' });
    expect(plugin.state).toBe('ACTIVE'); // beforeOrder no longer reads the coordinator's state either
    await expectInert(plugin);
    expect(await observe(plugin)).toEqual(before);
    expect(events).toEqual([]);
  });

  it('dispose while onInit is loading the kernels: the coordinator subscription the init would make is never made', async () => {
    const { c, coordinator } = fakeCoordinator(['AAA']);
    const plugin = createRiskPlugin({}, { coordinator });
    const init = plugin.onInit(fakeContext().context);
    await plugin.onDispose(); // waits for the init under way
    await init;
    expect(c.listeners).toBe(0);
    c.state = 'HALTED';
    c.emit({ kind: 'KILL_SWITCH_ENGAGED', reason: 'test', by: 'i-2', timestamp: T0 });
    expect(plugin.state).toBe('ACTIVE');
    expect(plugin.beforeOrder(order())).toMatchObject({ allow: false, code: 'PLUGIN_ERROR' });
    expect(plugin.state).toBe('ACTIVE');
    expect(plugin.stats().orders).toEqual({ allowed: 0, denied: {} });
  });

  it('dispose while onInit is adopting resting stops (BROKER): what the init built is released, no timer, listener or command is left', async () => {
    const { c, coordinator } = fakeCoordinator(['AAA']);
    const clock = new VirtualClock(T0);
    const open = deferred<readonly OpenOrder[]>();
    let reads = 0;
    const sent: ProtectiveCommand[] = [];
    const ctx: PluginContext = {
      now: () => clock.now(),
      portfolio: { positions: () => Promise.resolve([]) },
      orders: {
        send: (cmd) => (sent.push(cmd), Promise.resolve({ ok: true, clientOrderId: cmd.clientOrderId })),
        openOrders: () => (reads++, open.promise),
      },
    };
    const plugin = createRiskPlugin({ stops: { mode: 'BROKER' } }, { coordinator, clock });
    const init = plugin.onInit(ctx);
    while (reads === 0) await drain(1); // the init is waiting for the broker's list
    const disposed = plugin.onDispose();
    open.resolve([
      {
        clientOrderId: 'bw-x-1',
        symbol: 'AAA',
        side: 'SELL',
        quantity: 10,
        type: 'STOP',
        price: 95,
        intent: 'PROTECTIVE',
      },
    ]);
    await Promise.all([init, disposed]);
    expect(reads).toBe(1); // the reconciler never started its own read
    expect(clock.pending).toBe(0);
    expect(c.listeners).toBe(0);
    expect(plugin.restoredStops).toBe(0);
    clock.advanceTo(T0 + 60 * MIN);
    await drain();
    expect(reads).toBe(1);
    expect(sent).toEqual([]);
    await expectInert(plugin);
  });

  it("the stop reconciler's timers are cleared: no broker read and no command once disposed (BROKER, virtual clock)", async () => {
    const clock = new VirtualClock(T0);
    let reads = 0;
    const { context, sent } = fakeContext({ now: () => clock.now() });
    const orders = { ...context.orders, openOrders: () => (reads++, context.orders.openOrders()) };
    const plugin = createRiskPlugin(
      { stops: { mode: 'BROKER', policy: { rules: [{ kind: 'PERCENT', percent: 5 }] }, reconcile: { rereadMs: MIN } } },
      { clock },
    );
    await plugin.onInit({ ...context, orders });
    plugin.onPortfolio({ timestamp: T0, equity: 1e6, positions: [long('AAA')] });
    await drain();
    expect(sent.map((s) => s.kind)).toContain('PLACE_STOP');
    expect(clock.pending).toBeGreaterThan(0); // the periodic re-read at least
    await plugin.onDispose();
    expect(clock.pending).toBe(0);
    const before = await observe(plugin);
    const [readsBefore, sentBefore] = [reads, sent.length];
    clock.advanceTo(T0 + 30 * MIN);
    await drain();
    expect([reads, sent.length]).toEqual([readsBefore, sentBefore]);
    expect(await observe(plugin)).toEqual(before);
  });

  it('a batch parked at a yield stops there, a queued batch never starts, and both calls still resolve', async () => {
    const plugin = createRiskPlugin({
      limits: { chunkSize: 2 },
      stops: { policy: { rules: [{ kind: 'TRAILING', percent: 5, activationPercent: 0 }] } },
    });
    await plugin.onInit(fakeContext().context);
    const symbols = Array.from({ length: 10 }, (_, i) => `S${i}`);
    plugin.onPortfolio({ timestamp: T0, equity: 1e6, positions: symbols.map((s) => long(s)) });
    const events: RiskEvent[] = [];
    plugin.subscribe((e) => events.push(e));
    // Rising closes: every bar processed moves its stop.
    const first = plugin.onBars(symbols.map((s) => bar(s, T0 + MIN, 110)));
    const queued = plugin.onBars(symbols.map((s) => bar(s, T0 + 2 * MIN, 120)));
    await plugin.onDispose(); // the first batch has moved its first chunk's stops and yielded
    const before = await observe(plugin);
    expect(before.stats.stops.moved).toBe(2);
    events.length = 0;
    await Promise.all([first, queued]);
    await drain();
    expect(await observe(plugin)).toEqual(before);
    expect(events).toEqual([]);
  });

  it("the drawdown ladder's recovery timer does not bring the plugin back to ACTIVE after dispose (fake timers)", async () => {
    vi.useFakeTimers({ now: T0 });
    const plugin = createRiskPlugin({ drawdown: { cooldownMs: 10 * MIN } });
    await plugin.onInit(fakeContext().context);
    const events: RiskEvent[] = [];
    plugin.subscribe((e) => events.push(e));
    plugin.onPortfolio({ timestamp: T0, equity: 1_000, positions: [] });
    plugin.onPortfolio({ timestamp: T0 + MIN, equity: 880, positions: [] });
    plugin.onPortfolio({ timestamp: T0 + 2 * MIN, equity: 990, positions: [] }); // recovered: the cooldown starts
    expect(plugin.state).toBe('REDUCING');
    expect(vi.getTimerCount()).toBe(1);
    await plugin.onDispose();
    expect(vi.getTimerCount()).toBe(0);
    const before = await observe(plugin);
    events.length = 0;
    await vi.advanceTimersByTimeAsync(60 * MIN);
    expect(await observe(plugin)).toEqual(before);
    expect(plugin.state).toBe('REDUCING');
    expect(events).toEqual([]);
  });

  it("a HALT's cancels whose broker read ends after dispose are not sent", async () => {
    const open = deferred<readonly OpenOrder[]>();
    const sent: ProtectiveCommand[] = [];
    const plugin = createRiskPlugin();
    await plugin.onInit({
      now: () => T0,
      portfolio: { positions: () => Promise.resolve([]) },
      orders: {
        send: (cmd) => (sent.push(cmd), Promise.resolve({ ok: true, clientOrderId: cmd.clientOrderId })),
        openOrders: () => open.promise,
      },
    });
    plugin.onPortfolio({ timestamp: T0, equity: 1_000, positions: [] });
    plugin.onPortfolio({ timestamp: T0 + MIN, equity: 800, positions: [] }); // HALTED: entries are to be cancelled
    expect(plugin.state).toBe('HALTED');
    await plugin.onDispose();
    open.resolve([
      { clientOrderId: 'e1', symbol: 'AAA', side: 'BUY', quantity: 1, type: 'LIMIT', price: 9, intent: 'ENTRY' },
    ]);
    await drain();
    expect(sent).toEqual([]);
  });

  it('listeners hear nothing after dispose, a late subscriber is not added, and onDispose is idempotent', async () => {
    const plugin = createRiskPlugin();
    await plugin.onInit(fakeContext().context);
    const events: RiskEvent[] = [];
    plugin.subscribe((e) => events.push(e));
    const first = plugin.onDispose();
    expect(plugin.onDispose()).toBe(first);
    await first;
    const late: RiskEvent[] = [];
    const unsubscribe = plugin.subscribe((e) => late.push(e));
    await expectInert(plugin);
    unsubscribe();
    expect([events, late]).toEqual([[], []]);
  });

  it('a plugin disposed before onInit refuses to start: onInit rejects PLUGIN_DISPOSED; in shadow mode beforeOrder lets orders through', async () => {
    const plugin = createRiskPlugin({ shadow: true });
    await plugin.onDispose();
    await expect(plugin.onInit(fakeContext().context)).rejects.toMatchObject({ code: 'PLUGIN_DISPOSED' });
    expect(plugin.beforeOrder(order())).toEqual({ allow: true });
    expect(plugin.stats().orders).toEqual({ allowed: 0, denied: {} });
  });

  it('the metrics keep the final values and no longer read the plugin', async () => {
    const plugin = createRiskPlugin();
    await plugin.onInit(fakeContext().context);
    await plugin.onBars([bar('AAA', T0, 100), { ...bar('BBB', T0, 100), high: 1 }]);
    plugin.beforeOrder(order({ quantity: Number.NaN }));
    await plugin.onDispose();
    const text = await plugin.metrics.registry.metrics();
    expect(text).toContain('bulwark_bars_total{outcome="accepted"} 1');
    expect(text).toContain('bulwark_bars_total{outcome="rejected"} 1');
    expect(text).toContain('bulwark_orders_denied_total{code="INVALID_ORDER"} 1');
    const stats = vi.spyOn(plugin, 'stats');
    plugin.beforeOrder(order({ quantity: Number.NaN }));
    expect(await plugin.metrics.registry.metrics()).toBe(text);
    expect(stats).not.toHaveBeenCalled();
  });
});
