/**
 * The last `window` values of each of `slots` series, kept both in arrival order (a ring, to
 * know which value leaves) and sorted (so the median is O(1) and the MAD a walk of about
 * window/2 steps). Two preallocated Float64Arrays, slot-major (slot s owns
 * [s·window, (s+1)·window)), plus a head, a count and a MAD bound with its age per slot: 16·window + 20 bytes per slot,
 * fixed at construction.
 *
 * Why not select per call: quickselect over a fresh 60-value window costs ~2.5 µs in branch
 * mispredictions; keeping the window sorted costs one (branch-free) binary search and a short
 * shift per push.
 *
 * @example
 * ```ts
 * const w = new SortedWindows(1_000, 60);
 * w.push(3, 0.0012);
 * const m = w.median(3);
 * const mad = w.mad(3, m);
 * ```
 */
export class SortedWindows {
  /** Number of series. */
  readonly slots: number;
  /** Values kept per series. */
  readonly window: number;
  readonly #ring: Float64Array;
  readonly #sorted: Float64Array;
  readonly #head: Int32Array;
  readonly #count: Int32Array;
  /** Per slot: a lower bound on the MAD, and the pushes since it was computed. */
  readonly #madFloor: Float64Array;
  readonly #madFloorAge: Int32Array;

  constructor(slots: number, window: number) {
    this.slots = slots;
    this.window = window;
    this.#ring = new Float64Array(slots * window);
    this.#sorted = new Float64Array(slots * window);
    this.#head = new Int32Array(slots);
    this.#count = new Int32Array(slots);
    this.#madFloor = new Float64Array(slots);
    this.#madFloorAge = new Int32Array(slots).fill(MAD_BOUND_PUSHES);
  }

  /** Values in `slot`'s window (at most `window`). */
  count(slot: number): number {
    return this.#count[slot] as number;
  }

  /** Appends `value` (finite) to `slot`'s window, dropping the oldest when full. */
  push(slot: number, value: number): void {
    const w = this.window;
    const base = slot * w;
    const h = this.#head[slot] as number;
    const c = this.#count[slot] as number;
    const s = this.#sorted;
    if (c < w) {
      let i = base + c;
      while (i > base && (s[i - 1] as number) > value) {
        s[i] = s[i - 1] as number;
        i--;
      }
      s[i] = value;
      this.#count[slot] = c + 1;
    } else {
      const old = this.#ring[base + h] as number;
      let i = lowerBound(s, base, base + w, old); // s[i] === old: values are stored exactly
      if (value >= old) {
        const end = base + w - 1;
        while (i < end && (s[i + 1] as number) < value) {
          s[i] = s[i + 1] as number;
          i++;
        }
      } else {
        while (i > base && (s[i - 1] as number) > value) {
          s[i] = s[i - 1] as number;
          i--;
        }
      }
      s[i] = value;
    }
    this.#ring[base + h] = value;
    this.#head[slot] = h + 1 === w ? 0 : h + 1;
    this.#madFloorAge[slot] = (this.#madFloorAge[slot] as number) + 1;
  }

  /** Median of `slot`'s window (mean of the middle two when even); NaN when empty. */
  median(slot: number): number {
    const n = this.#count[slot] as number;
    if (n === 0) return Number.NaN;
    const mid = slot * this.window + (n >>> 1);
    const s = this.#sorted;
    return (n & 1) === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  }

