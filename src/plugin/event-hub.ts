import type { RiskLogger } from '../logging/logger.js';
import { logRiskEvent } from '../logging/risk-log.js';
import type { StopAction } from '../stops/stop-manager.js';
import { notifyAll } from '../util/notify.js';
import type { RiskEvent, RiskListener } from './risk-events.js';

/**
 * Where the risk plugin's {@link RiskEvent}s go: its subscribers and, when it has one, its
 * structured logger. A listener or logger that throws is isolated. Once closed (the plugin's
 * dispose) the listeners are dropped and nothing is delivered any more.
 *
 * @example
 * ```ts
 * const hub = new RiskEventHub(logger, false);
 * const off = hub.subscribe((e) => console.log(e.kind));
 * hub.emit({ kind: 'STATE_CHANGED', from: 'ACTIVE', to: 'REDUCING', timestamp: now, cause: 'BARS' });
 * off();
 * ```
 */
export class RiskEventHub {
  readonly #listeners = new Set<RiskListener>();
  readonly #logger: RiskLogger | undefined;
  readonly #shadow: boolean;
  /** The logger's levels, read once per batch or snapshot (pino's isLevelEnabled costs ~50 ns a call). */
  readonly #logs = { debug: false, info: false, warn: false };
  #closed = false;

  /** `shadow`: the plugin's shadow mode, which the log records carry. */
  constructor(logger: RiskLogger | undefined, shadow: boolean) {
    this.#logger = logger;
    this.#shadow = shadow;
  }

  /** True once {@link RiskEventHub.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Adds a listener; returns its unsubscribe function. After close, adds nothing. */
  subscribe(listener: RiskListener): () => void {
    if (this.#closed) return () => {};
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Whether a stop decision of `action` would reach anyone: a subscriber, or a logger whose
   * level takes it (MOVED is logged at debug, SUPPRESSED at warn, the others at info).
   */
  wants(action: StopAction): boolean {
    if (this.#listeners.size > 0) return true;
    return action === 'MOVED' ? this.#logs.debug : action === 'SUPPRESSED' ? this.#logs.warn : this.#logs.info;
  }

  /** Reads the logger's levels again (once per batch or snapshot). */
  readLogLevels(): void {
    const l = this.#logger;
    this.#logs.debug = l?.isLevelEnabled('debug') === true;
    this.#logs.info = l?.isLevelEnabled('info') === true;
    this.#logs.warn = l?.isLevelEnabled('warn') === true;
  }

  /** Freezes `event`, logs it and hands it to every listener. Does nothing once closed. */
  emit(event: RiskEvent): void {
    if (this.#closed) return;
    const frozen = Object.freeze(event);
    if (this.#logger !== undefined) {
      try {
        logRiskEvent(this.#logger, frozen, this.#shadow);
      } catch {
        // A failing logger must not break risk processing.
      }
    }
    notifyAll(this.#listeners, frozen);
  }

  /** Drops every listener; later events go nowhere. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }
}
