/**
 * The same rolling-sum Pearson as Bulwark's correlation bank, in plain JavaScript over
 * Float64Arrays (packed upper triangle, ring of returns), minus the periodic recompute and
 * missing-value handling: a lower bound on what a careful JS implementation costs.
 */
export class PlainCorrelation {
  readonly #n: number;
  readonly #w: number;
  readonly #ring: Float64Array;
  readonly #sx: Float64Array;
  readonly #sxx: Float64Array;
  readonly #sxy: Float64Array;
  #head = 0;
  #filled = 0;

  constructor(n: number, w: number) {
    this.#n = n;
    this.#w = w;
    this.#ring = new Float64Array(n * w);
    this.#sx = new Float64Array(n);
    this.#sxx = new Float64Array(n);
    this.#sxy = new Float64Array((n * (n - 1)) / 2);
  }

  update(r: Float64Array): void {
    const n = this.#n;
    const base = this.#head * n;
    const full = this.#filled === this.#w;
    const ring = this.#ring;
    const sxy = this.#sxy;
    let p = 0;
    for (let i = 0; i < n; i++) {
      const a = r[i] as number;
      const b = full ? (ring[base + i] as number) : 0;
      this.#sx[i] = (this.#sx[i] as number) + a - b;
      this.#sxx[i] = (this.#sxx[i] as number) + a * a - b * b;
      for (let j = i + 1; j < n; j++, p++) {
        const bj = full ? (ring[base + j] as number) : 0;
        sxy[p] = (sxy[p] as number) + a * (r[j] as number) - b * bj;
      }
    }
    ring.set(r, base);
    this.#head = (this.#head + 1) % this.#w;
    if (!full) this.#filled++;
  }

  get(i: number, j: number): number {
    const n = this.#n;
    const N = this.#filled;
    const p = (i * (2 * n - i - 1)) / 2 + (j - i - 1);
    const sx = this.#sx;
    const cov = (this.#sxy[p] as number) - ((sx[i] as number) * (sx[j] as number)) / N;
    const vi = (this.#sxx[i] as number) - (sx[i] as number) ** 2 / N;
    const vj = (this.#sxx[j] as number) - (sx[j] as number) ** 2 / N;
    return cov / Math.sqrt(vi * vj);
  }
}
