/**
 * protections.stoplossGuard and cooldownAfterExitMs, through the plugin (LOCAL stops: a bar
 * through the stop is a stop-out), with fake timers; the locks survive a restart through a
 * FileProtectionStore. The rules, as the issue states them: N stop-outs within W lock entries
 * for L (per symbol, or across all); a stop-out refuses re-entry in its symbol for C.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRiskPlugin, isBulwarkError } from '../../src/index.js';
import { FileProtectionStore } from '../../src/limits/protection-store.js';
import type { ProtectionsConfig } from '../../src/limits/pre-trade-config.js';
import type { Position } from '../../src/vocabulary/market.js';
import type { OrderDecision } from '../../src/vocabulary/orders.js';
import { bar, fakeContext, MIN, order, T0 } from '../plugin/helpers.js';

afterEach(() => vi.useRealTimers());

const codeOf = (d: OrderDecision) => (d.allow ? 'ALLOW' : d.code);

/** A plugin with LOCAL percent stops (2 %) and `protections`; `stopOut(symbol)` opens a position and runs the market through its stop. */
async function plugin(protections: ProtectionsConfig, store?: FileProtectionStore) {
  const p = createRiskPlugin(
    { protections, stops: { policy: { rules: [{ kind: 'PERCENT', percent: 2 }] } } },
    store === undefined ? {} : { protectionStore: store },
  );
  await p.onInit(fakeContext().context);
  const stopOut = async (symbol: string) => {
    vi.advanceTimersByTime(MIN);
    const held: Position[] = [{ symbol, side: 'LONG', quantity: 10, entryPrice: 100, openedAt: Date.now() }];
    await p.onBars([bar(symbol, Date.now(), 100)]);
    p.onPortfolio({ timestamp: Date.now(), equity: 1e6, positions: held });
    vi.advanceTimersByTime(MIN);
    await p.onBars([bar(symbol, Date.now(), 90)]); // through the 2 % stop: TRIGGERED
    p.onPortfolio({ timestamp: Date.now(), equity: 1e6, positions: [] });
  };
  return { p, stopOut };
}

describe('protections.stoplossGuard and cooldownAfterExitMs', () => {
  it('SYMBOL scope: 3 stop-outs within the window lock that symbol’s entries for lockMs, not the others’', async () => {
    vi.useFakeTimers({ now: T0 });
    const { p, stopOut } = await plugin({
      stoplossGuard: { stopOuts: 3, withinMs: 3_600_000, lockMs: 7_200_000, scope: 'SYMBOL' },
    });
    await stopOut('AAA');
    await stopOut('AAA');
    expect(p.stats().stops.triggered).toBe(2);
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA' })))).toBe('ALLOW'); // two: not yet
    await stopOut('AAA');
    const locked = p.beforeOrder(order({ symbol: 'AAA' }));
    expect(codeOf(locked)).toBe('STOPLOSS_GUARD');
    expect(locked.allow ? '' : locked.message).toMatch(/3 stop-outs within 3600000 ms in AAA/);
    expect(codeOf(p.beforeOrder(order({ symbol: 'BBB' })))).toBe('ALLOW');
    vi.advanceTimersByTime(7_200_000 - 1);
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA' })))).toBe('STOPLOSS_GUARD');
    vi.advanceTimersByTime(1);
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA' })))).toBe('ALLOW');
    await p.onDispose();
  });

  it('stop-outs spread wider than the window do not lock; ALL scope counts across symbols and locks every one', async () => {
    vi.useFakeTimers({ now: T0 });
    const wide = await plugin({ stoplossGuard: { stopOuts: 2, withinMs: 10 * MIN, lockMs: 60 * MIN, scope: 'ALL' } });
    await wide.stopOut('AAA'); // stop-outs 2 minutes apart each (stopOut advances 2 min)
    vi.advanceTimersByTime(20 * MIN);
    await wide.stopOut('BBB'); // 22 minutes after the first: outside the 10-minute window
    expect(codeOf(wide.p.beforeOrder(order({ symbol: 'CCC' })))).toBe('ALLOW');
    await wide.stopOut('CCC'); // 2 minutes after BBB's: two within the window, across symbols
    expect(codeOf(wide.p.beforeOrder(order({ symbol: 'DDD' })))).toBe('STOPLOSS_GUARD');
    await wide.p.onDispose();
  });

  it('cooldownAfterExitMs: no re-entry in the stopped-out symbol for that long; exits always pass', async () => {
    vi.useFakeTimers({ now: T0 });
    const { p, stopOut } = await plugin({ cooldownAfterExitMs: 5 * MIN });
    await stopOut('AAA');
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA' })))).toBe('COOLDOWN');
    expect(codeOf(p.beforeOrder(order({ symbol: 'BBB' })))).toBe('ALLOW');
    p.onPortfolio({
      timestamp: Date.now(),
      equity: 1e6,
      positions: [{ symbol: 'AAA', side: 'LONG', quantity: 5, entryPrice: 100, openedAt: Date.now() }],
    });
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA', side: 'SELL', quantity: 5 })))).toBe('ALLOW'); // an exit
    vi.advanceTimersByTime(5 * MIN);
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA' })))).toBe('ALLOW');
    await p.onDispose();
  });

  it('the locks survive a restart: a new plugin on the same store refuses the same entries until they expire', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const path = join(await mkdtemp(join(tmpdir(), 'bulwark-locks-')), 'protections.json');
    const protections: ProtectionsConfig = {
      stoplossGuard: { stopOuts: 2, withinMs: 60 * MIN, lockMs: 120 * MIN, scope: 'SYMBOL' },
      cooldownAfterExitMs: 30 * MIN,
    };
    const first = await plugin(protections, new FileProtectionStore(path));
    await first.stopOut('AAA');
    await first.stopOut('AAA');
    await first.stopOut('BBB');
    await first.p.onDispose(); // the process ends (or dies): the locks were saved when set
    await vi.waitFor(async () => expect((await new FileProtectionStore(path).load())?.guard).toHaveProperty('AAA'));
    const second = await plugin(protections, new FileProtectionStore(path));
    expect(codeOf(second.p.beforeOrder(order({ symbol: 'AAA' })))).toBe('STOPLOSS_GUARD');
    expect(codeOf(second.p.beforeOrder(order({ symbol: 'BBB' })))).toBe('COOLDOWN');
    expect(codeOf(second.p.beforeOrder(order({ symbol: 'CCC' })))).toBe('ALLOW');
    vi.advanceTimersByTime(120 * MIN);
    expect(codeOf(second.p.beforeOrder(order({ symbol: 'AAA' })))).toBe('ALLOW');
    await second.p.onDispose();
  });

  it('bad settings are refused with every other problem', () => {
    let caught: unknown;
    try {
      createRiskPlugin({
        protections: {
          stoplossGuard: { stopOuts: 0, withinMs: 1, lockMs: -5, scope: 'SOME' as 'ALL' },
          cooldownAfterExitMs: 1.5,
        },
      });
    } catch (e) {
      caught = e;
    }
    expect(isBulwarkError(caught, 'INVALID_CONFIG')).toBe(true);
    expect((caught as { details: { problems: string[] } }).details.problems).toEqual(
      expect.arrayContaining([
        'protections.stoplossGuard.stopOuts must be an integer > 0',
        'protections.stoplossGuard.lockMs must be an integer > 0',
        'protections.stoplossGuard.scope must be SYMBOL or ALL',
        'protections.cooldownAfterExitMs must be an integer > 0 (ms)',
      ]),
    );
  });
});
