import { open, type FileHandle } from 'node:fs/promises';
import { openForAppend, readJsonLines, rewriteJsonLines } from '../util/json-lines.js';
import type { CommandResult, ProtectiveCommand } from '../vocabulary/orders.js';
import { addTo, rememberIn } from '../util/bounded.js';

type Line =
  | { readonly t: 'INTENT'; readonly command: ProtectiveCommand; readonly at: number }
  | {
      readonly t: 'OUTCOME';
      readonly clientOrderId: string;
      readonly kind: ProtectiveCommand['kind'];
      readonly ok: boolean;
      readonly code?: string;
      readonly at: number;
    }
  | { readonly t: 'DONE'; readonly clientOrderId: string; readonly at: number }
  | { readonly t: 'PENDING'; readonly stops: readonly PendingStop[]; readonly at: number }
  | { readonly t: 'BOOKED'; readonly clientOrderId: string; readonly cumQty: number; readonly at: number };

/** A protective stop that had not converged at the broker when the process stopped (the plugin's wish, not an order). */
export interface PendingStop {
  readonly symbol: string;
  /** SELL protects a long, BUY a short. */
  readonly side: 'BUY' | 'SELL';
  readonly quantity: number;
  readonly stopPrice: number;
  /** Why it had not converged (PENDING, or the UNPROTECTED reason code). */
  readonly code: string;
}

/** What reconciliation found for one in-doubt intent. */
export type Reconciled = 'EXECUTED' | 'NEVER_SEEN' | 'STILL_UNKNOWN';

/** Options of {@link OrderJournal.open}. */
export interface OrderJournalOptions {
  /** Lines after which the file is compacted to what still matters. Default 100 000. */
  readonly compactAfter?: number;
  readonly now?: () => number;
}

const key = (kind: string, id: string) => `${kind}:${id}`;

/** Client ids whose intents and booked quantities the journal remembers (the oldest are forgotten). */
const MAX_REMEMBERED = 100_000;

/**
 * The write-ahead journal of order intents: an intent is appended and fsync'd before it is
 * sent, its outcome after. After a crash, `inDoubt()` lists every intent with no outcome —
 * the orders that may or may not have reached the broker — for reconciliation before
 * anything new is sent, and `liveStops()` the protective stops the broker accepted and that
 * were not cancelled since. A torn last line is skipped. Compaction rewrites the file
 * atomically to the in-doubt intents and live stops, so it stays bounded.
 *
 * @example
 * ```ts
 * const journal = await OrderJournal.open('var/journal.jsonl');
 * for (const c of journal.inDoubt()) await reconcile(c);
 * await journal.intent(command); const r = await send(command); await journal.outcome(command, r);
 * ```
 */
export class OrderJournal {
  readonly path: string;
  /** Lines skipped on open because they were not valid. */
  readonly corrupt: number;
  readonly #pending = new Map<string, ProtectiveCommand>();
  readonly #stops = new Map<string, ProtectiveCommand>();
  /** Client ids of intents recorded (bounded: the oldest are forgotten past 100 000). */
  readonly #known = new Set<string>();
  #pendingStops: readonly PendingStop[] = [];
  /** Booked executed quantity per client id (bounded like `#known`). */
  readonly #booked = new Map<string, number>();
  readonly #compactAfter: number;
  readonly #now: () => number;
  #file: FileHandle;
  #lines: number;
  #writing: Promise<unknown> = Promise.resolve();
  #inFlight = 0;

  private constructor(
    path: string,
    file: FileHandle,
    lines: readonly Line[],
    corrupt: number,
    options: OrderJournalOptions,
  ) {
    this.path = path;
    this.#file = file;
    this.corrupt = corrupt;
    this.#lines = lines.length;
    this.#compactAfter = options.compactAfter ?? 100_000;
    this.#now = options.now ?? Date.now;
    for (const line of lines) this.#apply(line);
  }

