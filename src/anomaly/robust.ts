import type { WindowBank } from '../kernels/windows.js';

/**
 * MAD → standard deviation for normal data: 1/Φ⁻¹(3/4).
 *
 * @example
 * ```ts
 * const z = (x - median) / (MAD_TO_SIGMA * mad);
 * ```
 */
export const MAD_TO_SIGMA = 1.4826;

/**
 * Mean absolute deviation → standard deviation for normal data: √(π/2).
 *
 * @example
 * ```ts
 * const sigma = MEAN_AD_TO_SIGMA * meanAbsDev;
 * ```
 */
export const MEAN_AD_TO_SIGMA = 1.2533;

/**
 * Robust location and scale of one series' window, for z = (x − median)/scale.
 *
 * scale = 1.4826·MAD. When that is below `floor` (MAD is 0 when over half the window is one
 * value: constant prices, a quiet instrument whose price mostly does not move), it falls back
 * to 1.2533·(mean absolute deviation from the median), the usual modified-z fallback, and
 * never goes below `floor`. So z is always finite: a constant window scores a move of d as
 * d/floor rather than ±Infinity, and a mostly-flat illiquid window is scored by how far its
 * occasional ticks move instead of being flagged on every tick.
 *
 * Reads the window in place (see {@link WindowBank}): nothing is copied or allocated.
 *
 * @example
 * ```ts
 * const scorer = new RobustScorer();
 * if (scorer.fit(windows, slot, 1e-4) >= 30) console.log(scorer.z(x), scorer.median, scorer.mad);
 * ```
 */
export class RobustScorer {
  /** Median of the last fitted window. */
  median = Number.NaN;
  /** Median absolute deviation of the last fitted window. */
  mad = Number.NaN;
  /** Scale of the last fitted window (see the class notes). */
  scale = Number.NaN;
  /** Values in the last fitted window. */
  samples = 0;

  /** Fits `slot`'s window; returns the number of values it had (0: all stats NaN). */
  fit(windows: WindowBank, slot: number, floor: number): number {
    const n = windows.count(slot);
    this.samples = n;
    const median = windows.median(slot);
    const mad = windows.mad(slot, median);
    let scale = MAD_TO_SIGMA * mad;
    if (n > 0 && !(scale >= floor)) scale = Math.max(MEAN_AD_TO_SIGMA * windows.meanAbsDev(slot, median), floor);
    this.median = median;
    this.mad = mad;
    this.scale = scale;
    return n;
  }

  /** Robust z of `x` against the last fitted window. */
  z(x: number): number {
    return (x - this.median) / this.scale;
  }
}
