import type { Redis } from 'ioredis';
import { BulwarkError } from '../errors.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import type {
  CoordinatorEvent,
  CoordinatorListener,
  CoordinatorStateCause,
  InstanceCoordinator,
  SymbolWriteResult,
} from './events.js';
import {
  resolveCoordinatorOptions,
  symbolProblems,
  type RedisCoordinatorOptions,
  type ResolvedCoordinatorOptions,
} from './coordinator-options.js';
import { Fence } from './fencing.js';
import { symbolResource, monotonicNow } from './keys.js';
import { KillSwitch, type KillSwitchStatus } from './kill-switch.js';
import { coordinationError } from './lua-script.js';
import { Membership } from './membership.js';
import { RateBudget } from './rate-budget.js';
import { closeRedisConnection, createRedisConnection } from './redis-connection.js';
import { rendezvousOwner } from './rendezvous.js';
import { SymbolLeases, type LeaseGain, type LeaseLoss } from './symbol-leases.js';
import { notifyAll } from '../util/notify.js';

/** Whether Redis answered the last round: not yet tried, yes, or no. */
export type CoordinatorHealth = 'STARTING' | 'HEALTHY' | 'UNAVAILABLE';

/**
 * One trading instance's part in a group of instances sharing a Redis: which symbols' positions
 * it manages, a shared order budget and a shared kill switch.
 *
 * Every `renewIntervalMs` it renews its leases, heartbeats into the member list, and works out
 * the owner of every symbol by rendezvous hashing over the live members: it releases what it no
 * longer should own and claims what it should (a claim succeeds only once the lease is free, so
 * a symbol never has two owners in Redis). A dead instance's heartbeat and leases expire within
 * `leaseMs`, and its symbols are claimed by the new owners on their next round.
 *
 * State: `REDUCING` until the first round succeeds and whenever a Redis call fails (refused,
 * timed out, disconnected) — the leases it cannot renew lapse locally before Redis can hand
 * them to anyone else; `ACTIVE` after a round succeeds; `HALTED` while the kill switch is
 * engaged (read at start, on every round, and heard by pub/sub). A HALTED instance keeps its
 * leases: exits and protective orders still need an owner.
 *
 * @example
 * ```ts
 * const coordinator = new RedisCoordinator({ url: 'redis://10.0.0.5:6379', symbols, leaseMs: 5_000 });
 * coordinator.subscribe((e) => log(e));   // LEASE_ACQUIRED, LEASE_LOST, STATE_CHANGED, ...
 * await coordinator.start();
 * if (coordinator.owns('AAPL') && (await coordinator.tryTakeOrders())) await send(order);
 * ```
 */
export class RedisCoordinator implements InstanceCoordinator {
  /** This instance's id: the `instanceId` option, or `<host>-<pid>-<random>`. */
  readonly instanceId: string;
  /** The options in force, defaults filled in. */
  readonly options: ResolvedCoordinatorOptions;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #leases: SymbolLeases;
  readonly #membership: Membership;
  readonly #fence: Fence;
  readonly #budget: RateBudget;
  readonly #killSwitch: KillSwitch;
  readonly #listeners = new Set<CoordinatorListener>();
  #symbols: readonly string[];
  #members: readonly string[] = [];
  #health: CoordinatorHealth = 'STARTING';
  #kill: KillSwitchStatus = { engaged: false, by: '', at: 0, version: 0 };
  /** Set when engaging failed to reach Redis: this instance halts on its own. */
  #localHalt: string | undefined;
  #state: TradingState = 'REDUCING';
  #running = false;
  #stopped = false;
  #tickTimer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribeKill: (() => Promise<void>) | undefined;

