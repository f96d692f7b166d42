import type { DenyCode } from '../vocabulary/reason-codes.js';

/** `protections.stoplossGuard`: `stopOuts` stop-outs within `withinMs` lock entries for `lockMs`. */
export interface StoplossGuardConfig {
  /** Stop-outs that lock entries. */
  readonly stopOuts: number;
  /** The window they must fall within (ms). */
  readonly withinMs: number;
  /** How long entries stay locked (ms). */
  readonly lockMs: number;
  /** `SYMBOL`: stop-outs and the lock are per symbol; `ALL`: counted across all, locking all. */
  readonly scope: 'SYMBOL' | 'ALL';
}

/** The locks in force, as saved and restored across a restart (epoch ms, host clock). */
export interface ProtectionLocks {
  /** StoplossGuard locks: until when entries are locked, by symbol (`*`: every symbol). */
  readonly guard: Readonly<Record<string, number>>;
  /** Cooldowns after a stop-out: until when re-entry is refused, by symbol. */
  readonly cooldown: Readonly<Record<string, number>>;
}

/** The key of the `ALL` scope. */
const ALL = '*';

/**
 * StoplossGuard and the cooldown after a stop-out (Freqtrade's protections, on Bulwark's own
 * stop-outs: a stop that executed, LOCAL or at the broker). Each stop-out is remembered per
 * symbol (or across all, `scope: 'ALL'`); `stopOuts` of them within `withinMs` lock entries
 * for `lockMs` (`STOPLOSS_GUARD`); each also refuses re-entry in its symbol for
 * `cooldownAfterExitMs` (`COOLDOWN`). Memory is bounded: at most `stopOuts` times per key,
 * and expired locks are dropped when read. The locks in force can be saved and restored, so
 * a crash loop cannot reset them.
 *
 * @example
 * ```ts
 * const guard = new StopOutGuard({ stopOuts: 3, withinMs: 3_600_000, lockMs: 7_200_000, scope: 'SYMBOL' }, 300_000);
 * guard.onStopOut('AAPL', now);
 * guard.denial('AAPL', now); // { code: 'COOLDOWN', … }
 * ```
 */
export class StopOutGuard {
  readonly #guard: StoplossGuardConfig | undefined;
  readonly #cooldownMs: number | undefined;
  readonly #times = new Map<string, number[]>();
  readonly #locks = new Map<string, number>();
  readonly #cooldowns = new Map<string, number>();

  constructor(guard: StoplossGuardConfig | undefined, cooldownMs: number | undefined) {
    this.#guard = guard;
    this.#cooldownMs = cooldownMs;
  }

  /** A stop of `symbol` executed at `t`; true when this sets a new lock or cooldown (to be saved). */
  onStopOut(symbol: string, t: number): boolean {
    let changed = false;
    if (this.#cooldownMs !== undefined && this.#cooldownMs > 0) {
      this.#cooldowns.set(symbol, Math.max(this.#cooldowns.get(symbol) ?? 0, t + this.#cooldownMs));
      changed = true;
    }
    const g = this.#guard;
    if (g === undefined) return changed;
    const key = g.scope === 'ALL' ? ALL : symbol;
    const times = this.#times.get(key) ?? [];
    times.push(t);
    while (times.length > g.stopOuts) times.shift();
    this.#times.set(key, times);
    const first = times[0] ?? t;
    if (times.length >= g.stopOuts && t - first <= g.withinMs) {
      this.#locks.set(key, Math.max(this.#locks.get(key) ?? 0, t + g.lockMs));
      this.#times.delete(key); // counting starts again after a lock
      changed = true;
    }
    return changed;
  }

  /** Why an entry in `symbol` is refused now, or undefined. */
  denial(symbol: string, now: number): { readonly code: DenyCode; readonly message: string } | undefined {
    for (const key of [symbol, ALL]) {
      const until = this.#locks.get(key);
      if (until === undefined) continue;
      if (now >= until) {
        this.#locks.delete(key);
        continue;
      }
      const g = this.#guard;
      return {
        code: 'STOPLOSS_GUARD',
        message: `${g?.stopOuts ?? '?'} stop-outs within ${g?.withinMs ?? '?'} ms ${key === ALL ? 'across all symbols' : `in ${symbol}`}: entries locked until ${new Date(until).toISOString()}`,
      };
    }
    const cool = this.#cooldowns.get(symbol);
    if (cool !== undefined) {
      if (now < cool)
        return {
          code: 'COOLDOWN',
          message: `${symbol} was stopped out: no re-entry until ${new Date(cool).toISOString()}`,
        };
      this.#cooldowns.delete(symbol);
    }
    return undefined;
  }

  /** The locks and cooldowns in force at `now`, to save. */
  locks(now: number): ProtectionLocks {
    const live = (m: Map<string, number>) => Object.fromEntries([...m].filter(([, until]) => until > now));
    return { guard: live(this.#locks), cooldown: live(this.#cooldowns) };
  }

  /** Restores saved locks (the later of saved and current wins); malformed entries are skipped. */
  restore(saved: ProtectionLocks): void {
    const into = (m: Map<string, number>, from: unknown) => {
      if (typeof from !== 'object' || from === null) return;
      for (const [k, v] of Object.entries(from))
        if (typeof v === 'number' && Number.isFinite(v)) m.set(k, Math.max(m.get(k) ?? 0, v));
    };
    into(this.#locks, saved.guard);
    into(this.#cooldowns, saved.cooldown);
  }
}
