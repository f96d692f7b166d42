import type { CoordinatorEvent, InstanceCoordinator } from '../coordination/events.js';

/** What the plugin does on its coordinator's events. */
export interface CoordinationHandlers {
  /** Another instance manages `symbol` now: let its position go (its resting stop stays for the new owner). */
  lost(symbol: string): void;
  /** This instance manages `symbol` now: take over its resting stop. */
  acquired(symbol: string): void;
  /** The coordinator's state may have changed (`cause` names why): the trading state is read again. */
  changed(cause: string): void;
}

/** The cause a coordinator event gives a trading-state refresh. */
function causeOf(e: Exclude<CoordinatorEvent, { kind: 'LEASE_LOST' | 'LEASE_ACQUIRED' }>): string {
  return e.kind === 'STATE_CHANGED' ? `COORDINATION_${e.cause}` : e.kind;
}

/**
 * Subscribes `handlers` to `coordinator`'s events until `signal` aborts (the plugin's
 * dispose), when the subscription is released; an event that still arrives afterwards is
 * ignored. Nothing is subscribed when `signal` has already aborted.
 *
 * @example
 * ```ts
 * followCoordinator(coordinator, { lost, acquired, changed }, disposal.signal);
 * ```
 */
export function followCoordinator(
  coordinator: InstanceCoordinator,
  handlers: CoordinationHandlers,
  signal: AbortSignal,
): void {
  if (signal.aborted) return;
  const unsubscribe = coordinator.subscribe((e) => {
    if (signal.aborted) return;
    switch (e.kind) {
      case 'LEASE_LOST':
        handlers.lost(e.symbol);
        return;
      case 'LEASE_ACQUIRED':
        handlers.acquired(e.symbol);
        return;
      default:
        handlers.changed(causeOf(e));
    }
  });
  signal.addEventListener('abort', unsubscribe, { once: true });
}
