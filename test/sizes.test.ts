/**
 * Bank sizes are 64-bit safe. Each bank's bytes are computed independently here with BigInt
 * (no rounding, no wrapping) and compared with the host's size functions (src/kernels/sizes.ts)
 * and the kernels' own (*BankBytes); requests over the limits, however large their products
 * of counts, are refused with LIMIT_EXCEEDED before anything is allocated, never a RangeError
 * from a size that wrapped. Before, windowBankBytes used (k + 1) & ~1, which truncates to
 * 32 bits: 8 192 × 524 288 came out at 458 816 bytes (and passed the limit), 10 000 × 300 000
 * at −20 718 916 672.
 */
import { readFile } from 'node:fs/promises';
import { instantiate } from '@assemblyscript/loader';
import { describe, expect, it } from 'vitest';
import type { KernelExports } from '../src/kernels/exports.js';
import { WasmRuntime, unsignedAddress } from '../src/kernels/runtime.js';
import {
  atrBankBytes,
  correlationBankBytes,
  drawdownBankBytes,
  pairCount,
  windowBankBytes,
} from '../src/kernels/sizes.js';
import { DEFAULT_KERNEL_LIMITS, isBulwarkError, loadKernels, type KernelBuild, type Kernels } from '../src/index.js';
import { AnomalyDetector } from '../src/anomaly/detector.js';
import { BUILDS } from './helpers/builds.js';

// ---- The layouts of assembly/*.ts, in BigInt.
const lanes = (count: bigint): bigint => ((count + 1n) / 2n) * 2n;
const REF = {
  atr: (n: bigint): bigint => 64n + 8n * 8n * lanes(n),
  drawdown: (n: bigint, w: bigint): bigint => 64n + 7n * 8n * lanes(n) + 16n * n * w,
  correlation: (n: bigint, w: bigint): bigint => 64n + (7n + w) * 8n * lanes(n) + 2n * 8n * lanes((n * (n - 1n)) / 2n),
  window: (n: bigint, w: bigint): bigint => 64n + 2n * 8n * lanes(n * w) + 7n * 8n * lanes(n),
};

/** The largest x in [lo, hi] with size(x) ≤ limit (size is non-decreasing), by bisection. */
function largest(size: (x: bigint) => bigint, limit: bigint, lo: bigint, hi: bigint): bigint {
  expect(size(lo) <= limit).toBe(true);
  while (lo < hi) {
    const mid = (lo + hi + 1n) / 2n;
    if (size(mid) <= limit) lo = mid;
    else hi = mid - 1n;
  }
  return lo;
}

/** `x` as a Number when BigInt says it is exact, else a check that the Number is as large. */
function expectSize(actual: number, exact: bigint): void {
  if (exact <= BigInt(Number.MAX_SAFE_INTEGER)) expect(actual).toBe(Number(exact));
  else expect(Math.abs(actual - Number(exact))).toBeLessThanOrEqual(Number(exact) * 2 ** -50);
}

/** The code of what `make` throws, and that it is not a RangeError (or anything uncoded). */
function codeOf(make: () => unknown): string {
  try {
    make();
  } catch (e) {
    expect(e).not.toBeInstanceOf(RangeError);
    expect(isBulwarkError(e), String(e)).toBe(true);
    return isBulwarkError(e) ? e.code : 'UNCODED';
  }
  return 'NO ERROR';
}

/** The code and details of the BulwarkError `make` throws. */
function errorOf(make: () => unknown): { code: string; details: Readonly<Record<string, unknown>> } {
  try {
    make();
  } catch (e) {
    if (isBulwarkError(e)) return { code: e.code, details: { ...e.details } };
    throw e;
  }
  throw new Error('expected a BulwarkError');
}

async function rawExports(build: KernelBuild): Promise<KernelExports> {
  const bytes = await readFile(new URL(`../build/${build}.wasm`, import.meta.url));
  const { instance } = await instantiate<Record<string, unknown>>(await WebAssembly.compile(bytes), {});
  return instance.exports as unknown as KernelExports;
}

const MIB = 2n ** 20n;
const DEFAULT_BYTES = BigInt(DEFAULT_KERNEL_LIMITS.maxBankBytes);
const I32_MAX = 2 ** 31 - 1;

/** (symbols, window) pairs: the two, each limit's edges, and the largest counts a kernel takes. */
const PAIRS: readonly (readonly [number, number])[] = [
  [1, 0],
  [1, 1],
  [3, 5],
  [2, 2],
  [2_047, 9_999],
  [2_048, 14_329],
  [10_000, 60],
  [10_000, 1_674],
  [8_192, 524_288], // 2^32 values: the int32 product was 0
  [10_000, 300_000], // 3·10^9 values: the int32 product was negative
  [10_000, 1_000_000],
  [65_537, 65_536],
  [I32_MAX, I32_MAX],
];

