import { at } from '../util/indexed.js';
/** Priority lanes, served in this order. */
export type EgressLane = 'PROTECTIVE' | 'REDUCE' | 'NORMAL';

/** The lanes, highest priority first. */
export const EGRESS_LANES: readonly EgressLane[] = Object.freeze(['PROTECTIVE', 'REDUCE', 'NORMAL']);

/** What the queue needs to know of an item. */
export interface EgressItem {
  readonly kind: string;
  readonly clientOrderId: string;
  /** Present on amends: a queued amend is replaced only by a higher version. */
  readonly version?: number;
}

/** Why an item was not queued. */
export type EnqueueResult =
  { readonly ok: true; readonly coalesced: boolean } | { readonly ok: false; readonly code: 'EGRESS_QUEUE_FULL' };

/** Options of {@link EgressQueue}. */
export interface EgressQueueOptions {
  /** Items the REDUCE and NORMAL lanes hold together. Default 10 000. */
  readonly capacity?: number;
  /** Kind of item that is an amend (coalesced per client order id). Default `AMEND_STOP`. */
  readonly amendKind?: string;
}

interface Lane<T> {
  items: (T | undefined)[];
  head: number;
}

/**
 * The order egress queue: PROTECTIVE (stops, exits, halt flattening) before REDUCE before
 * NORMAL, first in first out within a lane. PROTECTIVE is never refused or dropped: it does
 * not count against `capacity`, so a flood of normal orders can never crowd a stop out.
 * REDUCE and NORMAL share `capacity`; beyond it an item is refused with
 * `EGRESS_QUEUE_FULL`. A queued amend for the same client order id is replaced in place by a
 * newer one (an older one is dropped as stale), so amends coalesce per order.
 *
 * @example
 * ```ts
 * const q = new EgressQueue<ProtectiveCommand>({ capacity: 1_000 });
 * q.enqueue('PROTECTIVE', placeStop);
 * const next = q.dequeue(); // the highest-priority item, or undefined
 * ```
 */
export class EgressQueue<T extends EgressItem> {
  readonly capacity: number;
  readonly #amendKind: string;
  readonly #lanes: Record<EgressLane, Lane<T>> = {
    PROTECTIVE: { items: [], head: 0 },
    REDUCE: { items: [], head: 0 },
    NORMAL: { items: [], head: 0 },
  };
  /** Queued amends: client order id → where it sits. */
  readonly #amends = new Map<string, { lane: EgressLane; index: number }>();
  #sizes: Record<EgressLane, number> = { PROTECTIVE: 0, REDUCE: 0, NORMAL: 0 };
  #coalesced = 0;
  #refused = 0;

  constructor(options: EgressQueueOptions = {}) {
    this.capacity = options.capacity ?? 10_000;
    this.#amendKind = options.amendKind ?? 'AMEND_STOP';
  }

  /** Items waiting in `lane`, or in all lanes. */
  size(lane?: EgressLane): number {
    return lane === undefined ? this.#sizes.PROTECTIVE + this.#sizes.REDUCE + this.#sizes.NORMAL : this.#sizes[lane];
  }

  /** Amends replaced by a newer one, or dropped as older, while queued. */
  get coalesced(): number {
    return this.#coalesced;
  }

  /** Items refused with EGRESS_QUEUE_FULL. */
  get refused(): number {
    return this.#refused;
  }

  /** Queues `item` in `lane`. */
  enqueue(lane: EgressLane, item: T): EnqueueResult {
    if (item.kind === this.#amendKind) {
      const where = this.#amends.get(item.clientOrderId);
      if (where !== undefined) {
        const queued = at(this.#lanes[where.lane].items, where.index);
        if ((item.version ?? 0) > (queued.version ?? 0)) this.#lanes[where.lane].items[where.index] = item;
        this.#coalesced++;
        return { ok: true, coalesced: true };
      }
    }
    if (lane !== 'PROTECTIVE' && this.#sizes.REDUCE + this.#sizes.NORMAL >= this.capacity) {
      this.#refused++;
      return { ok: false, code: 'EGRESS_QUEUE_FULL' };
    }
    const l = this.#lanes[lane];
    if (item.kind === this.#amendKind) this.#amends.set(item.clientOrderId, { lane, index: l.items.length });
    l.items.push(item);
    this.#sizes[lane]++;
    return { ok: true, coalesced: false };
  }

  /** The next item by priority (among `lanes`, default all), or undefined when none waits. */
  dequeue(lanes: readonly EgressLane[] = EGRESS_LANES): { readonly lane: EgressLane; readonly item: T } | undefined {
    for (const lane of EGRESS_LANES) {
      if (!lanes.includes(lane)) continue;
      if (this.#sizes[lane] === 0) continue;
      const l = this.#lanes[lane];
      const item = at(l.items, l.head);
      l.items[l.head] = undefined;
      l.head++;
      this.#sizes[lane]--;
      if (item.kind === this.#amendKind) this.#amends.delete(item.clientOrderId);
      if (l.head === l.items.length) {
        l.items.length = 0;
        l.head = 0;
      } else if (l.head >= 1_024 && l.head * 2 >= l.items.length) {
        this.#compact(lane);
      }
      return { lane, item };
    }
    return undefined;
  }

  /** Drops the consumed prefix of a lane and re-indexes its queued amends. */
  #compact(lane: EgressLane): void {
    const l = this.#lanes[lane];
    l.items = l.items.slice(l.head);
    l.head = 0;
    l.items.forEach((item, index) => {
      if (item !== undefined && item.kind === this.#amendKind) this.#amends.set(item.clientOrderId, { lane, index });
    });
  }
}
