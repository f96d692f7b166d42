import type { Redis } from 'ioredis';
import { acquireLocks, extendLocks, releaseLocks, type HeldLock } from './fenced-lock.js';
import { epochOf, monotonicNow, symbolResource } from './keys.js';

/**
 * Why an instance stopped owning a symbol:
 * - `EXPIRED`: its lease ran out locally without a successful renewal (Redis unreachable, or
 *   the process was paused);
 * - `TAKEN`: a renewal, answered in time, found the lease gone or someone else's (Redis lost
 *   it — a restart without data, a flush — or someone deleted it);
 * - `RELEASED`: it gave the symbol up (rebalancing, or the symbol left the universe);
 * - `STOPPED`: the instance stopped.
 */
export type LeaseLossReason = 'EXPIRED' | 'TAKEN' | 'RELEASED' | 'STOPPED';

/** A symbol this instance now owns. */
export interface LeaseGain {
  readonly symbol: string;
  /** Fencing token of this ownership: pass it with every write about the position. */
  readonly token: number;
  /** Epoch ms at which the lease was confirmed. */
  readonly at: number;
}

/** A symbol this instance no longer owns. */
export interface LeaseLoss {
  readonly symbol: string;
  readonly token: number;
  readonly reason: LeaseLossReason;
  /** Epoch ms until which the instance considered itself the owner (≤ when it learnt of the loss). */
  readonly heldUntil: number;
}

/** One symbol held under lease. */
export interface SymbolLease {
  readonly symbol: string;
  readonly token: number;
  /** Monotonic ms ({@link monotonicNow}) until which this instance may manage the position. */
  readonly validUntil: number;
}

