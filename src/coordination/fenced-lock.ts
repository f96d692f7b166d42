import type { Redis } from 'ioredis';
import { BulwarkError } from '../errors.js';
import { DEFAULT_PREFIX, OWNER_PATTERN, epochKey, lockKey, monotonicNow, tokenKey } from './keys.js';
import { LUA_PRELUDE, LuaScript, replyArray, replyNumber } from './lua-script.js';

/**
 * KEYS[1]: the epoch key; then (lock, counter) pairs. ARGV: owner, ttl ms, grace ms.
 * For each pair: when the lock is free (or already ours, say after a reply we timed out on),
 * take the next fencing token and SET the lock to `owner|token` with PX — the SET NX PX of the
 * classic lock, done in one script with the INCR so a lock never exists without its token.
 * The token is the counter's INCR, raised to Redis's clock in µs when lower: tokens keep
 * increasing even if Redis restarts without its data, as long as its clock does not go back.
 * Restart grace: the epoch key records when this Redis first served a lock; for `grace` ms
 * after that nothing is granted, so a lock held before Redis lost its data has expired at its
 * holder before anyone else can take it. Returns {grace ms left, token or '0' per lock}.
 */
const ACQUIRE = new LuaScript(
  'lock.acquire',
  `${LUA_PRELUDE}
local mine = ARGV[1] .. '|'
local floor = now_us()
local now_ms = math.floor(floor / 1000)
local epoch = tonumber(redis.call('GET', KEYS[1]) or '-1')
if epoch < 0 then
  epoch = now_ms
  redis.call('SET', KEYS[1], fmt(epoch))
end
local out = {0}
local wait = epoch + tonumber(ARGV[3]) - now_ms
if wait > 0 then
  out[1] = wait
  for i = 2, #KEYS, 2 do out[#out + 1] = '0' end
  return out
end
for i = 2, #KEYS, 2 do
  local held = redis.call('GET', KEYS[i])
  if held == false or string.sub(held, 1, #mine) == mine then
    local token = redis.call('INCR', KEYS[i + 1])
    if token < floor then
      token = floor
      redis.call('SET', KEYS[i + 1], fmt(token))
    end
    redis.call('SET', KEYS[i], mine .. fmt(token), 'PX', ARGV[2])
    out[#out + 1] = fmt(token)
  else
    out[#out + 1] = '0'
  end
end
return out`,
);

/** Compare-and-PEXPIRE: extends each lock whose value is still ARGV[i + 1]. 1 / 0 missing / -1 other owner. */
const EXTEND = new LuaScript(
  'lock.extend',
  `local out = {}
for i = 1, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    out[i] = 1
  elseif held == false then
    out[i] = 0
  else
    out[i] = -1
  end
end
return out`,
);

/** Compare-and-DEL: deletes each lock whose value is still ARGV[i]. 1 / 0 missing / -1 other owner. */
const RELEASE = new LuaScript(
  'lock.release',
  `local out = {}
for i = 1, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held == ARGV[i] then
    redis.call('DEL', KEYS[i])
    out[i] = 1
  elseif held == false then
    out[i] = 0
  else
    out[i] = -1
  end
end
return out`,
);

/** What a compare-and-extend or compare-and-delete found: ours, gone, or someone else's. */
export type LockCheck = 'OK' | 'MISSING' | 'TAKEN';

/** A lock held under one fencing token. */
export interface HeldLock {
  readonly name: string;
  readonly owner: string;
  readonly token: number;
}

/** The value a held lock has in Redis. */
export function holderValue(lock: HeldLock): string {
  return `${lock.owner}|${String(lock.token)}`;
}

function checks(reply: unknown, operation: string): LockCheck[] {
  return replyArray(reply, operation).map((r) => {
    const n = replyNumber(r, operation);
    return n === 1 ? 'OK' : n === 0 ? 'MISSING' : 'TAKEN';
  });
}

/** What {@link acquireLocks} got: a token per lock (undefined: held by another), and any restart grace left. */
export interface AcquireResult {
  readonly tokens: readonly (number | undefined)[];
  /** > 0: Redis started serving locks less than `graceMs` ago, nothing was granted; retry after this many ms. */
  readonly graceLeftMs: number;
}

/** Acquires each named lock that is free (or already `owner`'s), unless within the restart grace. */
export async function acquireLocks(
  redis: Redis,
  prefix: string,
  names: readonly string[],
  owner: string,
  ttlMs: number,
  graceMs: number,
): Promise<AcquireResult> {
  if (names.length === 0) return { tokens: [], graceLeftMs: 0 };
  const keys = [epochKey(prefix), ...names.flatMap((name) => [lockKey(prefix, name), tokenKey(prefix, name)])];
  const [grace, ...reply] = replyArray(await ACQUIRE.run(redis, keys, [owner, ttlMs, graceMs]), ACQUIRE.name);
  const tokens = reply.map((r) => {
    const token = replyNumber(r, ACQUIRE.name);
    return token > 0 ? token : undefined;
  });
  return { tokens, graceLeftMs: Math.max(0, replyNumber(grace, ACQUIRE.name)) };
}

/** Compare-and-PEXPIRE of each lock, which must still hold its owner and token. */
export async function extendLocks(
  redis: Redis,
  prefix: string,
  locks: readonly HeldLock[],
  ttlMs: number,
): Promise<LockCheck[]> {
  if (locks.length === 0) return [];
  const reply = await EXTEND.run(
    redis,
    locks.map((l) => lockKey(prefix, l.name)),
    [ttlMs, ...locks.map(holderValue)],
  );
  return checks(reply, EXTEND.name);
}

