/**
 * `npm start`: a short, deterministic tour of the kernels on synthetic 1-minute bars for 50
 * symbols over one trading day, with a crash and a bad tick. (A later issue replaces this
 * with the replay demo through the plugin and the simulated broker.)
 */
import { loadKernels } from '../index.js';

const SYMBOLS = 50;
const BARS = 390;
const CRASH_AT = 250;
const BAD_TICK = { bar: 120, symbol: 7 };

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const k = await loadKernels();
const atr = k.atrBank({ symbols: SYMBOLS, period: 14 });
const dd = k.drawdownBank({ series: SYMBOLS, window: 60 });
const corr = k.correlationBank({ symbols: SYMBOLS, window: 30 });
const next = prng(7);
const price = Float64Array.from({ length: SYMBOLS }, (_, s) => 20 + 5 * s);
const high = new Float64Array(SYMBOLS);
const low = new Float64Array(SYMBOLS);
const close = new Float64Array(SYMBOLS);
const returns = new Float64Array(SYMBOLS);

for (let t = 0; t < BARS; t++) {
  const market = (next() - 0.5) * 0.004 - (t >= CRASH_AT && t < CRASH_AT + 10 ? 0.02 : 0);
  for (let s = 0; s < SYMBOLS; s++) {
    const open = price[s] as number;
    const r = market * (0.5 + s / SYMBOLS) + (next() - 0.5) * 0.003;
    const c = open * (1 + r);
    price[s] = c;
    close[s] = c;
    high[s] = Math.max(open, c) * (1 + 0.001 * next());
    low[s] = Math.min(open, c) * (1 - 0.001 * next());
    returns[s] = r;
  }
  if (t === BAD_TICK.bar) {
    high[BAD_TICK.symbol] = Number.NaN;
    returns[BAD_TICK.symbol] = Number.POSITIVE_INFINITY;
    close[BAD_TICK.symbol] = -1;
  }
  atr.update(high, low, close);
  dd.update(close);
  corr.update(returns);
}

const atrNow = atr.values();
const maxDd = dd.max();
const worst = maxDd.reduce((w, v, s) => ((v as number) > (maxDd[w] as number) ? s : w), 0);
const packed = corr.packed();
const meanCorr = packed.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0) / packed.length;

console.log(`Bulwark kernels (${k.build} build): ${SYMBOLS} symbols x ${BARS} one-minute bars, crash at bar ${CRASH_AT}`);
console.log(`  ATR(14) of symbol 0: ${(atrNow[0] as number).toFixed(4)} at price ${(price[0] as number).toFixed(2)}`);
console.log(`  worst drawdown: symbol ${worst}, ${(100 * (maxDd[worst] as number)).toFixed(2)}%`);
console.log(`  mean pairwise correlation over the last 30 bars: ${meanCorr.toFixed(3)} (${packed.length} pairs stored, not ${SYMBOLS * SYMBOLS})`);
console.log(`  rejected inputs: atr=${atr.rejected} drawdown=${dd.rejected} correlation=${corr.rejected} (bad tick at bar ${BAD_TICK.bar}, symbol ${BAD_TICK.symbol})`);
console.log(`  WASM memory: ${(k.memoryBytes / 1024).toFixed(0)} KiB, fixed after the banks were created`);
for (const bank of [atr, dd, corr]) bank.dispose();
