import type { Bar } from '../vocabulary/market.js';
import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type AnomalyEvent, type VolumeSpikeEvent } from './events.js';
import { SortedWindows } from './windows.js';
import { RobustScorer } from './robust.js';

/**
 * VOLUME_SPIKE detection, per slot: log(1 + volume) scored against the symbol's previous
 * `spikeWindow` values (robust z, see {@link RobustScorer}); fires when z ≥ `volumeZ` (upward
 * only: a quiet bar is not a spike). The log tames volume's heavy right tail and handles
 * volume 0. A symbol whose median volume over the window is 0 (a feed without volumes) is not
 * scored, so its first non-zero volume is not reported.
 *
 * @example
 * ```ts
 * volumes.observe(slot, bar, events);
 * ```
 */
export class VolumeSpikes {
  readonly #config: AnomalyConfig;
  readonly #windows: SortedWindows;
  readonly #scorer: RobustScorer;

  constructor(config: AnomalyConfig, scorer: RobustScorer) {
    this.#config = config;
    this.#scorer = scorer;
    this.#windows = new SortedWindows(config.maxSymbols, config.spikeWindow);
  }

  /** Processes one bar of `slot`; appends a VOLUME_SPIKE to `out` when it fires. */
  observe(slot: number, bar: Bar, out: AnomalyEvent[]): void {
    const cfg = this.#config;
    const x = Math.log1p(bar.volume);
    // Only upward spikes fire: x − median ≥ volumeZ·scale. When even the scale's lower bound
    // rules that out (every value at or below the median, and almost every other), the exact
    // MAD is not needed.
    const w = this.#windows;
    if (
      w.count(slot) >= cfg.minSamples &&
      x - w.median(slot) >= cfg.volumeZ * RobustScorer.scaleLowerBound(w, slot, cfg.volumeScaleFloor)
    ) {
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
    }
    this.#windows.push(slot, x);
  }

  /** The typed arrays this object owns (for memory accounting). */
  buffers(): readonly ArrayBufferView[] {
    return this.#windows.buffers();
  }
}