  /** Opens (or creates) the journal at `path` and replays it. */
  static async open(path: string, options: OrderJournalOptions = {}): Promise<OrderJournal> {
    const isLine = (l: unknown): l is Line => {
      // A parsed line is untrusted JSON: every field may be missing or of another type.
      const line = l as {
        t?: unknown;
        command?: { clientOrderId?: unknown } | null;
        clientOrderId?: unknown;
        stops?: unknown;
        cumQty?: unknown;
      } | null;
      return (
        (line?.t === 'INTENT' && typeof line.command?.clientOrderId === 'string') ||
        ((line?.t === 'OUTCOME' || line?.t === 'DONE') && typeof line.clientOrderId === 'string') ||
        (line?.t === 'PENDING' && Array.isArray(line.stops)) ||
        (line?.t === 'BOOKED' && typeof line.clientOrderId === 'string' && typeof line.cumQty === 'number')
      );
    };
    const { items, corrupt } = await readJsonLines(path, isLine);
    return new OrderJournal(path, await openForAppend(path), items, corrupt, options);
  }

  /** Intents recorded with no outcome: their fate at the broker is unknown. */
  inDoubt(): readonly ProtectiveCommand[] {
    return [...this.#pending.values()];
  }

  /** True when the journal has recorded an intent with this client id (kept while it is in doubt or live, and bounded). */
  knows(clientOrderId: string): boolean {
    return this.#known.has(clientOrderId);
  }

  /** The executed quantity of `clientOrderId` already booked as fills (by this or an earlier process); 0 when none. */
  bookedQty(clientOrderId: string): number {
    return this.#booked.get(clientOrderId) ?? 0;
  }

  /**
   * Records, durably, that `cumQty` of `clientOrderId` has been booked as fills: a restarted
   * process that reads the order's executed quantity again books only what is beyond it.
   */
  booked(clientOrderId: string, cumQty: number): Promise<void> {
    return this.#append({ t: 'BOOKED', clientOrderId, cumQty, at: this.#now() });
  }

  /** The stops that had not converged when the last process stopped (see {@link OrderJournal.pending}). */
  pendingStops(): readonly PendingStop[] {
    return this.#pendingStops;
  }

  /**
   * Records, durably, the protective stops not converged at shutdown (an empty list clears
   * it): the next start restores them first, so a stop the plugin had tightened is not
   * forgotten for the looser one resting at the broker.
   */
  pending(stops: readonly PendingStop[]): Promise<void> {
    return this.#append({ t: 'PENDING', stops, at: this.#now() });
  }

  /** The live stop with this client id, as last accepted (its latest stop price); undefined when none. */
  liveStop(clientOrderId: string): ProtectiveCommand | undefined {
    return this.#stops.get(clientOrderId);
  }

  /**
   * Stops the broker accepted (placed, amended or replaced) whose end is not recorded yet: not
   * cancelled by a CANCEL, nor retired by `done` (filled, cancelled or expired at the broker,
   * including a link a replace cancelled, once what it executed is booked).
   */
  liveStops(): readonly ProtectiveCommand[] {
    return [...this.#stops.values()];
  }

  /** Records an intent, durably, before it is sent. */
  intent(command: ProtectiveCommand): Promise<void> {
    return this.#append({ t: 'INTENT', command, at: this.#now() });
  }

  /** Records an intent's final outcome, durably. */
  outcome(command: ProtectiveCommand, result: CommandResult): Promise<void> {
    return this.#append({
      t: 'OUTCOME',
      clientOrderId: command.clientOrderId,
      kind: command.kind,
      ok: result.ok,
      ...(result.ok ? {} : { code: result.code }),
      at: this.#now(),
    });
  }

