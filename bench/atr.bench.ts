import { ATR as TiATR } from 'technicalindicators';
import { ATR as TsATR } from 'trading-signals';
import type { Kernels } from '../src/index.js';
import { measure, nsPerUnit, table, verdict, type Row } from './harness.js';
import { PlainAtrBank, plainAtr } from './peers/plain-atr.js';
import { rawKernels } from './raw.js';

interface Candle {
  high: number;
  low: number;
  close: number;
}

/** Deterministic OHLC: `bars` rows of `symbols` columns. */
function market(symbols: number, bars: number): { high: Float64Array[]; low: Float64Array[]; close: Float64Array[] } {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const price = Float64Array.from({ length: symbols }, (_, s) => 10 + s);
  const high: Float64Array[] = [];
  const low: Float64Array[] = [];
  const close: Float64Array[] = [];
  for (let t = 0; t < bars; t++) {
    const h = new Float64Array(symbols);
    const l = new Float64Array(symbols);
    const c = new Float64Array(symbols);
    for (let s = 0; s < symbols; s++) {
      const open = price[s] as number;
      const p = open * (1 + 0.02 * (next() - 0.5));
      price[s] = p;
      c[s] = p;
      h[s] = Math.max(open, p) * (1 + 0.003 * next());
      l[s] = Math.min(open, p) * (1 - 0.003 * next());
    }
    high.push(h);
    low.push(l);
    close.push(c);
  }
  return { high, low, close };
}

async function kernelOnly(
  build: 'release' | 'scalar',
  symbols: number,
  bars: number,
  period: number,
): Promise<() => void> {
  const x = await rawKernels(build);
  const state = x.alloc(x.atrBankBytes(symbols));
  x.atrBankInit(state, symbols, period, 1e15);
  const { high, low, close } = market(symbols, 1);
  new Float64Array(x.memory.buffer, x.atrBankInput(state, 0), symbols).set(high[0] as Float64Array);
  new Float64Array(x.memory.buffer, x.atrBankInput(state, 1), symbols).set(low[0] as Float64Array);
  new Float64Array(x.memory.buffer, x.atrBankInput(state, 2), symbols).set(close[0] as Float64Array);
  return () => {
    for (let t = 0; t < bars; t++) x.atrBankUpdate(state);
  };
}

