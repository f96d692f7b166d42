import type { Redis } from 'ioredis';
import { BulwarkError } from '../errors.js';
import { DEFAULT_PREFIX } from './keys.js';
import { LUA_PRELUDE, LuaScript, replyArray, replyNumber } from './lua-script.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/**
 * KEYS[1]: bucket hash {tokens, ts}. ARGV: capacity, refill per ms, n, idle TTL ms.
 * Refills by the time elapsed on Redis's clock (capped at capacity), then takes n if there
 * are n. Returns {granted 0/1, tokens left, Redis time in ms} as strings (Lua would truncate).
 */
const TAKE = new LuaScript(
  'budget.take',
  `${LUA_PRELUDE}
local now = now_us() / 1000
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
local granted = 0
if tokens >= n then
  tokens = tokens - n
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', ts))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {granted, string.format('%.17g', tokens), string.format('%.17g', now)}`,
);

/** Options of {@link RateBudget}. */
export interface RateBudgetOptions {
  /** Tokens the bucket holds when full: the largest burst. Default 10. */
  readonly capacity?: number;
  /** Tokens added per second, shared by all instances (≥ 0.000001). Default 10. */
  readonly refillPerSecond?: number;
  /** Budget name (part of its key), e.g. one per venue. Default `orders`. */
  readonly name?: string;
  /** Key prefix. Default `bulwark:`. */
  readonly prefix?: string;
}

/** Outcome of {@link RateBudget.tryTake}. */
export interface RateBudgetResult {
  readonly granted: boolean;
  /** Tokens left after this call (fractional: refill is continuous). */
  readonly remaining: number;
  /** Redis's clock when it decided (epoch ms), the one clock all instances share. */
  readonly serverTimeMs: number;
}

/**
 * One order-rate budget shared by every instance: a token bucket held in Redis and updated by
 * one Lua script, so concurrent takers on any number of instances are serialised by Redis and
 * timed by Redis's clock. Over any interval of W ms it grants at most
 * `capacity + refillPerSecond·W/1000` tokens in total — to stay under a venue's N per second,
 * choose `capacity + refillPerSecond ≤ N`. A bucket left idle expires and comes back full.
 *
 * @example
 * ```ts
 * const budget = new RateBudget(redis, { capacity: 20, refillPerSecond: 20 });
 * if ((await budget.tryTake()).granted) await sendOrder();
 * ```
 */
export class RateBudget {
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly #redis: Redis;
  readonly #key: string;
  readonly #idleTtlMs: number;

  constructor(redis: Redis, options: RateBudgetOptions = {}) {
    const { capacity = 10, refillPerSecond = 10, name = 'orders', prefix = DEFAULT_PREFIX } = options;
    const problems: string[] = [];
    const capacityProblem = positiveIntegerProblem('capacity', capacity);
    if (capacityProblem !== undefined) problems.push(capacityProblem);
    if (!(Number.isFinite(refillPerSecond) && refillPerSecond >= 1e-6))
      problems.push(`refillPerSecond must be a number ≥ 0.000001, got ${String(refillPerSecond)}`);
    if (name.length === 0) problems.push('name must not be empty');
    if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
    this.#redis = redis;
    this.#key = `${prefix}budget:${name}`;
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    // Time to refill from empty, plus a second: an expired bucket would be full anyway.
    this.#idleTtlMs = Math.ceil((capacity / refillPerSecond) * 1_000) + 1_000;
  }

  /** Takes `n` tokens (default 1) if the shared bucket has them; never waits. */
  async tryTake(n = 1): Promise<RateBudgetResult> {
    if (!Number.isSafeInteger(n) || n < 1 || n > this.capacity) {
      throw new BulwarkError(
        'INVALID_OPTION',
        `n must be an integer in [1, capacity ${String(this.capacity)}], got ${String(n)}`,
        { n },
      );
    }
    const reply = replyArray(
      await TAKE.run(
        this.#redis,
        [this.#key],
        [this.capacity, String(this.refillPerSecond / 1_000), n, this.#idleTtlMs],
      ),
      TAKE.name,
    );
    return {
      granted: replyNumber(reply[0], TAKE.name) === 1,
      remaining: replyNumber(reply[1], TAKE.name),
      serverTimeMs: replyNumber(reply[2], TAKE.name),
    };
  }
}
