import type { OrderSink, ProtectiveCommand } from '../vocabulary/orders.js';
import { KeyedLock } from './keyed-lock.js';

interface Lane {
  readonly pending: ProtectiveCommand[];
  running: Promise<void> | undefined;
}

/** What happened to commands, for counters. */
export interface CoalescerStats {
  /** Commands the sink answered `ok`. */
  sent: number;
  /** Commands the sink refused, or whose send threw (reported as `SEND_FAILED`); not those superseded. */
  failed: number;
  /**
   * Amends and cancels refused because their order had already executed or closed
   * (`ORDER_CLOSED`): the stop did its job first; not a failure.
   */
  superseded: number;
  /** Amends replaced by a newer amend before they were sent. */
  coalesced: number;
}

/**
 * Sends protective commands with at most one in flight per position (key). While one is in
 * flight, a newer AMEND_STOP replaces a queued one; other commands queue behind it in order.
 * Sending holds the position's {@link KeyedLock}, so anything else that takes that lock
 * (the caller passes the same KeyedLock in) is serialised with the send. Lanes are removed when idle.
 *
 * @example
 * ```ts
 * const c = new CommandCoalescer(sink);
 * c.submit('AAPL', { kind: 'AMEND_STOP', clientOrderId, symbol: 'AAPL', stopPrice: 101, version: 7 });
 * ```
 */
export class CommandCoalescer {
  readonly #sink: OrderSink;
  readonly #locks: KeyedLock<string>;
  readonly #lanes = new Map<string, Lane>();
  readonly #onResult: (command: ProtectiveCommand, ok: boolean, code?: string) => void;
  readonly stats: CoalescerStats = { sent: 0, failed: 0, superseded: 0, coalesced: 0 };

  constructor(
    sink: OrderSink,
    locks = new KeyedLock<string>(),
    onResult: (command: ProtectiveCommand, ok: boolean, code?: string) => void = () => {},
  ) {
    this.#sink = sink;
    this.#locks = locks;
    this.#onResult = onResult;
  }

  /** Positions with a command queued or in flight. */
  get busy(): number {
    return this.#lanes.size;
  }

  /** Queues `command` for `key`; resolves when the lane has drained. */
  submit(key: string, command: ProtectiveCommand): Promise<void> {
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { pending: [], running: undefined };
      this.#lanes.set(key, lane);
    }
    const last = lane.pending[lane.pending.length - 1];
    if (command.kind === 'AMEND_STOP' && last?.kind === 'AMEND_STOP') {
      if (command.version > last.version) lane.pending[lane.pending.length - 1] = command;
      this.stats.coalesced++;
    } else {
      lane.pending.push(command);
    }
    if (lane.running === undefined) lane.running = this.#drain(key, lane);
    return lane.running;
  }

  /** Resolves when every lane has drained. */
  async idle(): Promise<void> {
    while (this.#lanes.size > 0)
      await Promise.all([...this.#lanes.values()].map((l) => l.running ?? Promise.resolve()));
  }

  async #drain(key: string, lane: Lane): Promise<void> {
    for (;;) {
      await this.#locks.run(key, async () => {
        for (let command = lane.pending.shift(); command !== undefined; command = lane.pending.shift()) {
          try {
            const result = await this.#sink.send(command);
            if (result.ok) this.stats.sent++;
            else if (isSuperseded(command, result.code)) this.stats.superseded++;
            else this.stats.failed++;
            this.#onResult(command, result.ok, result.ok ? undefined : result.code);
          } catch {
            this.stats.failed++;
            this.#onResult(command, false, 'SEND_FAILED');
          }
        }
      });
      // A command may have arrived while the lock was being released: checked and removed in
      // one synchronous step, so nothing queued is ever dropped.
      if (lane.pending.length === 0) {
        this.#lanes.delete(key);
        return;
      }
    }
  }
}

/** An amend or cancel whose order had already executed or closed: overtaken, not failed. */
function isSuperseded(command: ProtectiveCommand, code: string | undefined): boolean {
  return (command.kind === 'AMEND_STOP' || command.kind === 'CANCEL') && code === 'ORDER_CLOSED';
}
