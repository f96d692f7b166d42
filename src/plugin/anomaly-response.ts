import type { AnomalyEvent } from '../anomaly/events.js';
import type { StopManager } from '../stops/stop-manager.js';
import type { RiskEventHub } from './event-hub.js';
import type { PluginCounters } from './plugin-stats.js';
import type { TradingStateMachine } from './trading-state-machine.js';

/** What an anomaly's actions act on. */
export interface AnomalyResponseParts {
  readonly stops: StopManager;
  readonly machine: TradingStateMachine;
  readonly counters: PluginCounters;
  readonly hub: RiskEventHub;
  /** Fraction of the distance to the last close a TIGHTEN_STOPS action removes. */
  readonly tightenFraction: number;
  /** How long a REDUCE action holds trading in REDUCING (ms). */
  readonly reduceMs: number;
  /** The last close of `symbol` not held back as a suspected bad tick (NaN when none). */
  lastClose(symbol: string): number;
  /** The host's clock (epoch ms). */
  now(): number;
}

/**
 * What the plugin does about a detected anomaly: counts it by type, reports it
 * (ANOMALY_DETECTED), and applies its actions: TIGHTEN_STOPS moves every stop toward its
 * symbol's last trusted close; REDUCE holds trading in REDUCING for `reduceMs`.
 *
 * @example
 * ```ts
 * for (const event of detector.checkStale(now)) response.apply(event);
 * ```
 */
export class AnomalyResponse {
  readonly #p: AnomalyResponseParts;

  constructor(parts: AnomalyResponseParts) {
    this.#p = parts;
  }

  /** Handles `event` (undefined: nothing detected). */
  apply(event: AnomalyEvent | undefined): void {
    if (event === undefined) return;
    const p = this.#p;
    p.counters.anomalies.add(event.type);
    p.hub.emit({ kind: 'ANOMALY_DETECTED', anomaly: event });
    if (event.actions.includes('TIGHTEN_STOPS')) p.stops.tightenAll(p.tightenFraction, (symbol) => p.lastClose(symbol));
    if (event.actions.includes('REDUCE')) {
      p.machine.holdReducing(p.now() + p.reduceMs);
      p.machine.refresh(`ANOMALY_${event.type}`);
    }
  }
}