  /**
   * Median of |x − `center`| over `slot`'s window, where `center` is its median. The
   * deviations below the middle (read leftwards) and above it (read rightwards) are two
   * sorted sequences, so the middle rank of their union is found by the classic two-array
   * selection in O(log window) steps, not a walk of window/2 unpredictable branches. NaN when
   * empty.
   */
  mad(slot: number, center: number): number {
    const n = this.#count[slot] as number;
    if (n === 0) return Number.NaN;
    const s = this.#sorted;
    const mid = slot * this.window + (n >>> 1);
    const lenL = n >>> 1; // L[i] = center − s[mid − 1 − i], ascending in i
    const lenR = n - lenL; // R[j] = s[mid + j] − center, ascending in j
    const k = lenL + 1; // the (half+1)-th smallest deviation; for even n also the half-th
    let lo = Math.max(0, k - lenR);
    let hi = Math.min(k, lenL);
    let i = lo;
    while (lo <= hi) {
      i = (lo + hi) >>> 1;
      const j = k - i;
      if (i < lenL && j > 0 && (s[mid + j - 1] as number) - center > center - (s[mid - 1 - i] as number)) lo = i + 1;
      else if (i > 0 && j < lenR && center - (s[mid - i] as number) > (s[mid + j] as number) - center) hi = i - 1;
      else break;
    }
    const j = k - i;
    const lastL = i > 0 ? center - (s[mid - i] as number) : Number.NEGATIVE_INFINITY;
    const lastR = j > 0 ? (s[mid + j - 1] as number) - center : Number.NEGATIVE_INFINITY;
    const kth = Math.max(lastL, lastR);
    if ((n & 1) === 1) return kth;
    // Even n: average with the next smaller of the k taken.
    const prevL = i > 1 ? center - (s[mid - i + 1] as number) : Number.NEGATIVE_INFINITY;
    const prevR = j > 1 ? (s[mid + j - 2] as number) - center : Number.NEGATIVE_INFINITY;
    const below = lastL >= lastR ? Math.max(prevL, lastR) : Math.max(lastL, prevR);
    return (below + kth) / 2;
  }

  /**
   * A lower bound on `slot`'s MAD, valid whatever the centre, recomputed every
   * {@link MAD_BOUND_PUSHES} pushes in O(window) and O(1) otherwise. Why it holds: at least
   * r = ⌈n/2⌉ values lie within MAD of the median (for even n, within the smaller of the two
   * middle deviations, which is ≤ MAD), and they are consecutive in sorted order, so
   * 2·MAD ≥ the shortest span of r consecutive values. After k more pushes, any r consecutive
   * values include at least r − k of the values seen when the bound was computed, whose span
   * is at least the shortest span of r − k consecutive values then. So half the shortest span
   * of ⌈n/2⌉ − MAD_BOUND_PUSHES consecutive values bounds the MAD until the next recompute.
   * A caller can skip the exact MAD when even this bound rules an outlier out.
   */
  madLowerBound(slot: number): number {
    if ((this.#madFloorAge[slot] as number) < MAD_BOUND_PUSHES) return this.#madFloor[slot] as number;
    const n = this.#count[slot] as number;
    const q = Math.ceil(n / 2) - MAD_BOUND_PUSHES;
    let span = 0;
    if (q >= 2) {
      const s = this.#sorted;
      const base = slot * this.window;
      span = Number.POSITIVE_INFINITY;
      for (let a = base; a + q - 1 < base + n; a++) {
        const d = (s[a + q - 1] as number) - (s[a] as number);
        if (d < span) span = d;
      }
    }
    this.#madFloor[slot] = span / 2;
    this.#madFloorAge[slot] = 0;
    return span / 2;
  }

  /** Mean of |x − `center`| over `slot`'s window; NaN when empty. */
  meanAbsDev(slot: number, center: number): number {
    const n = this.#count[slot] as number;
    const base = slot * this.window;
    const s = this.#sorted;
    let sum = 0;
    for (let i = base; i < base + n; i++) sum += Math.abs((s[i] as number) - center);
    return sum / n;
  }

  /** The typed arrays this object owns (for memory accounting). */
  buffers(): readonly ArrayBufferView[] {
    return [this.#ring, this.#sorted, this.#head, this.#count, this.#madFloor, this.#madFloorAge];
  }
}

/** Pushes for which {@link SortedWindows.madLowerBound} stays valid before it is recomputed. */
export const MAD_BOUND_PUSHES = 8;

/**
 * First index in [from, to) of sorted `s` whose value is ≥ `v`. Branch-free: each probe
 * moves `at` arithmetically, so the CPU has nothing to mispredict (a window's values arrive
 * in random order, and a branchy search mispredicts about every other step: measured 130 →
 * 85 ns per push of a 60-value window, and −15–35% per push on 10⁴ such windows).
 */
function lowerBound(s: Float64Array, from: number, to: number, v: number): number {
  let at = from;
  let n = to - from;
  while (n > 1) {
    const half = n >>> 1;
    at += half * +((s[at + half] as number) < v);
    n -= half;
  }
  return at + +(n === 1 && (s[at] as number) < v);
}