/** Compare-and-DEL of each lock: never deletes a lock another owner (or token) holds. */
export async function releaseLocks(redis: Redis, prefix: string, locks: readonly HeldLock[]): Promise<LockCheck[]> {
  if (locks.length === 0) return [];
  const reply = await RELEASE.run(
    redis,
    locks.map((l) => lockKey(prefix, l.name)),
    locks.map(holderValue),
  );
  return checks(reply, RELEASE.name);
}

/** Options of {@link FencedLock}. */
export interface FencedLockOptions {
  /** The lock's name (part of its key). */
  readonly name: string;
  /** How long the lock lives in Redis without an extend (ms). Default 10 000. */
  readonly ttlMs?: number;
  /** Held locally for `ttlMs − safetyMarginMs` from the moment the request was sent (ms), to absorb clock-rate drift. Default max(5, 2 % of ttlMs). */
  readonly safetyMarginMs?: number;
  /**
   * Nothing is granted for this long after Redis first serves a lock under this prefix (ms):
   * after Redis restarts without its data, every lock held before has expired at its holder
   * before it can be granted again. Must be ≥ the longest TTL used under the prefix; 0
   * disables it (only if Redis persists every write). Default `ttlMs`.
   */
  readonly restartGraceMs?: number;
  /** Key prefix. Default `bulwark:`. */
  readonly prefix?: string;
}

/** A lock held by one owner: what it may do, and until when. */
export interface LockHandle extends HeldLock {
  /**
   * Monotonic ms ({@link monotonicNow}) before which the owner may act on the lock: the time
   * the acquire/extend was *sent* plus `ttlMs − safetyMarginMs`, so it ends before Redis can
   * expire the key. Past it, the owner must stop; a write it already started is what the
   * fencing token is for.
   */
  readonly validUntil: number;
}

/**
 * A Redis lock with a fencing token: acquire is SET-if-free with PX plus the next value of a
 * never-reset counter, in one script; extend and release are compare-and-PEXPIRE and
 * compare-and-DEL by script, so they never touch a lock that has since passed to someone
 * else. Every acquisition gets a token higher than any before it: pass it to every write you
 * make under the lock, and have the store refuse a token lower than the highest it has seen
 * ({@link Fence}). The lock alone cannot stop a holder that paused past its TTL; the token can.
 *
 * @example
 * ```ts
 * const lock = new FencedLock(redis, { name: 'daily-report', ttlMs: 5_000 });
 * const held = await lock.acquire('instance-a');
 * if (held) {
 *   await fence.write('daily-report', held.token, body);
 *   await lock.release(held);
 * }
 * ```
 */
export class FencedLock {
  readonly name: string;
  readonly ttlMs: number;
  readonly safetyMarginMs: number;
  readonly restartGraceMs: number;
  readonly #prefix: string;
  readonly #redis: Redis;

  constructor(redis: Redis, options: FencedLockOptions) {
    const { name, ttlMs = 10_000, prefix = DEFAULT_PREFIX } = options;
    const safetyMarginMs = options.safetyMarginMs ?? Math.max(5, Math.ceil(ttlMs * 0.02));
    const restartGraceMs = options.restartGraceMs ?? ttlMs;
    const problems: string[] = [];
    if (name.length === 0) problems.push('name must not be empty');
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 10)
      problems.push(`ttlMs must be an integer ≥ 10, got ${String(ttlMs)}`);
    if (!Number.isSafeInteger(safetyMarginMs) || safetyMarginMs < 0 || safetyMarginMs >= ttlMs) {
      problems.push(`safetyMarginMs must be an integer in [0, ttlMs), got ${String(safetyMarginMs)}`);
    }
    if (!Number.isSafeInteger(restartGraceMs) || restartGraceMs < 0)
      problems.push(`restartGraceMs must be an integer ≥ 0, got ${String(restartGraceMs)}`);
    if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
    this.#redis = redis;
    this.#prefix = prefix;
    this.name = name;
    this.restartGraceMs = restartGraceMs;
    this.ttlMs = ttlMs;
    this.safetyMarginMs = safetyMarginMs;
  }

  /** Takes the lock for `owner` if it is free: the handle with its new token, or undefined (held, or within the restart grace). */
  async acquire(owner: string): Promise<LockHandle | undefined> {
    if (!OWNER_PATTERN.test(owner)) {
      throw new BulwarkError(
        'INVALID_OPTION',
        `owner must match ${String(OWNER_PATTERN)}, got ${JSON.stringify(owner)}`,
        { owner },
      );
    }
    const sentAt = monotonicNow();
    const { tokens } = await acquireLocks(
      this.#redis,
      this.#prefix,
      [this.name],
      owner,
      this.ttlMs,
      this.restartGraceMs,
    );
    const token = tokens[0];
    return token === undefined ? undefined : { name: this.name, owner, token, validUntil: this.#deadline(sentAt) };
  }

  /** Extends a held lock by `ttlMs`: the renewed handle (same token), or undefined if it was lost. */
  async extend(handle: LockHandle): Promise<LockHandle | undefined> {
    const sentAt = monotonicNow();
    const [check] = await extendLocks(this.#redis, this.#prefix, [handle], this.ttlMs);
    return check === 'OK' ? { ...handle, validUntil: this.#deadline(sentAt) } : undefined;
  }

  /** Releases the lock if this handle still holds it; false if it had expired or passed on. */
  async release(handle: LockHandle): Promise<boolean> {
    const [check] = await releaseLocks(this.#redis, this.#prefix, [handle]);
    return check === 'OK';
  }

  /** Whether the handle may still be acted on (before its `validUntil`). */
  isValid(handle: LockHandle): boolean {
    return monotonicNow() < handle.validUntil;
  }

  #deadline(sentAt: number): number {
    return sentAt + this.ttlMs - this.safetyMarginMs;
  }
}
