import { BulwarkError } from '../errors.js';
import type { KernelExports } from './exports.js';

/** The wasm32 address space: no block can be this large. */
const WASM32_BYTES = 2 ** 32;

/**
 * A wasm32 address as the module returns it (a `usize` crosses into JS as a signed i32, so an
 * address at or above 2 GiB arrives negative), as the unsigned byte offset it is.
 */
export function unsignedAddress(address: number): number {
  return address < 0 ? address + WASM32_BYTES : address;
}

/**
 * One instantiated kernel module and its linear memory. Blocks are handed out by the
 * module's own allocator; `generation` changes whenever memory grows, which detaches every
 * typed-array view, so holders of views re-create them when it differs from what they saw.
 * @internal
 */
export class WasmRuntime {
  readonly exports: KernelExports;
  #generation = 0;
  #bytes: number;
  readonly #finalizer = new FinalizationRegistry<number>((ptr) => this.exports.release(ptr));

  constructor(exports: KernelExports) {
    this.exports = exports;
    this.#bytes = exports.memory.buffer.byteLength;
  }

  /** Bumped each time memory grows. */
  get generation(): number {
    return this.#generation;
  }

  /** Current size of linear memory in bytes. */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /**
   * Allocates `bytes` zeroed bytes, 16-byte aligned. `owner`, when given, gets the block
   * released if it is garbage-collected without {@link WasmRuntime.free}. Throws
   * `OUT_OF_MEMORY` when the module cannot provide them, and for a size that wasm32 cannot
   * address at all (2^32 bytes or more would wrap on the way in), without calling the module.
   */
  alloc(bytes: number, owner?: object): number {
    if (!(Number.isSafeInteger(bytes) && bytes >= 0 && bytes < WASM32_BYTES)) {
      throw new BulwarkError('OUT_OF_MEMORY', `cannot allocate ${bytes} bytes: wasm32 addresses less than 4 GiB`, {
        bytes,
        memoryBytes: this.memoryBytes,
      });
    }
    let ptr: number;
    try {
      ptr = unsignedAddress(this.exports.alloc(bytes));
    } catch (cause) {
      throw new BulwarkError('OUT_OF_MEMORY', `could not allocate ${bytes} bytes of WASM memory`, {
        bytes,
        memoryBytes: this.memoryBytes,
        cause: String(cause),
      });
    }
    const now = this.exports.memory.buffer.byteLength;
    if (now !== this.#bytes) {
      this.#bytes = now;
      this.#generation++;
    }
    if (owner !== undefined) this.#finalizer.register(owner, ptr, owner);
    return ptr;
  }

  /** Releases a block from {@link WasmRuntime.alloc}. */
  free(ptr: number, owner?: object): void {
    if (owner !== undefined) this.#finalizer.unregister(owner);
    this.exports.release(ptr);
  }

  /** A fresh view of `length` f64 values at `ptr` (an address from the module, signed or not). */
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.exports.memory.buffer, unsignedAddress(ptr), length);
  }

  /** A fresh view of `length` i32 values at `ptr` (an address from the module, signed or not). */
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.exports.memory.buffer, unsignedAddress(ptr), length);
  }
}
