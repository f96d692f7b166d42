import { loadKernels } from '../src/index.js';
import { AnomalyDetector } from '../src/anomaly/index.js';
import type { Bar } from '../src/vocabulary/market.js';
const k = await loadKernels({ limits: { maxSymbols: 10000 } });
const N = 10000;
let seed = 1;
const u = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
const price = Float64Array.from({ length: N }, () => 20 + 180 * u());
const syms = Array.from({ length: N }, (_, i) => `S${i}`);
function batch(t: number): Bar[] {
  const out: Bar[] = new Array(N);
  for (let s = 0; s < N; s++) { const o = price[s]!; const c = o * (1 + 0.0003 * (u() - 0.5) * 3.4); price[s] = c;
    out[s] = { symbol: syms[s]!, timestamp: t, open: o, high: Math.max(o, c) * 1.003, low: Math.min(o, c) * 0.997, close: c, volume: Math.round(1000 * (0.5 + u())) }; }
  return out;
}
const cfgs = (process.env.CFG ?? 'floor,default').split(',');
for (const name of cfgs) {
  const cfg = name === 'floor' ? { correlationSymbols: 0, spikeWindow: 3, minSamples: 3 } : name === 'nocorr' ? { correlationSymbols: 0 } : {};
  const d = new AnomalyDetector(k, { ...cfg, maxSymbols: N });
  const slots = syms.map((_, i) => i);
  let t = 1e12;
  for (let i = 0; i < 130; i++) d.observe(batch((t += 60000)), i === 0 ? undefined : slots);
  const bs = Array.from({ length: 60 }, () => batch((t += 60000)));
  const t0 = performance.now();
  for (const b of bs) d.observe(b, slots);
  const ns = ((performance.now() - t0) * 1e6) / (60 * N);
  console.log(name, ns.toFixed(0), 'ns/bar');
  d.dispose();
}
