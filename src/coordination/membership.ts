import type { Redis } from 'ioredis';
import { BulwarkError } from '../errors.js';
import { DEFAULT_PREFIX } from './keys.js';
import { LUA_PRELUDE, LuaScript, coordinationError, replyArray } from './lua-script.js';

/**
 * KEYS[1]: sorted set member → expiry (Redis ms). Drops expired members, (re)registers
 * ARGV[1] until now + ARGV[2], returns the live members. Redis's clock decides for everyone.
 */
const HEARTBEAT = new LuaScript(
  'members.heartbeat',
  `${LUA_PRELUDE}
local now = math.floor(now_us() / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. fmt(now))
redis.call('ZADD', KEYS[1], fmt(now + tonumber(ARGV[2])), ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)`,
);

/** Options of {@link Membership}. */
export interface MembershipOptions {
  /** A member that has not heartbeated for this long is gone (ms). Default 10 000. */
  readonly ttlMs?: number;
  /** Key prefix. Default `bulwark:`. */
  readonly prefix?: string;
}

/**
 * The live instances, by heartbeat: each one refreshes its entry with {@link heartbeat},
 * which also answers who else is live; an entry not refreshed within `ttlMs` disappears.
 * Symbol assignment is computed over this list, so every instance reading it at the same
 * moment computes the same owners.
 *
 * @example
 * ```ts
 * const members = new Membership(redis, { ttlMs: 3_000 });
 * const live = await members.heartbeat('instance-a'); // ['instance-a', 'instance-b']
 * ```
 */
export class Membership {
  readonly ttlMs: number;
  readonly #key: string;
  readonly #redis: Redis;

  constructor(redis: Redis, options: MembershipOptions = {}) {
    const { ttlMs = 10_000, prefix = DEFAULT_PREFIX } = options;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 10)
      throw new BulwarkError('INVALID_OPTION', `ttlMs must be an integer ≥ 10, got ${String(ttlMs)}`);
    this.#redis = redis;
    this.#key = `${prefix}members`;
    this.ttlMs = ttlMs;
  }

  /** Registers (or refreshes) `id` for `ttlMs`; the live members, sorted. */
  async heartbeat(id: string): Promise<string[]> {
    const reply = replyArray(await HEARTBEAT.run(this.#redis, [this.#key], [id, this.ttlMs]), HEARTBEAT.name);
    return reply.map(String).sort();
  }

  /** Removes `id` at once (a clean shutdown), so others take its symbols without waiting. */
  async leave(id: string): Promise<void> {
    try {
      await this.#redis.zrem(this.#key, id);
    } catch (e) {
      throw coordinationError('members.leave', e);
    }
  }
}