describe('bank sizes: host functions against BigInt', () => {
  it.each(PAIRS)('%i × %i: every size function equals the BigInt layout (exact below 2^53)', (s, w) => {
    const n = BigInt(s);
    const win = BigInt(w);
    expectSize(atrBankBytes(s), REF.atr(n));
    expectSize(drawdownBankBytes(s, w), REF.drawdown(n, win));
    expectSize(correlationBankBytes(s, w), REF.correlation(n, win));
    expectSize(windowBankBytes(s, w), REF.window(n, win));
    expectSize(pairCount(s), (n * (n - 1n)) / 2n);
  });

  it('the two sizes from the issue: 8 192 × 524 288 is 64 GiB, 10 000 × 300 000 is 48 GB, both far over 4 GiB', () => {
    expect(windowBankBytes(8_192, 524_288)).toBe(68_719_935_552);
    expect(windowBankBytes(10_000, 300_000)).toBe(48_000_560_064);
    for (const [s, w] of [
      [8_192, 524_288],
      [10_000, 300_000],
    ] as const) {
      expect(windowBankBytes(s, w)).toBeGreaterThan(2 ** 32);
      expect(drawdownBankBytes(s, w)).toBeGreaterThan(2 ** 32);
      expect(correlationBankBytes(s, w)).toBeGreaterThan(2 ** 32);
    }
  });
});

describe.each(BUILDS)('bank sizes in the kernels (%s build)', (build) => {
  it('each *BankBytes export equals the host function and BigInt for every pair (no i32 product or sum)', async () => {
    const x = await rawExports(build);
    for (const [s, w] of PAIRS) {
      const n = BigInt(s);
      const win = BigInt(w);
      expect(x.atrBankBytes(s), `atr ${s}`).toBe(atrBankBytes(s));
      expect(x.ddBankBytes(s, w), `drawdown ${s} × ${w}`).toBe(drawdownBankBytes(s, w));
      expect(x.corrBankBytes(s, w), `correlation ${s} × ${w}`).toBe(correlationBankBytes(s, w));
      expect(x.winBankBytes(s, w), `window ${s} × ${w}`).toBe(windowBankBytes(s, w));
      expectSize(x.winBankBytes(s, w), REF.window(n, win));
      expectSize(x.corrBankBytes(s, w), REF.correlation(n, win));
    }
  });

  it('the last column of a bank just under 4 GiB ends exactly at state + bytes (offsets formed in usize)', async () => {
    const x = await rawExports(build);
    const state = unsignedAddress(x.alloc(64));
    const header = new DataView(x.memory.buffer, state, 64);
    // Window bank, 8 192 × 32 760 (4 294 377 536 bytes): flag, the last column, is one lane-padded i32 column (8 bytes a slot).
    header.setInt32(0, 8_192, true);
    header.setInt32(4, 32_760, true);
    const winBytes = REF.window(8_192n, 32_760n);
    expect(winBytes < 2n ** 32n).toBe(true);
    expect(unsignedAddress(x.winBankColumn(state, 8)) + 8 * 8_192).toBe(state + Number(winBytes));
    expect(unsignedAddress(x.winBankColumn(state, 1))).toBe(state + 64 + 8 * 8_192 * 32_760); // sorted after the ring
    // Correlation bank, 23 160 symbols × 2: the packed output, last, holds n(n−1)/2 pairs.
    header.setInt32(0, 23_160, true);
    header.setInt32(4, 2, true);
    const corrBytes = REF.correlation(23_160n, 2n);
    expect(corrBytes < 2n ** 32n).toBe(true);
    const out = unsignedAddress(x.corrBankOut(state));
    expect(out + 8 * Number(lanes(BigInt(pairCount(23_160))))).toBe(state + Number(corrBytes));
    x.release(state);
  });
});

