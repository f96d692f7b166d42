import { open, type FileHandle } from 'node:fs/promises';
import { openForAppend, readJsonLines, rewriteJsonLines } from '../util/json-lines.js';
import type { ProtectiveCommand } from '../vocabulary/orders.js';

/** One order that could not be delivered, with why and how hard we tried. */
export interface DeadLetter {
  readonly command: ProtectiveCommand;
  /** The last error: a broker code (e.g. `-1013`) or a Bulwark code (e.g. `RETRIES_EXHAUSTED`). */
  readonly code: string;
  readonly attempts: number;
  readonly firstAttemptAt: number;
  readonly deadAt: number;
}

/** Options of {@link DeadLetterQueue.open}. */
export interface DeadLetterQueueOptions {
  /** Most entries kept. Default 10 000. */
  readonly maxEntries?: number;
  /** Called when an entry is refused because the queue is full. */
  readonly onFull?: (size: number) => void;
}

/** What `add` did. */
export type DeadLetterAdd = 'ADDED' | 'DLQ_FULL';

/**
 * The dead-letter queue, durable on disk: one JSON line per entry, appended and fsync'd
 * before `add` resolves, so an entry that was reported added survives a crash. Opening
 * tolerates a torn last line (a crash mid-write), which is counted in `corrupt` and skipped.
 * Bounded by `maxEntries`: beyond it an entry is refused with `DLQ_FULL` and `onFull` fires,
 * so the caller keeps the order (never silently lost). `remove` rewrites the file atomically
 * (temp file, fsync, rename).
 *
 * @example
 * ```ts
 * const dlq = await DeadLetterQueue.open('var/dlq.jsonl', { onFull: (n) => alert(n) });
 * await dlq.add({ command, code: '-1013', attempts: 1, firstAttemptAt: t0, deadAt: Date.now() });
 * dlq.list();
 * ```
 */
export class DeadLetterQueue {
  readonly path: string;
  readonly maxEntries: number;
  /** Lines skipped on open because they were not valid entries. */
  readonly corrupt: number;
  readonly #entries: DeadLetter[];
  readonly #onFull: (size: number) => void;
  #file: FileHandle;
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(
    path: string,
    file: FileHandle,
    entries: DeadLetter[],
    corrupt: number,
    options: DeadLetterQueueOptions,
  ) {
    this.path = path;
    this.#file = file;
    this.#entries = entries;
    this.corrupt = corrupt;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.#onFull = options.onFull ?? (() => {});
  }

  /** Opens (or creates) the queue at `path`, loading what is there. */
  static async open(path: string, options: DeadLetterQueueOptions = {}): Promise<DeadLetterQueue> {
    // A parsed line is untrusted JSON: every field may be missing or of another type.
    const isEntry = (e: unknown): e is DeadLetter => {
      const entry = e as { command?: { clientOrderId?: unknown } | null; code?: unknown } | null;
      return typeof entry?.command?.clientOrderId === 'string' && typeof entry.code === 'string';
    };
    const { items, corrupt } = await readJsonLines(path, isEntry);
    const file = await openForAppend(path);
    return new DeadLetterQueue(
      path,
      file,
      items.map((e) => Object.freeze(e)),
      corrupt,
      options,
    );
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.length;
  }

  /** Every entry, oldest first. */
  list(): readonly DeadLetter[] {
    return Object.freeze([...this.#entries]);
  }

  /** Appends an entry and fsyncs it; refuses with `DLQ_FULL` when at `maxEntries`. */
  add(entry: DeadLetter): Promise<DeadLetterAdd> {
    if (this.#entries.length >= this.maxEntries) {
      this.#onFull(this.#entries.length);
      return Promise.resolve('DLQ_FULL');
    }
    const frozen = Object.freeze({ ...entry });
    this.#entries.push(frozen);
    const write = this.#writing.then(async () => {
      await this.#file.write(`${JSON.stringify(frozen)}\n`);
      await this.#file.datasync();
    });
    this.#writing = write.catch(() => {});
    return write.then(() => 'ADDED' as const);
  }

  /** Removes the entries of these client order ids (after a replay), rewriting the file atomically. */
  async remove(clientOrderIds: readonly string[], kind?: DeadLetter['command']['kind']): Promise<number> {
    const drop = new Set(clientOrderIds);
    // A stop's PLACE and AMEND share its client order id: `kind` removes only one of them.
    const keep = this.#entries.filter(
      (e) => !(drop.has(e.command.clientOrderId) && (kind === undefined || e.command.kind === kind)),
    );
    const removed = this.#entries.length - keep.length;
    if (removed === 0) return 0;
    await this.#writing;
    await this.#file.close();
    await rewriteJsonLines(this.path, keep);
    this.#file = await open(this.path, 'a');
    this.#entries.splice(0, this.#entries.length, ...keep);
    return removed;
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#writing;
    await this.#file.close();
  }
}