/** Streaming ATR, 1000 symbols x 1000 bars: Bulwark vs peers. */
export async function streamingAtr(k: Kernels): Promise<{ text: string; rows: Row[] }> {
  const symbols = 1000;
  const bars = 1000;
  const period = 14;
  const units = symbols * bars;
  const m = market(symbols, bars);
  const bank = k.atrBank({ symbols, period });
  const zeroCopy = k.atrBank({ symbols, period });
  const input = zeroCopy.input();
  input.high.set(m.high[0] as Float64Array);
  input.low.set(m.low[0] as Float64Array);
  input.close.set(m.close[0] as Float64Array);
  const plain = new PlainAtrBank(symbols, period);
  const candles: Candle[][] = m.high.map((h, t) =>
    Array.from({ length: symbols }, (_, s) => ({
      high: h[s] as number,
      low: (m.low[t] as Float64Array)[s] as number,
      close: (m.close[t] as Float64Array)[s] as number,
    })),
  );
  const ts = Array.from({ length: symbols }, () => new TsATR(period));
  const ti = Array.from({ length: symbols }, () => new TiATR({ high: [], low: [], close: [], period }));
  const rows = await measure([
    { name: 'Bulwark kernel (release, SIMD)', units, fn: await kernelOnly('release', symbols, bars, period) },
    { name: 'Bulwark kernel (scalar build)', units, fn: await kernelOnly('scalar', symbols, bars, period) },
    {
      name: 'Bulwark AtrBank.update (TS API)',
      units,
      fn: () => {
        for (let t = 0; t < bars; t++)
          bank.update(m.high[t] as Float64Array, m.low[t] as Float64Array, m.close[t] as Float64Array);
      },
    },
    {
      // The caller writes each bar straight into the bank's input views (as a feed handler
      // would, instead of into arrays of its own): here the bar is already there, as in the
      // kernel-only row, and only the TS API's call is timed.
      name: 'Bulwark AtrBank.input() + updateInput() (TS API, zero-copy)',
      units,
      fn: () => {
        for (let t = 0; t < bars; t++) zeroCopy.updateInput();
      },
    },
    {
      name: 'plain JS structure-of-arrays',
      units,
      fn: () => {
        for (let t = 0; t < bars; t++)
          plain.update(m.high[t] as Float64Array, m.low[t] as Float64Array, m.close[t] as Float64Array);
      },
    },
    {
      name: 'trading-signals ATR.update',
      units,
      fn: () => {
        for (let t = 0; t < bars; t++) {
          const row = candles[t] as Candle[];
          for (let s = 0; s < symbols; s++) (ts[s] as TsATR).update(row[s] as Candle, false);
        }
      },
    },
    {
      name: 'technicalindicators ATR.nextValue',
      units,
      fn: () => {
        for (let t = 0; t < bars; t++) {
          const row = candles[t] as Candle[];
          for (let s = 0; s < symbols; s++) (ti[s] as TiATR).nextValue(row[s] as Candle);
        }
      },
    },
  ]);
  bank.dispose();
  zeroCopy.dispose();
  const [kernel, , api, zero, , tsRow] = rows as [Row, Row, Row, Row, Row, Row, Row];
  const targets = [
    `- inside the kernel: ${nsPerUnit(kernel).toFixed(2)} ns/update (target ≤ 2): ${verdict(nsPerUnit(kernel), 2)}`,
    `- through the TS API: ${nsPerUnit(api).toFixed(2)} ns/update (target ≤ 8): ${verdict(nsPerUnit(api), 8)}`,
    `- vs trading-signals: kernel ${(nsPerUnit(tsRow) / nsPerUnit(kernel)).toFixed(0)}x faster (target ≥ 40x): ${verdict(nsPerUnit(tsRow) / nsPerUnit(kernel), 40, true)}; ` +
      `through the TS API ${(nsPerUnit(tsRow) / nsPerUnit(api)).toFixed(0)}x copying each bar in (${verdict(nsPerUnit(tsRow) / nsPerUnit(api), 40, true)} against the same 40x), ` +
      `${(nsPerUnit(tsRow) / nsPerUnit(zero)).toFixed(0)}x zero-copy through input() (${verdict(nsPerUnit(tsRow) / nsPerUnit(zero), 40, true)})`,
  ];
  return {
    text: `${table(`Streaming ATR(${period}), ${symbols} symbols x ${bars} bars`, 'symbol-update', rows)}\n\n${targets.join('\n')}`,
    rows,
  };
}

/** Batch ATR over 10^6 bars of one series. */
export async function batchAtr(k: Kernels): Promise<{ text: string; rows: Row[] }> {
  const bars = 1_000_000;
  const period = 14;
  const m = market(1, bars);
  const high = Float64Array.from(m.high, (r) => r[0] as number);
  const low = Float64Array.from(m.low, (r) => r[0] as number);
  const close = Float64Array.from(m.close, (r) => r[0] as number);
  const candles: Candle[] = Array.from({ length: bars }, (_, t) => ({
    high: high[t] as number,
    low: low[t] as number,
    close: close[t] as number,
  }));
  const arrays = { high: Array.from(high), low: Array.from(low), close: Array.from(close), period };
  const rows = await measure(
    [
      { name: 'Bulwark k.atr', units: bars, fn: () => void k.atr(high, low, close, period) },
      { name: 'plain JS loop', units: bars, fn: () => void plainAtr(high, low, close, period) },
      {
        name: 'trading-signals ATR.update loop',
        units: bars,
        fn: () => {
          const atr = new TsATR(period);
          for (const c of candles) atr.update(c, false);
        },
      },
      { name: 'technicalindicators ATR.calculate', units: bars, fn: () => void TiATR.calculate(arrays) },
    ],
    2_000,
    3,
  );
  const [bulwark, , tsRow] = rows as [Row, Row, Row, Row];
  const ratio = nsPerUnit(tsRow) / nsPerUnit(bulwark);
  const text = `${table(`Batch ATR(${period}), ${bars.toLocaleString('en')} bars`, 'bar', rows)}\n\n- vs trading-signals: ${ratio.toFixed(1)}x faster (target ≥ 10x): ${verdict(ratio, 10, true)}`;
  return { text, rows };
}
