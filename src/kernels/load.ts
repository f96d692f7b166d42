import { readFile } from 'node:fs/promises';
import { instantiate } from '@assemblyscript/loader';
import { BulwarkError } from '../errors.js';
import { AtrBank, atrBatch, type AtrBankOptions } from './atr.js';
import type { NumericInput } from './bank.js';
import { CorrelationBank, type CorrelationBankOptions } from './correlation.js';
import { DrawdownBank, maxDrawdownBatch, type DrawdownBankOptions } from './drawdown.js';
import type { KernelExports } from './exports.js';
import { resolveLimits, type KernelLimits } from './limits.js';
import { WasmRuntime } from './runtime.js';
import { WindowBank, type WindowBankOptions } from './windows.js';
import { Scratch } from './scratch.js';

/**
 * Which compiled module to load: `release` (optimised, SIMD f64x2), `scalar` (optimised, no
 * SIMD, for engines without it) or `debug` (unoptimised, SIMD, with assertions).
 */
export type KernelBuild = 'release' | 'scalar' | 'debug';

/** Options of {@link loadKernels}. */
export interface LoadKernelsOptions {
  /** Module to instantiate. Default `release`. */
  readonly build?: KernelBuild;
  /** Overrides of {@link DEFAULT_KERNEL_LIMITS}. */
  readonly limits?: Partial<KernelLimits>;
}

/** The kernels of one WebAssembly instance. Banks made here share its memory. */
export interface Kernels {
  /** The build that was loaded. */
  readonly build: KernelBuild;
  /** The limits in force (frozen). */
  readonly limits: KernelLimits;
  /** Bytes of WASM linear memory now. */
  readonly memoryBytes: number;
  /**
   * Batch Wilder ATR (convention in {@link AtrBank}): one value per bar, NaN before the
   * `period`-th valid bar and at invalid bars.
   * @example
   * ```ts
   * const atr = k.atr(high, low, close, 14);
   * ```
   */
  atr(high: NumericInput, low: NumericInput, close: NumericInput, period: number): Float64Array;
  /** A streaming ATR over `symbols` symbols. */
  atrBank(options: AtrBankOptions): AtrBank;
  /**
   * Worst peak-to-trough fraction of a series, in [0, 1]; NaN when empty or with no valid
   * value. O(n), one pass.
   * @example
   * ```ts
   * k.maxDrawdown([100, 120, 90, 130]); // 0.25
   * ```
   */
  maxDrawdown(values: NumericInput): number;
  /** A streaming drawdown over `series` series. */
  drawdownBank(options: DrawdownBankOptions): DrawdownBank;
  /** A rolling correlation over `symbols` symbols. */
  correlationBank(options: CorrelationBankOptions): CorrelationBank;
  /** Sorted sliding windows over `symbols` series, for robust (median / MAD) scores. */
  windowBank(options: WindowBankOptions): WindowBank;
}

const cache = new Map<KernelBuild, Promise<WebAssembly.Module>>();

function compile(build: KernelBuild): Promise<WebAssembly.Module> {
  let module = cache.get(build);
  if (module === undefined) {
    const url = new URL(`../../build/${build}.wasm`, import.meta.url);
    module = readFile(url).then((bytes) => WebAssembly.compile(bytes));
    module.catch(() => cache.delete(build));
    cache.set(build, module);
  }
  return module;
}

/**
 * Instantiates Bulwark's WebAssembly kernels. Each call makes a new instance with its own
 * memory; the compiled module is cached per build.
 *
 * @example
 * ```ts
 * const k = await loadKernels();
 * const bank = k.atrBank({ symbols: 500, period: 14 });
 * ```
 */
export async function loadKernels(options: LoadKernelsOptions = {}): Promise<Kernels> {
  const build: string = options.build ?? 'release'; // untyped (JavaScript) callers reach here too
  if (build !== 'release' && build !== 'scalar' && build !== 'debug') {
    throw new BulwarkError('INVALID_OPTION', `build must be release, scalar or debug, got ${String(build)}`, { build });
  }
  const limits = resolveLimits(options.limits);
  let exports: KernelExports;
  try {
    const module = await compile(build);
    // The loader supplies abort/trace imports that decode AssemblyScript's messages. Hot
    // paths call the raw instance exports: the loader's demangled wrappers add a rest-args
    // call per invocation and nothing we need, since only scalars cross the boundary.
    const { instance } = await instantiate<Record<string, unknown>>(module, {});
    exports = instance.exports as unknown as KernelExports;
  } catch (cause) {
    throw new BulwarkError('WASM_LOAD_FAILED', `could not load the ${build} kernels: ${String(cause)}`, { build });
  }
  const runtime = new WasmRuntime(exports);
  const scratch = new Scratch(runtime);
  return Object.freeze({
    build,
    limits,
    get memoryBytes() {
      return runtime.memoryBytes;
    },
    atr: (high: NumericInput, low: NumericInput, close: NumericInput, period: number) =>
      atrBatch(scratch, limits, high, low, close, period),
    atrBank: (o: AtrBankOptions) => new AtrBank(runtime, limits, o),
    maxDrawdown: (values: NumericInput) => maxDrawdownBatch(scratch, limits, values),
    drawdownBank: (o: DrawdownBankOptions) => new DrawdownBank(runtime, limits, o),
    correlationBank: (o: CorrelationBankOptions) => new CorrelationBank(runtime, limits, o),
    windowBank: (o: WindowBankOptions) => new WindowBank(runtime, limits, o),
  });
}
