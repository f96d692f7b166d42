import type { KernelBuild } from '../../src/index.js';

/** Every compiled module: kernel tests run against each (release SIMD, scalar, debug). */
export const BUILDS: readonly KernelBuild[] = ['release', 'scalar', 'debug'];

/** |a − b| ≤ tol·max(1, |b|), with NaN equal only to NaN. */
export function close(a: number, b: number, tol = 1e-9): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

/** |a − b| ≤ tol·|b| (strictly relative), with NaN equal only to NaN. */
export function relClose(a: number, b: number, tol = 1e-9): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= tol * Math.abs(b);
}
