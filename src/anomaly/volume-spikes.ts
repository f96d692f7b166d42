import type { Bar } from '../vocabulary/market.js';
import type { Kernels } from '../kernels/load.js';
import type { WindowBank } from '../kernels/windows.js';
import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type AnomalyEvent, type VolumeSpikeEvent } from './events.js';
import { type RobustScorer } from './robust.js';
import { f64At } from '../util/indexed.js';

/**
 * VOLUME_SPIKE detection, per slot: log(1 + volume) scored against the symbol's previous
 * `spikeWindow` values (robust z, see {@link RobustScorer}); fires when z ≥ `volumeZ` (upward
 * only: a quiet bar is not a spike). The log tames volume's heavy right tail and handles
 * volume 0. A symbol whose median volume over the window is 0 (a feed without volumes) is not
 * scored, so its first non-zero volume is not reported.
 *
 * A round of bars goes through {@link VolumeSpikes.stage} (each bar),
 * {@link VolumeSpikes.run} (one kernel call: every value that cannot be a spike is pushed)
 * and {@link VolumeSpikes.finish} (each bar in order: the rest are scored exactly, then pushed).
 *
 * @example
 * ```ts
 * volumes.begin();
 * round.forEach((bar, row) => volumes.stage(row, slotOf(bar), bar));
 * volumes.run();
 * round.forEach((bar, row) => volumes.finish(row, slotOf(bar), bar, events));
 * ```
 */
export class VolumeSpikes {
  readonly #config: AnomalyConfig;
  readonly #windows: WindowBank;
  readonly #scorer: RobustScorer;
  #values: Float64Array;
  #slots: Int32Array;
  #flags: Int32Array;

  constructor(kernels: Kernels, config: AnomalyConfig, scorer: RobustScorer) {
    this.#config = config;
    this.#scorer = scorer;
    this.#windows = kernels.windowBank({ symbols: config.maxSymbols, window: config.spikeWindow });
    ({ values: this.#values, slots: this.#slots } = this.#windows.input());
    this.#flags = new Int32Array(0);
  }

  /** Starts a round. */
  begin(): void {
    ({ values: this.#values, slots: this.#slots } = this.#windows.input());
  }

  /** Stages row `row` of the round: `slot`'s bar (at most one per slot in a round). */
  stage(row: number, slot: number, bar: Bar): void {
    this.#values[row] = Math.log1p(bar.volume);
    this.#slots[row] = slot;
  }

  /**
   * Scores the first `rows` staged rows in one kernel call. Only upward spikes fire:
   * x − median ≥ volumeZ·scale; a value for which even the scale's lower bound rules that out
   * (every value at or below the median, and almost every other) is pushed at once.
   */
  run(rows: number): void {
    const cfg = this.#config;
    this.#flags = this.#windows.checkPush(rows, cfg.minSamples, cfg.volumeZ, cfg.volumeScaleFloor, true);
  }

  /** Finishes row `row` (in row order): scores a flagged value exactly, appending a VOLUME_SPIKE to `out` when it fires, and pushes it. */
  finish(row: number, slot: number, bar: Bar, out: AnomalyEvent[]): void {
    if (this.#flags[row] !== 1) return;
    const cfg = this.#config;
    const x = f64At(this.#values, row);
    const scorer = this.#scorer;
    scorer.fit(this.#windows, slot, cfg.volumeScaleFloor);
    const z = scorer.z(x);
    if (scorer.median > 0 && z >= cfg.volumeZ) {
      out.push(
        anomalyEvent<VolumeSpikeEvent>({
          type: 'VOLUME_SPIKE',
          severity: 'INFO',
          symbols: [bar.symbol],
          timestamp: bar.timestamp,
          inputs: {
            value: x,
            median: scorer.median,
            mad: scorer.mad,
            scale: scorer.scale,
            z,
            threshold: cfg.volumeZ,
            samples: scorer.samples,
            volume: bar.volume,
          },
          actions: cfg.actions.VOLUME_SPIKE,
        }),
      );
    }
    this.#windows.push(slot, x);
  }

  /** Returns the window bank's WASM memory. */
  dispose(): void {
    this.#windows.dispose();
  }
}