describe.each(BUILDS)('bank requests over the limits (%s build)', (build) => {
  let k: Kernels;
  let wide: Kernels;

  it('8 192 × 524 288 and 10 000 × 300 000 (within maxSymbols and maxWindow) throw LIMIT_EXCEEDED with the true size; nothing allocated', async () => {
    k = await loadKernels({ build });
    wide = await loadKernels({ build, limits: { maxBankBytes: 2 ** 32 } });
    for (const kernels of [k, wide]) {
      const before = kernels.memoryBytes;
      for (const [symbols, window] of [
        [8_192, 524_288],
        [10_000, 300_000],
      ] as const) {
        const n = BigInt(symbols);
        const w = BigInt(window);
        const win = errorOf(() => kernels.windowBank({ symbols, window }));
        expect(win).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { bytes: Number(REF.window(n, w)) } });
        const dd = errorOf(() => kernels.drawdownBank({ series: symbols, window }));
        expect(dd).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { bytes: Number(REF.drawdown(n, w)) } });
        expect(codeOf(() => kernels.windowBank({ symbols, window }))).toBe('LIMIT_EXCEEDED');
      }
      expect(kernels.memoryBytes).toBe(before);
    }
  });

  it('the largest sizes under the default 256 MiB (BigInt bisection) are allowed; one more is LIMIT_EXCEEDED', () => {
    const before = k.memoryBytes;
    const limit = DEFAULT_BYTES;
    // 10 000 window series: the longest window.
    const w = largest((x) => REF.window(10_000n, x), limit, 1n, 1_000_000n);
    expect(w).toBe(1_674n);
    expect(windowBankBytes(10_000, Number(w))).toBe(Number(REF.window(10_000n, w)));
    expect(codeOf(() => k.windowBank({ symbols: 10_000, window: Number(w) + 1 }))).toBe('LIMIT_EXCEEDED');
    // Windows of maxWindow: the most series.
    const s = largest((x) => REF.window(x, 1_000_000n), limit, 1n, 10_000n);
    expect(s).toBe(16n);
    expect(codeOf(() => k.windowBank({ symbols: Number(s) + 1, window: 1_000_000 }))).toBe('LIMIT_EXCEEDED');
    // 10 000 drawdown series: the longest window.
    const d = largest((x) => REF.drawdown(10_000n, x), limit, 0n, 1_000_000n);
    expect(d).toBe(1_674n);
    expect(drawdownBankBytes(10_000, Number(d))).toBe(Number(REF.drawdown(10_000n, d)));
    expect(codeOf(() => k.drawdownBank({ series: 10_000, window: Number(d) + 1 }))).toBe('LIMIT_EXCEEDED');
    // 2 048 correlation symbols (maxCorrelationSymbols): the longest window.
    const c = largest((x) => REF.correlation(2_048n, x), limit, 2n, 1_000_000n);
    expect(c).toBe(14_329n); // ⌊(2^28 − 64 − 2·8·lanes(2 096 128)) / 16 384⌋ − 7
    expect(correlationBankBytes(2_048, Number(c))).toBe(Number(REF.correlation(2_048n, c)));
    expect(codeOf(() => k.correlationBank({ symbols: 2_048, window: Number(c) + 1 }))).toBe('LIMIT_EXCEEDED');
    expect(k.memoryBytes).toBe(before);
  });

  it('banks of exactly the largest allowed size under a 1 MiB limit are made and usable; one more is LIMIT_EXCEEDED', async () => {
    const limit = MIB;
    const tight = await loadKernels({ build, limits: { maxBankBytes: Number(limit), maxSymbols: I32_MAX } });
    const w = largest((x) => REF.window(100n, x), limit, 1n, 1_000_000n);
    const win = tight.windowBank({ symbols: 100, window: Number(w) });
    for (let i = 0; i < 3; i++) win.push(99, i);
    expect(win.median(99)).toBe(1);
    expect(codeOf(() => tight.windowBank({ symbols: 100, window: Number(w) + 1 }))).toBe('LIMIT_EXCEEDED');
    const d = largest((x) => REF.drawdown(100n, x), limit, 0n, 1_000_000n);
    const dd = tight.drawdownBank({ series: 100, window: Number(d) });
    dd.update(new Float64Array(100).fill(10));
    dd.update(new Float64Array(100).fill(9));
    expect(dd.current()[99]).toBeCloseTo(0.1, 12);
    expect(codeOf(() => tight.drawdownBank({ series: 100, window: Number(d) + 1 }))).toBe('LIMIT_EXCEEDED');
    const c = largest((x) => REF.correlation(x, 2n), limit, 1n, 2_048n);
    const corr = tight.correlationBank({ symbols: Number(c), window: 2 });
    corr.update(new Float64Array(Number(c)).fill(0.01));
    expect(corr.packed()).toHaveLength(pairCount(Number(c)));
    expect(codeOf(() => tight.correlationBank({ symbols: Number(c) + 1, window: 2 }))).toBe('LIMIT_EXCEEDED');
    const a = largest((x) => REF.atr(x), limit, 1n, 1_000_000n);
    const atr = tight.atrBank({ symbols: Number(a), period: 2 });
    const bar = (v: number) => new Float64Array(Number(a)).fill(v);
    atr.update(bar(2), bar(1), bar(1.5));
    atr.update(bar(2), bar(1), bar(1.5));
    expect(atr.values()[Number(a) - 1]).toBe(1);
    expect(codeOf(() => tight.atrBank({ symbols: Number(a) + 1, period: 2 }))).toBe('LIMIT_EXCEEDED');
  });

  it('under a 4 GiB limit: the most correlation symbols is allowed by the limit but over the allocator (OUT_OF_MEMORY), one more is LIMIT_EXCEEDED', async () => {
    const limit = 2n ** 32n;
    const big = await loadKernels({
      build,
      limits: { maxBankBytes: Number(limit), maxCorrelationSymbols: I32_MAX, maxSymbols: I32_MAX },
    });
    const before = big.memoryBytes;
    const n = largest((x) => REF.correlation(x, 2n), limit, 1n, 100_000n);
    expect(n).toBe(23_166n);
    expect(codeOf(() => big.correlationBank({ symbols: Number(n) + 1, window: 2 }))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => big.correlationBank({ symbols: Number(n), window: 2 }))).toBe('OUT_OF_MEMORY');
    // A 2 GiB window bank (8 192 × 16 384) is within the limit: OUT_OF_MEMORY, not a wrapped size.
    expect(codeOf(() => big.windowBank({ symbols: 8_192, window: 16_384 }))).toBe('OUT_OF_MEMORY');
    expect(big.memoryBytes).toBe(before);
  });

  it('kernel count limits stop at 2^31 − 1 (the kernels take i32 counts): INVALID_OPTION above', async () => {
    for (const key of ['maxSymbols', 'maxCorrelationSymbols', 'maxPeriod', 'maxWindow'] as const) {
      const err = await loadKernels({ build, limits: { [key]: 2 ** 31 } }).catch((e: unknown) => e);
      expect(isBulwarkError(err, 'INVALID_OPTION'), key).toBe(true);
      await expect(loadKernels({ build, limits: { [key]: I32_MAX } })).resolves.toBeDefined();
    }
  });

  it('the runtime refuses sizes wasm32 cannot address (2^32 bytes would wrap to 0) with OUT_OF_MEMORY, without calling the module', async () => {
    const x = await rawExports(build);
    const runtime = new WasmRuntime(x);
    const before = runtime.memoryBytes;
    for (const bytes of [2 ** 32, 2 ** 32 + 64, 2 ** 53, Number.NaN]) {
      expect(
        codeOf(() => runtime.alloc(bytes)),
        String(bytes),
      ).toBe('OUT_OF_MEMORY');
    }
    expect(runtime.memoryBytes).toBe(before);
    const ptr = runtime.alloc(64);
    expect(ptr).toBeGreaterThan(0);
    runtime.free(ptr);
  });
});

