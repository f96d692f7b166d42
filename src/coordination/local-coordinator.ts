import { BulwarkError } from '../errors.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import type { CoordinatorEvent, CoordinatorListener, InstanceCoordinator, SymbolWriteResult } from './events.js';
import { symbolProblems } from './coordinator-options.js';
import { notifyAll } from '../util/notify.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/** Options of {@link LocalCoordinator}. */
export interface LocalCoordinatorOptions {
  /**
   * The symbols this process manages. Default: every symbol (one process owns the whole book);
   * given, only these (a symbol not listed is refused with `NOT_OWNER`).
   */
  readonly symbols?: readonly string[];
  /** Default `local`. */
  readonly instanceId?: string;
  /** Most symbols accepted. Default 10 000. */
  readonly maxSymbols?: number;
}

/**
 * The coordinator of a single process, used when no Redis is configured: it owns every symbol,
 * or only the `symbols` given (token 1), is ACTIVE from the start, grants every order (the egress rate limiter still
 * applies), keeps fenced records in memory, and its kill switch halts this process only. It
 * changes nothing about how Bulwark behaves on its own.
 *
 * @example
 * ```ts
 * new LocalCoordinator().owns('ANY'); // true: one process owns the whole book
 * const coordinator = new LocalCoordinator({ symbols: ['AAPL'] });
 * coordinator.owns('AAPL'); // true
 * coordinator.owns('MSFT'); // false
 * ```
 */
export class LocalCoordinator implements InstanceCoordinator {
  /** This instance's id: the `instanceId` option, default `local`. */
  readonly instanceId: string;
  readonly #maxSymbols: number;
  readonly #records = new Map<string, string>();
  readonly #listeners = new Set<CoordinatorListener>();
  /** The symbols owned; `undefined` for every symbol. */
  #symbols: ReadonlySet<string> | undefined;
  #state: TradingState = 'ACTIVE';

  constructor(options: LocalCoordinatorOptions = {}) {
    this.instanceId = options.instanceId ?? 'local';
    this.#maxSymbols = options.maxSymbols ?? 10_000;
    if (options.symbols !== undefined) this.setSymbols(options.symbols);
  }

  /** ACTIVE, or HALTED while the kill switch is engaged. */
  get state(): TradingState {
    return this.#state;
  }

  /** Does nothing: there is nothing to connect to. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Does nothing: there are no leases to give up. */
  stop(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Replaces the symbols this process owns. Throws `INVALID_OPTION` for more than `maxSymbols`
   * symbols, a symbol that is empty or longer than 64 characters, or a repeat.
   */
  setSymbols(symbols: readonly string[]): void {
    const problems = symbolProblems(symbols, this.#maxSymbols);
    if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
    this.#symbols = new Set(symbols);
  }

  /** True for every symbol, or, once symbols were given (`symbols`, `setSymbols`), for those only. */
  owns(symbol: string): boolean {
    return this.#symbols === undefined || this.#symbols.has(symbol);
  }

  /** The symbols given to own, sorted; empty while this process owns every symbol. */
  owned(): string[] {
    return this.#symbols === undefined ? [] : [...this.#symbols].sort();
  }

  /** 1 for an owned symbol, undefined otherwise. */
  tokenOf(symbol: string): number | undefined {
    return this.owns(symbol) ? 1 : undefined;
  }

  /** Stores the record in memory (one process: no one else can write it). */
  write(symbol: string, value: string): Promise<SymbolWriteResult> {
    if (!this.owns(symbol)) return Promise.resolve({ ok: false, code: 'NOT_OWNER', symbol });
    this.#records.set(symbol, value);
    return Promise.resolve({ ok: true, token: 1 });
  }

  /** The last record written for the symbol. */
  read(symbol: string): string | undefined {
    return this.#records.get(symbol);
  }

  /** Grants every request; rejects with `INVALID_OPTION` when `n` is not a positive integer. */
  tryTakeOrders(n = 1): Promise<boolean> {
    const problem = positiveIntegerProblem('n', n);
    if (problem !== undefined) return Promise.reject(new BulwarkError('INVALID_OPTION', problem));
    return Promise.resolve(true);
  }

  /** Halts this process only: emits `KILL_SWITCH_ENGAGED`, then `STATE_CHANGED` to HALTED. */
  engageKillSwitch(reason: string): Promise<void> {
    this.#emit({ kind: 'KILL_SWITCH_ENGAGED', reason, by: this.instanceId, timestamp: Date.now() });
    this.#set('HALTED', 'KILL_SWITCH_ENGAGED');
    return Promise.resolve();
  }

  /** Makes this process ACTIVE again (emitting `KILL_SWITCH_RELEASED` when it was HALTED). */
  releaseKillSwitch(): Promise<void> {
    if (this.#state === 'HALTED')
      this.#emit({ kind: 'KILL_SWITCH_RELEASED', by: this.instanceId, timestamp: Date.now() });
    this.#set('ACTIVE', 'KILL_SWITCH_RELEASED');
    return Promise.resolve();
  }

  /** Adds `listener` for every event; returns the function that removes it. A listener that throws is ignored. */
  subscribe(listener: CoordinatorListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(to: TradingState, cause: 'KILL_SWITCH_ENGAGED' | 'KILL_SWITCH_RELEASED'): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#emit({ kind: 'STATE_CHANGED', from, to, cause, timestamp: Date.now() });
  }

  #emit(event: CoordinatorEvent): void {
    notifyAll(this.#listeners, event);
  }
}
