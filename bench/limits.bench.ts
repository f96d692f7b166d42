import { createRiskPlugin, type Kernels, type RiskPlugin } from '../src/index.js';
import type { Bar, Position } from '../src/vocabulary/market.js';
import type { OrderRequest } from '../src/vocabulary/orders.js';
import type { PluginContext } from '../src/vocabulary/services.js';
import { measure, nsPerUnit, table, type Row } from './harness.js';

const POSITIONS = 10_000;
const CHECKS = 10_000;
const T0 = Date.parse('2026-03-02T14:30:00Z');

const symbols = Array.from({ length: POSITIONS }, (_, i) => `S${i.toString().padStart(5, '0')}`);
const context: PluginContext = {
  now: () => T0 + 60_000,
  portfolio: { positions: () => Promise.resolve([]) },
  orders: {
    send: (c) => Promise.resolve({ ok: true, clientOrderId: c.clientOrderId }),
    openOrders: () => Promise.resolve([]),
  },
};

/** A plugin holding 10 000 positions (a snapshot) with a close for each. */
async function holding(preTrade: Parameters<typeof createRiskPlugin>[0]): Promise<RiskPlugin> {
  const p = createRiskPlugin(preTrade);
  await p.onInit(context);
  const bars: Bar[] = symbols.map((symbol, i) => {
    const close = 20 + (i % 180);
    return { symbol, timestamp: T0, open: close, high: close * 1.001, low: close * 0.999, close, volume: 1_000 };
  });
  await p.onBars(bars);
  const positions: Position[] = symbols.map((symbol, i) => ({
    symbol,
    side: i % 3 === 0 ? 'SHORT' : 'LONG',
    quantity: 10 + (i % 50),
    entryPrice: 20 + (i % 180),
    openedAt: T0,
  }));
  p.onPortfolio({ timestamp: T0 + 60_000, equity: 1e9, positions });
  return p;
}

/**
 * `beforeOrder` with every pre-trade limit on, 10 000 positions in the book, beside the same
 * check with none: entries (MARKET and LIMIT BUYs of 1) on rotating symbols, all allowed (the
 * limits are set high), so every check runs in full. The limits keep running sums: the cost
 * does not grow with the positions.
 */
export async function beforeOrderCost(_k: Kernels): Promise<{ text: string; rows: Row[] }> {
  const all = await holding({
    limits: { maxPositions: POSITIONS + 10 },
    preTrade: {
      maxOrderNotional: 1e12,
      maxPositionNotional: 1e12,
      positionNotionalBySymbol: { S00001: 1e12 },
      groups: { first: symbols.slice(0, 5_000), odd: symbols.filter((_, i) => i % 2 === 1) },
      maxGroupNotional: { first: 1e12, odd: 1e12 },
      maxGrossExposure: 1e12,
      maxNetExposure: 1e12,
      maxOpenPositions: POSITIONS + 10,
      priceBandPercent: 50,
      maxOrdersPerDay: 1e9,
    },
  });
  const none = await holding({ limits: { maxPositions: POSITIONS + 10 } });
  const orders: OrderRequest[] = Array.from({ length: CHECKS }, (_, i) => ({
    clientOrderId: `b${i}`,
    symbol: symbols[(i * 7919) % POSITIONS] as string,
    side: 'BUY',
    quantity: 1,
    ...(i % 2 === 0
      ? { type: 'MARKET' as const }
      : { type: 'LIMIT' as const, price: 20 + (((i * 7919) % POSITIONS) % 180) }),
    intent: 'ENTRY',
  }));
  let denied = 0;
  const run = (p: RiskPlugin) => () => {
    for (const o of orders) if (!p.beforeOrder(o).allow) denied++;
  };
  const rows = await measure([
    { name: 'beforeOrder, no pre-trade limits', units: CHECKS, fn: run(none) },
    { name: 'beforeOrder, every pre-trade limit on', units: CHECKS, fn: run(all) },
  ]);
  await all.onDispose();
  await none.onDispose();
  if (denied > 0) throw new Error(`${denied} checks were denied: the benchmark measures full checks`);
  const text = [
    table(`Pre-trade check with ${POSITIONS.toLocaleString('en')} positions held (all allowed)`, 'check', rows),
    '',
    `- Every limit on costs ${(nsPerUnit(rows[1] as Row) - nsPerUnit(rows[0] as Row)).toFixed(0)} ns more per check; it reads running sums, not the ${POSITIONS.toLocaleString('en')} positions.`,
  ].join('\n');
  return { text, rows };
}
