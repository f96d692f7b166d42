import { readFile } from 'node:fs/promises';
import { instantiate } from '@assemblyscript/loader';
import type { KernelExports } from '../src/kernels/exports.js';

/**
 * The raw exports of a build, for measuring time inside the kernel alone: no input copy,
 * no validation of lengths, no typed-array views.
 */
export async function rawKernels(build: 'release' | 'scalar'): Promise<KernelExports> {
  const bytes = await readFile(new URL(`../build/${build}.wasm`, import.meta.url));
  const { instance } = await instantiate<Record<string, unknown>>(await WebAssembly.compile(bytes), {});
  return instance.exports as unknown as KernelExports;
}