describe('addresses at or above 2 GiB', () => {
  it('arrive from the module as negative i32 and are read back as the unsigned offsets they are', () => {
    expect(unsignedAddress(-2_147_483_648)).toBe(2 ** 31);
    expect(unsignedAddress(-16)).toBe(2 ** 32 - 16);
    expect(unsignedAddress(0)).toBe(0);
    expect(unsignedAddress(2 ** 31 - 16)).toBe(2 ** 31 - 16);
  });
});

describe('the largest bank under the default limit (release build)', () => {
  it('10 000 series × 1 674 values (the most under 256 MiB) is allocated and its last series works end to end', async () => {
    const k = await loadKernels({ build: 'release' });
    const bytes = REF.window(10_000n, 1_674n);
    expect(bytes <= DEFAULT_BYTES && REF.window(10_000n, 1_675n) > DEFAULT_BYTES).toBe(true);
    const bank = k.windowBank({ symbols: 10_000, window: 1_674 });
    expect(k.memoryBytes).toBeGreaterThanOrEqual(Number(bytes));
    const values = Array.from({ length: 1_700 }, (_, i) => (i * 7919) % 1_009);
    for (const v of values) bank.push(9_999, v);
    const kept = values.slice(-1_674).sort((a, b) => a - b);
    expect(bank.count(9_999)).toBe(1_674);
    expect(bank.median(9_999)).toBe(((kept[836] ?? Number.NaN) + (kept[837] ?? Number.NaN)) / 2);
    expect(bank.count(0)).toBe(0);
    bank.dispose();
  });
});

describe('the anomaly detector checks every bank it needs against maxBankBytes first', () => {
  it('a correlation bank over the limit is one INVALID_OPTION problem, before any bank is made', async () => {
    const k = await loadKernels({ limits: { maxBankBytes: Number(MIB) } });
    const before = k.memoryBytes;
    const needed = correlationBankBytes(100, 2_000);
    expect(needed).toBe(Number(REF.correlation(100n, 2_000n)));
    expect(needed).toBeGreaterThan(Number(MIB));
    const err = errorOf(
      () => new AnomalyDetector(k, { maxSymbols: 100, correlationSymbols: 100, correlationWindow: 2_000 }),
    );
    expect(err.code).toBe('INVALID_OPTION');
    expect(err.details['problems']).toEqual([
      `a correlation bank needs ${needed} bytes, over the kernels' maxBankBytes ${Number(MIB)}`,
    ]);
    expect(k.memoryBytes).toBe(before);
    new AnomalyDetector(k, { maxSymbols: 100, correlationSymbols: 100, correlationWindow: 1_000 }).dispose();
  });
});