  constructor(options: RedisCoordinatorOptions) {
    const o = resolveCoordinatorOptions(options);
    this.options = o;
    this.instanceId = o.instanceId;
    this.#symbols = o.symbols;
    const connection = {
      url: o.url,
      commandTimeoutMs: o.commandTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      reconnectMaxDelayMs: o.reconnectMaxDelayMs,
    };
    this.#redis = createRedisConnection({ ...connection, name: `bulwark:${o.instanceId}` });
    this.#subscriber = createRedisConnection({ ...connection, name: `bulwark:${o.instanceId}:sub` });
    this.#leases = new SymbolLeases(this.#redis, {
      owner: o.instanceId,
      leaseMs: o.leaseMs,
      safetyMarginMs: o.safetyMarginMs,
      restartGraceMs: o.restartGraceMs,
      prefix: o.prefix,
      batchSize: o.batchSize,
    });
    this.#membership = new Membership(this.#redis, { ttlMs: o.leaseMs, prefix: o.prefix });
    this.#fence = new Fence(this.#redis, { prefix: o.prefix });
    this.#budget = new RateBudget(this.#redis, { ...o.orderBudget, prefix: o.prefix });
    this.#killSwitch = new KillSwitch(this.#redis, { prefix: o.prefix });
    this.#redis.on('close', () => {
      if (this.#running) this.#fail('connection to Redis closed');
    });
  }

  /** See {@link InstanceCoordinator.state}. */
  get state(): TradingState {
    return this.#state;
  }

  /** Whether the last round reached Redis. */
  get health(): CoordinatorHealth {
    return this.#health;
  }

  /** The live instances seen in the last round, sorted. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The kill switch as last seen. */
  get killSwitch(): KillSwitchStatus {
    return this.#kill;
  }

  /**
   * Connects and runs the first round (renew, heartbeat, release and claim, read the kill switch),
   * then one round every `renewIntervalMs`. Resolves after the first round and never rejects
   * because Redis is down: the state stays REDUCING. Does nothing once started or stopped.
   */
  async start(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      await this.#redis.connect();
    } catch (e) {
      this.#fail(e); // ioredis keeps reconnecting; the rounds find out when it is back
    }
    this.#subscriber.connect().catch(() => {
      // Subscribed on a later round once it connects; the flag is read every round meanwhile.
    });
    await this.#startRound();
  }

  /**
   * Waits for a round in progress, releases every lease (`LEASE_LOST`, reason `STOPPED`), leaves
   * the member list and disconnects; the state ends HALTED. When Redis is unreachable its leases
   * expire there by themselves. A stopped coordinator cannot be started again.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    clearTimeout(this.#tickTimer);
    await this.#inFlight; // a round in progress must not claim after we released
    clearTimeout(this.#sweepTimer);
    const unsubscribe = this.#unsubscribeKill;
    this.#unsubscribeKill = undefined;
    if (unsubscribe !== undefined) await unsubscribe();
    try {
      this.#emitLosses(await this.#leases.release(this.#leases.held(), 'STOPPED'));
      await this.#membership.leave(this.instanceId);
    } catch {
      // Redis is unreachable: the leases and the heartbeat expire there by themselves.
    }
    this.#emitLosses(this.#leases.dropAll('STOPPED'));
    await Promise.all([closeRedisConnection(this.#redis), closeRedisConnection(this.#subscriber)]);
    this.#setState('HALTED', 'STOPPED');
  }

  /**
   * Replaces the symbols managed across all instances; the next round releases and claims
   * accordingly. Throws `INVALID_OPTION` for more than `maxSymbols` symbols, a symbol that is
   * empty or longer than 64 characters, or a repeat.
   */
  setSymbols(symbols: readonly string[]): void {
    const problems = symbolProblems(symbols, this.options.maxSymbols);
    if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
    this.#symbols = Object.freeze([...symbols]); // released or claimed on the next round
  }

  /** True while this instance holds the symbol's lease and the lease's local deadline has not passed. */
  owns(symbol: string): boolean {
    return this.#leases.owns(symbol);
  }

  /** Symbols this instance owns now, sorted. */
  owned(): string[] {
    return this.#leases.owned();
  }

  /** The fencing token of this instance's lease on the symbol; undefined when it does not own the symbol. */
  tokenOf(symbol: string): number | undefined {
    return this.#leases.lease(symbol)?.token;
  }

  /**
   * Writes the symbol's position record through the fence, with this instance's token and only
   * while Redis still shows its lease: `STALE_TOKEN` or `LEASE_NOT_HELD` means another instance
   * owns it now, and this instance stops owning it at once (`LEASE_LOST`, `TAKEN`). Throws
   * `COORDINATION_UNAVAILABLE` when Redis does not answer (the write may or may not have
   * happened; if it did, it was fenced).
   */
  async write(symbol: string, value: string): Promise<SymbolWriteResult> {
    const lease = this.#leases.lease(symbol);
    if (lease === undefined) return { ok: false, code: 'NOT_OWNER', symbol };
    let result: SymbolWriteResult;
    try {
      result = await this.#fence.writeUnderLock(
        { name: symbolResource(symbol), owner: this.instanceId, token: lease.token },
        value,
      );
    } catch (e) {
      if (e instanceof BulwarkError && e.code === 'INVALID_OPTION') throw e;
      this.#fail(e);
      throw coordinationError('write', e);
    }
    // Redis says the lease is not ours although our deadline has not passed (Redis lost it):
    // stop managing the position now rather than at the next renewal.
    if (!result.ok) this.#emitLosses(this.#leases.forget(symbol, lease.token));
    return result;
  }

  /** Takes `n` orders from the shared budget. Fails closed: false when Redis does not answer. */
  async tryTakeOrders(n = 1): Promise<boolean> {
    try {
      return (await this.#budget.tryTake(n)).granted;
    } catch (e) {
      if (e instanceof BulwarkError && e.code === 'INVALID_OPTION') throw e;
      this.#fail(e);
      return false;
    }
  }

  /**
   * Engages the shared kill switch: this instance is HALTED at once, the others as soon as they
   * hear it (pub/sub) or read it (next round). If Redis cannot be reached this instance still
   * halts, and the error (`COORDINATION_UNAVAILABLE`) says the others were not told.
   */
  async engageKillSwitch(reason: string): Promise<void> {
    try {
      const { status } = await this.#killSwitch.engage(reason, this.instanceId);
      this.#applyKill(status);
    } catch (e) {
      if (e instanceof BulwarkError && e.code === 'INVALID_OPTION') throw e;
      this.#localHalt = reason;
      this.#recompute('KILL_SWITCH_ENGAGED');
      this.#fail(e);
      throw coordinationError('engageKillSwitch', e);
    }
  }

  /** Releases the shared kill switch (and this instance's own halt). */
  async releaseKillSwitch(): Promise<void> {
    const status = await this.#killSwitch.release(this.instanceId);
    this.#localHalt = undefined;
    this.#applyKill(status);
    this.#recompute('KILL_SWITCH_RELEASED');
  }

  /** Adds `listener` for every event; returns the function that removes it. A listener that throws is ignored. */
  subscribe(listener: CoordinatorListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #startRound(): Promise<void> {
    this.#inFlight = this.#round();
    return this.#inFlight;
  }

  /** One round: renew, heartbeat, rebalance, claim, read the kill switch. Never throws. */
  async #round(): Promise<void> {
    this.#tickTimer = undefined;
    if (!this.#running) return;
    const startedAt = monotonicNow();
    this.#sweep();
    try {
      this.#emitLosses(await this.#leases.renew());
      const members = await this.#membership.heartbeat(this.instanceId);
      this.#members = Object.freeze(members);
      const mine = this.#symbols.filter((s) => rendezvousOwner(s, members) === this.instanceId);
      const wanted = new Set(mine);
      this.#emitLosses(
        await this.#leases.release(
          this.#leases.held().filter((s) => !wanted.has(s)),
          'RELEASED',
        ),
      );
      this.#emitGains(await this.#leases.claim(mine));
      this.#applyKill(await this.#killSwitch.read());
      await this.#ensureSubscribed();
      if (this.#isRunning()) this.#setHealth('HEALTHY');
    } catch (e) {
      this.#fail(e);
    }
    this.#armSweep();
    if (this.#isRunning()) {
      const wait = Math.max(0, startedAt + this.options.renewIntervalMs - monotonicNow());
      this.#tickTimer = setTimeout(() => void this.#startRound(), wait);
    }
  }

  async #ensureSubscribed(): Promise<void> {
    if (this.#unsubscribeKill !== undefined || this.#subscriber.status !== 'ready') return;
    this.#unsubscribeKill = await this.#killSwitch.subscribe(this.#subscriber, (status) => this.#applyKill(status));
  }

  /** Reports (and forgets) leases past their local deadline; re-arms for the next one. */
  #sweep(): void {
    this.#emitLosses(this.#leases.expire());
  }

  #armSweep(): void {
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    const next = this.#leases.nextDeadline();
    if (next === undefined || !this.#running) return;
    this.#sweepTimer = setTimeout(
      () => {
        this.#sweep();
        this.#armSweep();
      },
      Math.max(0, next - monotonicNow()) + 1,
    );
  }

  /** Read through a call, so that a check after an `await` is not narrowed by one before it. */
  #isRunning(): boolean {
    return this.#running;
  }

  #fail(error: unknown): void {
    if (this.#health !== 'UNAVAILABLE') {
      const message = error instanceof Error ? error.message : String(error);
      this.#health = 'UNAVAILABLE';
      this.#emit({ kind: 'COORDINATION_FAILED', code: 'COORDINATION_UNAVAILABLE', message, timestamp: Date.now() });
    }
    this.#recompute('REDIS_UNAVAILABLE');
  }

  #setHealth(health: CoordinatorHealth): void {
    const was = this.#health;
    this.#health = health;
    this.#recompute(was === 'STARTING' ? 'STARTED' : 'REDIS_RECOVERED');
  }

  #applyKill(status: KillSwitchStatus): void {
    if (status.version <= this.#kill.version) return; // older than what we know
    const was = this.#kill.engaged;
    this.#kill = status;
    if (status.engaged && !was) {
      this.#emit({ kind: 'KILL_SWITCH_ENGAGED', reason: status.reason, by: status.by, timestamp: Date.now() });
      this.#recompute('KILL_SWITCH_ENGAGED');
    } else if (!status.engaged && was) {
      this.#emit({ kind: 'KILL_SWITCH_RELEASED', by: status.by, timestamp: Date.now() });
      this.#recompute('KILL_SWITCH_RELEASED');
    }
  }

  #recompute(cause: CoordinatorStateCause): void {
    if (this.#stopped) return;
    const halted = this.#kill.engaged || this.#localHalt !== undefined;
    this.#setState(halted ? 'HALTED' : this.#health === 'HEALTHY' ? 'ACTIVE' : 'REDUCING', cause);
  }

  #setState(to: TradingState, cause: CoordinatorStateCause): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#emit({ kind: 'STATE_CHANGED', from, to, cause, timestamp: Date.now() });
  }

  #emitGains(gains: readonly LeaseGain[]): void {
    for (const g of gains) this.#emit({ kind: 'LEASE_ACQUIRED', symbol: g.symbol, token: g.token, timestamp: g.at });
    if (gains.length > 0) this.#armSweep();
  }

  #emitLosses(losses: readonly LeaseLoss[]): void {
    for (const l of losses) {
      this.#emit({
        kind: 'LEASE_LOST',
        symbol: l.symbol,
        token: l.token,
        reason: l.reason,
        heldUntil: l.heldUntil,
        timestamp: Date.now(),
      });
    }
  }

  #emit(event: CoordinatorEvent): void {
    notifyAll(this.#listeners, event);
  }
}
