import type { Engine, Strategy } from '../engine/index.js';
import type { Bar } from '../vocabulary/market.js';

/** Options of {@link createDemoStrategy}. */
export interface DemoStrategyOptions {
  /** Gross exposure as a multiple of equity. Default 3. */
  readonly grossLeverage?: number;
  /** One symbol in this many is shorted, the rest bought (net long into the crash). Default 10. */
  readonly shortEvery?: number;
  /** Minutes between entry rounds (flat symbols are re-entered). Default 30. */
  readonly reentryEveryMin?: number;
}

/**
 * The demo's strategy: on the first batch and every `reentryEveryMin` batches after, opens a
 * position in every flat symbol (equal notional, market orders through the engine, so every
 * order passes the risk plugin's pre-trade check). Deterministic.
 *
 * @example
 * ```ts
 * await engine.replay('data/demo-day.csv', { strategy: createDemoStrategy() });
 * ```
 */
export function createDemoStrategy(options: DemoStrategyOptions = {}): Strategy {
  const gross = options.grossLeverage ?? 3;
  const shortEvery = options.shortEvery ?? 10;
  const every = options.reentryEveryMin ?? 30;
  let minute = 0;
  let orderSeq = 0;
  const symbols: string[] = [];
  return async (bars: readonly Bar[], e: Engine): Promise<void> => {
    if (minute === 0) for (const b of bars) symbols.push(b.symbol);
    if (minute % every === 0) {
      const notional = (e.portfolio.equity() * gross) / Math.max(symbols.length, 1);
      for (const b of bars) {
        if (e.portfolio.position(b.symbol) !== undefined) continue;
        const long = symbols.indexOf(b.symbol) % shortEvery !== shortEvery - 1;
        const quantity = Math.floor(notional / b.close);
        if (quantity <= 0) continue;
        await e.submitOrder({
          clientOrderId: `demo-${++orderSeq}`,
          symbol: b.symbol,
          side: long ? 'BUY' : 'SELL',
          quantity,
          type: 'MARKET',
          intent: 'ENTRY',
        });
      }
    }
    minute++;
  };
}
