// The host lays out every bank in linear memory through these two calls; kernels never
// allocate. `heap.alloc` is the runtime's TLSF allocator, which aligns blocks to 16 bytes.

/** Allocates `bytes` zeroed bytes and returns their address. */
export function alloc(bytes: usize): usize {
  const ptr = heap.alloc(bytes);
  memory.fill(ptr, 0, bytes);
  return ptr;
}

/** Returns a block obtained from `alloc` to the allocator. */
export function release(ptr: usize): void {
  heap.free(ptr);
}
