import { BulwarkError } from '../errors.js';
import type { WasmRuntime } from './runtime.js';

/** Numbers a bank or kernel accepts: a `Float64Array` (fastest) or a plain array. */
export type NumericInput = Float64Array | readonly number[];

/**
 * Checks that `input` is array-like with `length` entries; throws `INVALID_INPUT_TYPE` or
 * `LENGTH_MISMATCH` otherwise.
 * @internal
 */
export function checkInput(name: string, input: unknown, length?: number): asserts input is NumericInput {
  if (!(input instanceof Float64Array) && !Array.isArray(input)) {
    throw new BulwarkError('INVALID_INPUT_TYPE', `${name} must be a Float64Array or an array of numbers`, {
      name,
      type: typeof input,
    });
  }
  if (length !== undefined && input.length !== length) {
    throw new BulwarkError('LENGTH_MISMATCH', `${name} has ${input.length} values, expected ${length}`, {
      name,
      length: input.length,
      expected: length,
    });
  }
}

/**
 * Copies `src[from, from + count)` into `dst`. A plain array's non-number entries become NaN
 * (so the kernel rejects them) instead of being coerced: `null` must not turn into 0.
 * @internal
 */
export function copyInput(dst: Float64Array, src: NumericInput, from = 0, count = dst.length): void {
  if (src instanceof Float64Array) {
    dst.set(from === 0 && count === src.length ? src : src.subarray(from, from + count));
    return;
  }
  for (let i = 0; i < count; i++) {
    const v: unknown = src[from + i];
    dst[i] = typeof v === 'number' ? v : Number.NaN;
  }
}

/**
 * What every kernel bank shares: one block of WASM memory, a count of rejected inputs,
 * and `dispose()`. Views into memory are re-created after memory grows.
 */
export abstract class KernelBank {
  /** @internal The kernel module and linear memory the bank's state block lives in. */
  protected readonly runtime: WasmRuntime;
  /** @internal Address of the bank's state block. */
  protected readonly state: number;
  #rejected = 0;
  #disposed = false;
  #generation = -1;

  /** @internal */
  protected constructor(runtime: WasmRuntime, bytes: number) {
    this.runtime = runtime;
    this.state = runtime.alloc(bytes, this);
  }

  /** Inputs rejected so far (non-finite, inconsistent or out-of-range values), over all series. */
  get rejected(): number {
    return this.#rejected;
  }

  /** True once {@link KernelBank.dispose} has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Returns the bank's memory to the module. Idempotent; any later call throws `BANK_DISPOSED`. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.runtime.free(this.state, this);
  }

  /** @internal Adds a kernel's rejected count. */
  protected addRejected(count: number): void {
    this.#rejected += count;
  }

  /**
   * @internal Throws if disposed; re-creates views (via {@link KernelBank.bindViews}) when
   * memory has grown since they were made.
   */
  protected ready(): void {
    if (this.#disposed) throw new BulwarkError('BANK_DISPOSED', 'this bank has been disposed');
    if (this.#generation !== this.runtime.generation) {
      this.#generation = this.runtime.generation;
      this.bindViews();
    }
  }

  /** @internal (Re)creates typed-array views of the state block. */
  protected abstract bindViews(): void;
}