/** Options of {@link SymbolLeases}. */
export interface SymbolLeasesOptions {
  /** This instance's id (lease owner). */
  readonly owner: string;
  /** Lease length in Redis (ms). */
  readonly leaseMs: number;
  /** Owned locally for `leaseMs − safetyMarginMs` after each renewal was sent (ms). */
  readonly safetyMarginMs: number;
  /** No lease is granted for this long after Redis first serves one (ms); see FencedLock's `restartGraceMs`. */
  readonly restartGraceMs: number;
  /** Key prefix. */
  readonly prefix: string;
  /** Leases claimed, renewed or released per script call. */
  readonly batchSize: number;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One instance's symbol leases: each symbol's position is a {@link FencedLock} named
 * `symbol:<SYMBOL>`, claimed when free, renewed by compare-and-PEXPIRE, released by
 * compare-and-DEL, in batches. Ownership is local and time-bound: {@link owns} is true only
 * before the lease's local deadline (send time of the last renewal + `leaseMs −
 * safetyMarginMs`), which passes before Redis can expire the key and hand it to another
 * instance — so an instance that cannot renew (Redis down, process paused) stops owning before
 * anyone else can start. {@link expire} reports the leases whose deadline has passed.
 *
 * @example
 * ```ts
 * const leases = new SymbolLeases(redis, { owner: 'a', leaseMs: 3_000, safetyMarginMs: 60, restartGraceMs: 3_000, prefix: 'bulwark:', batchSize: 500 });
 * await leases.claim(['AAPL', 'MSFT']);
 * if (leases.owns('AAPL')) manage('AAPL', leases.tokenOf('AAPL'));
 * ```
 */
export class SymbolLeases {
  readonly #redis: Redis;
  readonly #o: SymbolLeasesOptions;
  readonly #leases = new Map<string, SymbolLease>();

  constructor(redis: Redis, options: SymbolLeasesOptions) {
    this.#redis = redis;
    this.#o = options;
  }

  /** Whether this instance owns the symbol now (lease held and before its local deadline). */
  owns(symbol: string): boolean {
    const lease = this.#leases.get(symbol);
    return lease !== undefined && monotonicNow() < lease.validUntil;
  }

  /** The owned lease of the symbol, or undefined. */
  lease(symbol: string): SymbolLease | undefined {
    return this.owns(symbol) ? this.#leases.get(symbol) : undefined;
  }

  /** Symbols owned now, sorted. */
  owned(): string[] {
    return [...this.#leases.keys()].filter((s) => this.owns(s)).sort();
  }

  /** Symbols holding a lease entry (owned, or past deadline but not yet reported by {@link expire}). */
  held(): string[] {
    return [...this.#leases.keys()];
  }

  /** The earliest local deadline among held leases (monotonic ms), or undefined. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const lease of this.#leases.values())
      if (next === undefined || lease.validUntil < next) next = lease.validUntil;
    return next;
  }

  /** Drops the leases whose local deadline has passed. */
  expire(): LeaseLoss[] {
    const now = monotonicNow();
    const lost: LeaseLoss[] = [];
    for (const lease of this.#leases.values()) {
      if (now >= lease.validUntil) lost.push(this.#drop(lease, 'EXPIRED', lease.validUntil));
    }
    return lost;
  }

  /** Claims the symbols not owned yet: those granted (free, or already ours in Redis). */
  async claim(symbols: readonly string[]): Promise<LeaseGain[]> {
    const wanted = symbols.filter((s) => !this.#leases.has(s));
    const gained: LeaseGain[] = [];
    for (const batch of chunks(wanted, this.#o.batchSize)) {
      const sentAt = monotonicNow();
      const { tokens } = await acquireLocks(
        this.#redis,
        this.#o.prefix,
        batch.map(symbolResource),
        this.#o.owner,
        this.#o.leaseMs,
        this.#o.restartGraceMs,
      );
      const now = monotonicNow();
      const validUntil = this.#deadline(sentAt);
      batch.forEach((symbol, i) => {
        const token = tokens[i];
        // Too late (the reply took longer than the lease): leave it to expire in Redis.
        if (token === undefined || now >= validUntil || this.#leases.has(symbol)) return;
        this.#leases.set(symbol, { symbol, token, validUntil });
        gained.push({ symbol, token, at: epochOf(now) });
      });
    }
    return gained;
  }

  /** Renews every held lease; those Redis no longer shows as ours are dropped and returned. */
  async renew(): Promise<LeaseLoss[]> {
    const lost: LeaseLoss[] = [];
    for (const batch of chunks([...this.#leases.values()], this.#o.batchSize)) {
      const sentAt = monotonicNow();
      const results = await extendLocks(
        this.#redis,
        this.#o.prefix,
        batch.map((l) => this.#held(l)),
        this.#o.leaseMs,
      );
      const now = monotonicNow();
      batch.forEach((lease, i) => {
        const current = this.#leases.get(lease.symbol);
        if (current === undefined || current.token !== lease.token) return; // dropped meanwhile
        if (now >= current.validUntil) {
          // The reply came after the local deadline: ownership had a gap, so it ended there
          // (if Redis renewed it, the next claim re-adopts it under a new token).
          lost.push(this.#drop(current, 'EXPIRED', current.validUntil));
        } else if (results[i] === 'OK') {
          const validUntil = this.#deadline(sentAt);
          if (validUntil > current.validUntil) this.#leases.set(lease.symbol, { ...current, validUntil });
        } else {
          lost.push(this.#drop(current, 'TAKEN', now));
        }
      });
    }
    return lost;
  }

  /** Gives symbols up: dropped locally first, then compare-and-DEL in Redis (best effort: the lease expires anyway). */
  async release(symbols: readonly string[], reason: 'RELEASED' | 'STOPPED'): Promise<LeaseLoss[]> {
    const now = monotonicNow();
    const dropped: SymbolLease[] = [];
    const lost: LeaseLoss[] = [];
    for (const symbol of symbols) {
      const lease = this.#leases.get(symbol);
      if (lease === undefined) continue;
      dropped.push(lease);
      lost.push(this.#drop(lease, reason, Math.min(now, lease.validUntil)));
    }
    for (const batch of chunks(dropped, this.#o.batchSize)) {
      await releaseLocks(
        this.#redis,
        this.#o.prefix,
        batch.map((l) => this.#held(l)),
      );
    }
    return lost;
  }

  /** Forgets one lease (if still held under `token`) locally, as `TAKEN`: Redis showed it is not ours. */
  forget(symbol: string, token: number): LeaseLoss[] {
    const lease = this.#leases.get(symbol);
    if (lease === undefined || lease.token !== token) return [];
    return [this.#drop(lease, 'TAKEN', Math.min(monotonicNow(), lease.validUntil))];
  }

  /** Forgets every lease locally without touching Redis (they expire there). */
  dropAll(reason: LeaseLossReason): LeaseLoss[] {
    const now = monotonicNow();
    return [...this.#leases.values()].map((l) => this.#drop(l, reason, Math.min(now, l.validUntil)));
  }

  #drop(lease: SymbolLease, reason: LeaseLossReason, heldUntil: number): LeaseLoss {
    this.#leases.delete(lease.symbol);
    return { symbol: lease.symbol, token: lease.token, reason, heldUntil: epochOf(heldUntil) };
  }

  #held(lease: SymbolLease): HeldLock {
    return { name: symbolResource(lease.symbol), owner: this.#o.owner, token: lease.token };
  }

  #deadline(sentAt: number): number {
    return sentAt + this.#o.leaseMs - this.#o.safetyMarginMs;
  }
}
