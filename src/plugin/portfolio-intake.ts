import type { AnomalyDetector } from '../anomaly/detector.js';
import type { DrawdownController } from '../drawdown/drawdown-controller.js';
import type { StopManager } from '../stops/stop-manager.js';
import { validateFill, validateSnapshot } from '../validation/records.js';
import type { Fill, PortfolioSnapshot } from '../vocabulary/market.js';
import type { RiskLimits } from './config.js';
import type { RiskEventHub } from './event-hub.js';
import type { PluginCounters } from './plugin-stats.js';
import type { HeldPosition } from './pre-trade-veto.js';
import type { PreTradeLimits } from '../limits/pre-trade-limits.js';

/** Snapshots a quarantine episode may keep from the ladder before equity is taken as is. */
const MAX_DEFERRED_SNAPSHOTS = 3;

/** What the portfolio path works with. */
export interface PortfolioIntakeParts {
  readonly limits: RiskLimits;
  readonly stops: StopManager;
  readonly detector: AnomalyDetector;
  readonly drawdown: DrawdownController;
  readonly counters: PluginCounters;
  readonly hub: RiskEventHub;
  /** Whether this instance manages `symbol`'s position (undefined: every position, no coordinator). */
  readonly owns: ((symbol: string) => boolean) | undefined;
  /** The pre-trade limits, whose exposure book follows fills and snapshots. */
  readonly preTrade: PreTradeLimits | undefined;
  /** Told each equity the drawdown ladder accepted (the daily loss limit's input). */
  readonly onEquity?: (timestamp: number, equity: number) => void;
}

/**
 * The host's portfolio and executions: each snapshot and fill is validated (bad ones rejected
 * with a code); a snapshot's positions are handed to the stops (those this instance owns),
 * kept as the book the pre-trade veto reads, and its equity fed to the drawdown ladder, unless
 * a held position's symbol is quarantined (a mark to a suspected bad tick would set a false
 * peak or trough: up to {@link MAX_DEFERRED_SNAPSHOTS} in a row wait for the next bar).
 *
 * @example
 * ```ts
 * intake.snapshot(snapshot);
 * intake.position('AAPL'); // { side: 'LONG', quantity: 10, ... } from the last snapshot
 * ```
 */
export class PortfolioIntake {
  readonly #p: PortfolioIntakeParts;
  /** Every position of the host's last accepted snapshot (bounded by the snapshot's own limit). */
  readonly #book = new Map<string, HeldPosition>();
  #deferredInARow = 0;

  constructor(parts: PortfolioIntakeParts) {
    this.#p = parts;
  }

  /** `symbol`'s position in the host's last accepted snapshot, else the one the stops manage. */
  position(symbol: string): HeldPosition | undefined {
    return this.#book.get(symbol) ?? this.#p.stops.get(symbol);
  }

  /** One execution: validated, then applied to its position's stop at once. */
  fill(fill: Fill): void {
    const { counters, limits } = this.#p;
    counters.fills++;
    const v = validateFill(fill, limits);
    if (!v.ok) {
      counters.fillsRejected++;
      counters.rejections.add(v.rejection.code);
      return;
    }
    const f = v.value;
    this.#p.preTrade?.onFill(f);
    this.#p.stops.onFill(f);
  }

  /** One portfolio snapshot: positions to protect, and equity for the drawdown ladder. */
  snapshot(snapshot: PortfolioSnapshot): void {
    const { counters, limits, stops, owns } = this.#p;
    counters.snapshots++;
    const v = validateSnapshot(snapshot, limits);
    if (!v.ok) {
      counters.snapshotsRejected++;
      counters.rejections.add(v.rejection.code);
      return;
    }
    for (const r of v.value.rejected) if (!r.ok) counters.rejections.add(r.rejection.code);
    const { snapshot: s } = v.value;
    this.#p.hub.readLogLevels();
    this.#book.clear();
    for (const p of s.positions) this.#book.set(p.symbol, p);
    const preTrade = this.#p.preTrade;
    if (preTrade !== undefined) {
      // The snapshot wins over what the fills built; each difference is reported.
      const changed = preTrade.onSnapshot(
        s.positions.map((p) => ({
          symbol: p.symbol,
          signed: p.side === 'LONG' ? p.quantity : -p.quantity,
          price: p.entryPrice,
        })),
      );
      for (const d of changed)
        this.#p.hub.emit({
          kind: 'POSITION_CORRECTED',
          symbol: d.symbol,
          was: d.was,
          now: d.now,
          timestamp: s.timestamp,
        });
    }
    // With a coordinator, only the positions this instance owns are its to manage.
    const mine = owns === undefined ? s.positions : s.positions.filter((p) => owns(p.symbol));
    // The symbols refused a stop: maxPositions reached.
    const refused = stops.syncPositions(mine, s.timestamp);
    if (refused.length > 0) counters.rejections.add('POSITION_LIMIT', refused.length);
    // Equity marked to a suspected bad tick would set a false peak (or trough): the ladder
    // waits for the next snapshot, after the next bar has confirmed or reverted the tick.
    const detector = this.#p.detector;
    if (!s.positions.some((p) => detector.isQuarantined(p.symbol))) this.#deferredInARow = 0;
    else if (this.#deferredInARow < MAX_DEFERRED_SNAPSHOTS) {
      this.#deferredInARow++;
      counters.equityDeferred++;
      return;
    }
    const pushed = this.#p.drawdown.update(s.timestamp, s.equity);
    if (!pushed.ok) {
      counters.snapshotsRejected++;
      counters.rejections.add(pushed.rejection.code);
      return;
    }
    this.#p.onEquity?.(s.timestamp, s.equity);
  }
}
