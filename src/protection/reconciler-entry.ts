/** What the stop reconciler keeps per symbol (observed orders, desired stop, state) and the actions it plans. @internal */
import type { IBackoff } from 'cockatiel';
import type { TimerHandle } from '../util/clock.js';
import type { OrderSide } from '../vocabulary/market.js';
import type { BrokerOrderStatus } from '../vocabulary/services.js';
import type { DesiredStop, ProtectionState } from './protection-types.js';

export type TrackedStatus = BrokerOrderStatus | 'UNKNOWN' | 'NEVER';

/** One of Bulwark's orders on a symbol, as far as the broker has shown it. */
export interface Tracked {
  readonly id: string;
  side: OrderSide;
  quantity: number;
  executed: number;
  /** Executed quantity the host has booked as fills (through {@link StopReconciler.fillApplied}). */
  acked: number;
  stopPrice: number;
  status: TrackedStatus;
  /** Since when the broker has shown more executed than the host booked (NaN: nothing unbooked). */
  unbookedSince: number;
  /** The executed quantity the order path was last asked to book (see `bookExecuted`). */
  bookAsked: number;
}

export interface Entry {
  readonly symbol: string;
  /** undefined: flat; null: not told yet (an order found at the broker before the plugin spoke of the symbol). */
  desired: DesiredStop | undefined | null;
  readonly orders: Map<string, Tracked>;
  running: boolean;
  /** A step is queued for the end of the current synchronous work. */
  kicked: boolean;
  timer: TimerHandle | undefined;
  backoff: IBackoff<unknown> | undefined;
  state: ProtectionState;
  code: string | undefined;
  message: string | undefined;
  /** A hard rejection of one desired stop: not tried again unchanged before `until`. */
  hard: { readonly key: string; readonly until: number; readonly code: string; readonly message: string } | undefined;
  readonly since: number;
  /** Since when no live stop of the desired side rests (NaN while one does). */
  bareSince: number;
  /** Position updates (snapshots) received for the symbol: each confirms the desired size. */
  sizeEpoch: number;
  /**
   * The size epoch at which an execution of one of our stops was seen (undefined: none
   * pending): the desired size predates it until a newer position update comes.
   */
  fenceEpoch: number | undefined;
  /** Since when that execution waits for a position update. */
  fenceSince: number;
  /** What executed since the fence began (taken off the desired size if no update comes in time). */
  fenceExecuted: number;
}

export type Action =
  | { readonly kind: 'STATUS'; readonly order: Tracked }
  | { readonly kind: 'CANCEL'; readonly order: Tracked }
  | { readonly kind: 'PLACE'; readonly id: string; readonly want: DesiredStop }
  | { readonly kind: 'AMEND'; readonly order: Tracked; readonly want: DesiredStop }
  /** Cancel-replace (venues without an in-place amend): `order` is cancelled, `want` placed as `id`. */
  | { readonly kind: 'REPLACE'; readonly order: Tracked; readonly id: string; readonly want: DesiredStop }
  | {
      readonly kind: 'WAIT';
      readonly until: number;
      readonly state: ProtectionState;
      readonly code?: string;
      readonly message?: string;
    }
  | { readonly kind: 'DONE'; readonly state: ProtectionState; readonly code?: string; readonly message?: string };

export const LIVE: ReadonlySet<TrackedStatus> = new Set(['NEW', 'PARTIALLY_FILLED']);
export const isLive = (t: Tracked) => LIVE.has(t.status);
/** Executed at the broker beyond what the host booked, and not yet handed to `bookExecuted`. */
export const awaitsBooking = (t: Tracked) =>
  t.executed > t.acked && t.executed > t.bookAsked && !Number.isNaN(t.unbookedSince);
