import { createRiskPlugin } from '../src/index.js';
import type { Bar } from '../src/vocabulary/market.js';
const N = 10_000, T = 500;
const syms = Array.from({ length: N }, (_, i) => `S${i.toString().padStart(5, '0')}`);
const price = new Float64Array(N).fill(100);
let seed = 1; const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const mk = (t: number): Bar[] => syms.map((symbol, i) => { const o = price[i]!; const c = o * (1 + 0.0006 * (rnd() - 0.5)); price[i] = c; return { symbol, timestamp: 1e12 + t * 60000, open: o, high: Math.max(o, c) * 1.004, low: Math.min(o, c) * 0.996, close: c, volume: 1000 + 300 * rnd() }; });
const plugin = createRiskPlugin({ stops: { policy: { rules: [{ kind: 'ATR', multiple: 6 }, { kind: 'CHANDELIER', multiple: 6 }] } }, ...(process.argv[2] === 'floor' ? { anomaly: { spikeWindow: 3, minSamples: 3, priceZ: 1e6, badTickZ: 1e6, volumeZ: 1e6, correlationSymbols: 0 } } : {}) });
await plugin.onInit({ now: () => 1e12, portfolio: { positions: async () => [] }, orders: { send: async (c) => ({ ok: true, clientOrderId: c.clientOrderId }), openOrders: async () => [] } });
plugin.onPortfolio({ timestamp: 1e12 - 1, equity: 1e9, positions: syms.map((symbol, i) => ({ symbol, side: i % 2 ? 'SHORT' : 'LONG', quantity: 1, entryPrice: 100, openedAt: 0 })) });
for (let t = 0; t < 120; t++) await plugin.onBars(mk(t));
let ns = 0;
for (let t = 120; t < T; t++) { const b = mk(t); const t0 = performance.now(); await plugin.onBars(b); ns += performance.now() - t0; }
console.log((ns * 1e6 / ((T - 120) * N)).toFixed(0), 'ns/update');
