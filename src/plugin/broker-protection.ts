import type { InstanceCoordinator } from '../coordination/events.js';
import { StopReconciler, type ProtectionChange } from '../protection/stop-reconciler.js';
import type { Clock } from '../util/clock.js';
import type { OrderService } from '../vocabulary/services.js';
import { instrumentStep, type StopsConfig } from './config.js';

/** What the broker-side stop reconciler is built from. */
export interface BrokerProtectionParts {
  readonly stops: StopsConfig;
  readonly orders: OrderService;
  /** The client order id prefix of Bulwark's orders (`bw`). */
  readonly prefix: string;
  readonly nextId: () => string;
  readonly coordinator: InstanceCoordinator | undefined;
  readonly clock: Clock | undefined;
  /** Told when a position becomes UNPROTECTED at the broker, or recovers from it. */
  readonly onUnprotected: (change: ProtectionChange) => void;
}

/**
 * BROKER mode: the stop reconciler that makes the broker hold each position's stop, paced by
 * `stops.reconcile`, rounding to each instrument's steps, adopting only Bulwark's own orders
 * (its client id prefix, or the order service's word) and, with a coordinator, only those of
 * symbols this instance owns. Of its state changes only those into and out of UNPROTECTED
 * are passed on (not every PENDING ↔ CONVERGED step of an ordinary amend).
 *
 * @example
 * ```ts
 * const reconciler = createBrokerProtection({ stops: config.stops, orders: ctx.orders, prefix: 'bw', ... });
 * await reconciler.start();
 * ```
 */
export function createBrokerProtection(p: BrokerProtectionParts): StopReconciler {
  const start = `${p.prefix}-`;
  const { coordinator, clock, orders, stops } = p;
  return new StopReconciler({
    orders,
    nextId: p.nextId,
    isOurs: (id) => id.startsWith(start) || orders.isOurs?.(id) === true,
    ...(coordinator === undefined ? {} : { manages: (symbol: string) => coordinator.owns(symbol) }),
    tickSize: (symbol) => instrumentStep(stops, symbol, 'tickSize'),
    lotSize: (symbol) => instrumentStep(stops, symbol, 'lotSize'),
    ...(clock === undefined ? {} : { clock }),
    ...stops.reconcile,
    orphanGraceMs: stops.restoreGraceMs,
    onChange: (change) => {
      if (change.from === 'UNPROTECTED' || change.to === 'UNPROTECTED') p.onUnprotected(change);
    },
  });
}
