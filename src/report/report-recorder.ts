import type { RiskEvent } from '../plugin/risk-events.js';
import type { EquityPoint, ReportData, RiskAction } from './report-data.js';
import { at } from '../util/indexed.js';

/** Options of {@link ReportRecorder}. */
export interface ReportRecorderOptions {
  /** Most equity points kept; beyond it every other point is dropped (the curve keeps its shape). Default 4 000. */
  readonly maxPoints?: number;
  /** Most action rows kept; later ones are counted, not stored. Default 5 000. */
  readonly maxActions?: number;
  /** The time of events that carry none (ORDER_DENIED): the host's clock. Default Date.now. */
  readonly now?: () => number;
}

/**
 * Collects what the HTML report shows, within fixed bounds: the equity curve (halved in
 * resolution whenever it reaches `maxPoints`), state transitions, anomalies and risk actions
 * from the plugin's events.
 *
 * @example
 * ```ts
 * const rec = new ReportRecorder();
 * plugin.subscribe((e) => rec.onEvent(e));
 * rec.equity(t, engine.portfolio.equity());
 * writeFile('report.html', renderReport(rec.data('Demo day', [])));
 * ```
 */
export class ReportRecorder {
  readonly #maxPoints: number;
  readonly #maxActions: number;
  readonly #now: () => number;
  #equity: EquityPoint[] = [];
  #stride = 1;
  #seen = 0;
  readonly #states: ReportData['states'][number][] = [];
  readonly #anomalies: ReportData['anomalies'][number][] = [];
  readonly #actions: RiskAction[] = [];
  #omitted = 0;

  constructor(options: ReportRecorderOptions = {}) {
    this.#maxPoints = options.maxPoints ?? 4_000;
    this.#maxActions = options.maxActions ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** One equity observation (time order). */
  equity(t: number, equity: number): void {
    if (this.#seen++ % this.#stride !== 0 || !Number.isFinite(equity)) return;
    this.#equity.push({ t, equity });
    if (this.#equity.length >= this.#maxPoints) {
      this.#equity = this.#equity.filter((_, i) => i % 2 === 0);
      this.#stride *= 2;
    }
  }

  /** A risk event from the plugin. */
  onEvent(e: RiskEvent): void {
    switch (e.kind) {
      case 'STATE_CHANGED':
        this.#states.push({ t: e.timestamp, from: e.from, to: e.to, cause: e.cause });
        this.action({ t: e.timestamp, kind: e.kind, symbol: '', code: e.cause, detail: `${e.from} → ${e.to}` });
        return;
      case 'ANOMALY_DETECTED': {
        const a = e.anomaly;
        if (this.#anomalies.length < this.#maxActions)
          this.#anomalies.push({ t: a.timestamp, type: a.type, severity: a.severity, symbols: a.symbols });
        this.action({
          t: a.timestamp,
          kind: e.kind,
          symbol: a.symbols.length === 1 ? at(a.symbols, 0) : `${a.symbols.length} symbols`,
          code: a.type,
          detail: `${a.severity}; actions ${a.actions.join(', ') || 'none'}`,
        });
        return;
      }
      case 'POSITION_CORRECTED':
        this.action({
          t: e.timestamp,
          kind: e.kind,
          symbol: e.symbol,
          code: e.kind,
          detail: `fills built ${e.was}, the snapshot says ${e.now}`,
        });
        return;
      case 'ORDER_DENIED':
        this.action({
          t: this.#now(),
          kind: e.kind,
          symbol: e.symbol,
          code: e.code,
          detail: `${e.clientOrderId}: ${e.message}`,
        });
        return;
      case 'STOP':
        // Placements, triggers and held-back triggers; the many trailing moves are counted in the summary.
        if (e.action !== 'MOVED')
          this.action({
            t: e.timestamp,
            kind: e.kind,
            symbol: e.symbol,
            code: `STOP_${e.action}`,
            detail: `${e.side} stop ${e.stop.toPrecision(6)} (close ${e.inputs.close.toPrecision(6)})`,
          });
        return;
      case 'DRAWDOWN':
        this.action({
          t: e.event.timestamp,
          kind: e.kind,
          symbol: '',
          code: e.event.reason,
          detail: `drawdown ${(100 * e.event.drawdown).toFixed(2)} %`,
        });
        return;
      case 'PROTECTION':
        this.action({
          t: e.timestamp,
          kind: e.kind,
          symbol: e.symbol,
          code: e.to === 'UNPROTECTED' ? (e.code ?? 'UNPROTECTED') : 'PROTECTION_RESTORED',
          detail: `${e.from} → ${e.to}${e.message === undefined ? '' : `: ${e.message}`}`,
        });
        return;
    }
  }

  /** Any other risk action (e.g. a dead-lettered order). */
  action(row: RiskAction): void {
    if (this.#actions.length >= this.#maxActions) {
      this.#omitted++;
      return;
    }
    this.#actions.push(row);
  }

  /** The collected data, for {@link renderReport}. */
  data(title: string, summary: readonly (readonly [string, string])[]): ReportData {
    return {
      title,
      equity: this.#equity,
      states: this.#states,
      anomalies: this.#anomalies,
      actions: this.#actions,
      actionsOmitted: this.#omitted,
      summary,
    };
  }
}