  /** Records that a stop is no longer live at the broker (filled, cancelled or expired there), durably. */
  done(clientOrderId: string): Promise<void> {
    if (!this.#stops.has(clientOrderId)) return Promise.resolve();
    return this.#append({ t: 'DONE', clientOrderId, at: this.#now() });
  }

  /** True while a write is under way. */
  get writing(): boolean {
    return this.#inFlight > 0;
  }

  /** Resolves once every write asked for so far is on disk (or failed). */
  flushed(): Promise<void> {
    return this.#writing.then(() => undefined);
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#writing;
    await this.#file.close();
  }

  #apply(line: Line): void {
    if (line.t === 'BOOKED') {
      rememberIn(
        this.#booked,
        line.clientOrderId,
        Math.max(line.cumQty, this.#booked.get(line.clientOrderId) ?? 0),
        MAX_REMEMBERED,
      );
      return;
    }
    if (line.t === 'PENDING') {
      this.#pendingStops = line.stops.filter(isPendingStop);
      return;
    }
    if (line.t === 'DONE') {
      this.#stops.delete(line.clientOrderId);
      return;
    }
    if (line.t === 'INTENT') {
      addTo(this.#known, line.command.clientOrderId, MAX_REMEMBERED);
      this.#pending.set(key(line.command.kind, line.command.clientOrderId), line.command);
      return;
    }
    const k = key(line.kind, line.clientOrderId);
    const command = this.#pending.get(k);
    this.#pending.delete(k);
    if (!line.ok || command === undefined) return;
    if (command.kind === 'PLACE_STOP') this.#stops.set(command.clientOrderId, command);
    else if (command.kind === 'REPLACE_STOP') {
      // The chain moves on: the new link is a live stop. The replaced one stays on the books
      // until its end is recorded (`done`): it may have executed in part before the cancel, and
      // a reconcile must still ask about it, or that execution would never be booked.
      const { replaces: _replaced, ...placed } = command;
      this.#stops.set(command.clientOrderId, { ...placed, kind: 'PLACE_STOP' });
    } else if (command.kind === 'AMEND_STOP') {
      const placed = this.#stops.get(command.clientOrderId);
      if (placed?.kind === 'PLACE_STOP')
        this.#stops.set(command.clientOrderId, { ...placed, stopPrice: command.stopPrice });
    } else if (command.kind === 'CANCEL') this.#stops.delete(command.clientOrderId);
  }

  #append(line: Line): Promise<void> {
    this.#apply(line);
    this.#inFlight++;
    const write = this.#writing.then(async () => {
      try {
        await this.#file.write(`${JSON.stringify(line)}\n`);
        await this.#file.datasync();
        if (++this.#lines >= this.#compactAfter) await this.#compact();
      } finally {
        this.#inFlight--;
      }
    });
    this.#writing = write.catch(() => {});
    return write;
  }

  /** Rewrites the file to the in-doubt intents and live stops (temp file, fsync, rename). */
  async #compact(): Promise<void> {
    const at = this.#now();
    const keep: Line[] = [];
    for (const command of this.#stops.values()) {
      keep.push(
        { t: 'INTENT', command, at },
        { t: 'OUTCOME', clientOrderId: command.clientOrderId, kind: command.kind, ok: true, at },
      );
    }
    for (const command of this.#pending.values()) keep.push({ t: 'INTENT', command, at });
    if (this.#pendingStops.length > 0) keep.push({ t: 'PENDING', stops: this.#pendingStops, at });
    for (const [clientOrderId, cumQty] of this.#booked)
      if (this.#stops.has(clientOrderId)) keep.push({ t: 'BOOKED', clientOrderId, cumQty, at });
    await this.#file.close();
    await rewriteJsonLines(this.path, keep);
    this.#file = await open(this.path, 'a');
    this.#lines = keep.length;
  }
}

/** A pending stop read back from the journal file (untrusted JSON) that is well formed. */
function isPendingStop(p: unknown): p is PendingStop {
  const stop = p as { symbol?: unknown; side?: unknown; quantity?: unknown; stopPrice?: unknown } | null;
  return (
    typeof stop?.symbol === 'string' &&
    (stop.side === 'BUY' || stop.side === 'SELL') &&
    typeof stop.quantity === 'number' &&
    stop.quantity > 0 &&
    typeof stop.stopPrice === 'number' &&
    stop.stopPrice > 0
  );
}
