/**
 * Runs Bulwark inside the plugin-factory engine on a small made-up market: two pairs rise
 * (stops trail up at the host), then one gaps down through its stop (filled at the open, far
 * below it) and the drawdown ladder halts: a new entry is vetoed.
 *
 *     npx tsx examples/factory-engine/run.ts
 */
import { bulwarkFactory } from './bulwark-adapter.js';
import { FactoryEngine, type Candle } from './host-engine.js';
import type { RiskPlugin } from '../../src/index.js';

/** A path of closes per pair, one candle per minute. */
export function market(): Candle[][] {
  const t0 = 1_772_461_800; // 2026-03-02 14:30 UTC, seconds
  const btc = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 82, 80, 79, 78]; // gaps down at 14:41
  const eth = [50, 50.5, 51, 51.5, 52, 52.5, 53, 53.5, 54, 54.5, 55, 55.2, 55.1, 55.3, 55.4];
  return btc.map((b, i) => {
    const e = eth[i] as number;
    const candle = (pair: string, c: number, open: number): Candle => ({
      pair,
      ts: t0 + 60 * i,
      o: open,
      h: Math.max(open, c) * 1.001,
      l: Math.min(open, c) * 0.999,
      c,
      v: 1_000,
    });
    const btcOpen = i === 11 ? 83 : (btc[i - 1] ?? b); // the gap: it opens far below its stop
    return [candle('BTC/USDT', b, btcOpen), candle('ETH/USDT', e, eth[i - 1] ?? e)];
  });
}

/** Runs the example; returns the engine and the plugin for inspection. */
export async function runExample(
  print: (line: string) => void = console.log,
): Promise<{ engine: FactoryEngine; plugin: RiskPlugin; vetoes: string[] }> {
  const engine = new FactoryEngine(100_000);
  let risk: RiskPlugin | undefined;
  engine.register(
    bulwarkFactory(
      {
        stops: { atrPeriod: 3, policy: { rules: [{ kind: 'CHANDELIER', multiple: 2 }] } },
        drawdown: { warnAt: 0.02, reduceAt: 0.04, haltAt: 0.06, resumeBelow: 0.01 },
      },
      (p) => (risk = p),
    ),
  );
  await engine.start();
  const plugin = risk as RiskPlugin;
  plugin.subscribe((e) => {
    if (e.kind === 'STATE_CHANGED') print(`state ${e.from} → ${e.to} (${e.cause})`);
  });
  const vetoes: string[] = [];
  const candles = market();
  for (let i = 0; i < candles.length; i++) {
    await engine.step(candles[i] as Candle[]);
    if (i === 0) {
      // Size both so that BTC's fall costs more than the 6 % halt threshold of equity.
      await engine.open({ id: 'o-btc', pair: 'BTC/USDT', direction: 'long', amount: 700 });
      await engine.open({ id: 'o-eth', pair: 'ETH/USDT', direction: 'long', amount: 500 });
    }
    if (i === 13) {
      const r = await engine.open({ id: 'o-btc-2', pair: 'BTC/USDT', direction: 'long', amount: 100 });
      if (!r.opened) vetoes.push(r.reason ?? '');
    }
  }
  for (const s of engine.stops) print(`resting stop ${s.id} ${s.pair} ${s.side} @ ${s.stopPrice.toFixed(2)}`);
  for (const v of vetoes) print(`entry vetoed: ${v}`);
  print(`stops placed ${plugin.stats().stops.placed}, moved ${plugin.stats().stops.moved}; state ${plugin.state}`);
  return { engine, plugin, vetoes };
}

if (import.meta.url === `file://${process.argv[1]}`) await runExample();
