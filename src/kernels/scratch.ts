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

  /** `count` views of `length` values, back to back (column k at k·length). */
  columns(length: number, count: number): Float64Array[] {
    const base = this.#block() + 64;
    const views: Float64Array[] = [];
    for (let k = 0; k < count; k++) views.push(this.runtime.f64(base + k * length * 8, length));
    return views;
  }
}
