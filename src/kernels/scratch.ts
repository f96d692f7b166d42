import { BulwarkError } from '../errors.js';
import type { WasmRuntime } from './runtime.js';

/**
 * A fixed block of WASM memory through which batch kernels stream their input in chunks,
 * so a batch of any length needs no more memory than one chunk.
 * @internal
 */
export class Scratch {
  readonly runtime: WasmRuntime;
  /** Values per column per chunk. */
  readonly chunk: number;
  readonly #columns: number;
  #ptr = 0;

  constructor(runtime: WasmRuntime, chunk = 16_384, columns = 4) {
    this.runtime = runtime;
    this.chunk = chunk;
    this.#columns = columns;
  }

  #block(): number {
    if (this.#ptr === 0) this.#ptr = this.runtime.alloc(64 + this.chunk * 8 * this.#columns);
    return this.#ptr;
  }

  /** Address of 64 bytes of carried kernel state. */
  state(): number {
    return this.#block();
  }

  /** View of column `k` (of the block's columns) holding `length` values; columns lie back to back at k·length. */
  column(length: number, k: number): Float64Array {
    if (k < 0 || k >= this.#columns || length > this.chunk) {
      throw new BulwarkError(
        'INDEX_OUT_OF_RANGE',
        `scratch column ${k} of ${this.#columns}, length ${length} of ${this.chunk}`,
      );
    }
    return this.runtime.f64(this.#block() + 64 + k * length * 8, length);
  }
}
