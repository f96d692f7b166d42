import type { Redis } from 'ioredis';
import { BulwarkError } from '../errors.js';
import { holderValue, type HeldLock } from './fenced-lock.js';
import { DEFAULT_PREFIX, fenceKey, lockKey } from './keys.js';
import { LUA_PRELUDE, LuaScript, coordinationError, replyArray, replyNumber } from './lua-script.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/**
 * KEYS[1]: the fence (hash: highest token seen, value). ARGV[1]: token, ARGV[2]: value.
 * Stores the value only if the token is ≥ the highest seen, and records the token. With
 * KEYS[2]/ARGV[3] it also requires that lock to still hold `owner|token`.
 */
const WRITE = new LuaScript(
  'fence.write',
  `${LUA_PRELUDE}
local highest = tonumber(redis.call('HGET', KEYS[1], 'token') or '0')
if tonumber(ARGV[1]) < highest then return {'STALE_TOKEN', fmt(highest)} end
if #KEYS > 1 and redis.call('GET', KEYS[2]) ~= ARGV[3] then return {'LEASE_NOT_HELD', fmt(highest)} end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'value', ARGV[2])
return {'OK', fmt(highest)}`,
);

/** A fenced write that was stored. */
export interface FencedWriteAccepted {
  /** The value was stored. */
  readonly ok: true;
  /** The token the value was written with; now the highest the resource has seen. */
  readonly token: number;
}

/**
 * A fenced write that was refused, with why: `STALE_TOKEN` (a higher token has written since —
 * the writer lost its lock, maybe without knowing) or `LEASE_NOT_HELD` (a write under a lock
 * whose lock no longer holds this owner and token). Nothing was stored.
 */
export interface FencedWriteRejected {
  /** Nothing was stored. */
  readonly ok: false;
  /** Why the write was refused. */
  readonly code: 'STALE_TOKEN' | 'LEASE_NOT_HELD';
  /** The token the refused write carried. */
  readonly token: number;
  /** The highest token the resource had seen. */
  readonly highest: number;
}

/** Outcome of {@link Fence.write}. */
export type FencedWriteResult = FencedWriteAccepted | FencedWriteRejected;

/** What a fenced resource holds. */
export interface FencedValue {
  readonly token: number;
  readonly value: string;
}

/** Options of {@link Fence}. */
export interface FenceOptions {
  /** Key prefix. Default `bulwark:`. */
  readonly prefix?: string;
  /** Largest value accepted (UTF-8 bytes). Default 65 536. */
  readonly maxValueBytes?: number;
}

/**
 * The store side of fencing: a resource in Redis that accepts a write only with a token at
 * least as high as the highest it has seen, atomically (one script), and remembers that
 * token. A lock holder that paused past its lease (GC, SIGSTOP, a slow network) and then
 * writes with its old token is refused once the next holder has written — that, and only
 * that, is what the token protects: writes that go through this fence. A write made
 * elsewhere (an order already sent to a broker) is not covered unless that system checks the
 * token too.
 *
 * @example
 * ```ts
 * const fence = new Fence(redis);
 * const r = await fence.write('symbol:AAPL', held.token, JSON.stringify(position));
 * if (!r.ok) stopManaging('AAPL'); // r.code === 'STALE_TOKEN': someone newer owns it
 * ```
 */
export class Fence {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #maxValueBytes: number;

  constructor(redis: Redis, options: FenceOptions = {}) {
    const { prefix = DEFAULT_PREFIX, maxValueBytes = 65_536 } = options;
    const problem = positiveIntegerProblem('maxValueBytes', maxValueBytes);
    if (problem !== undefined) throw new BulwarkError('INVALID_OPTION', problem);
    this.#redis = redis;
    this.#prefix = prefix;
    this.#maxValueBytes = maxValueBytes;
  }

  /** Writes `value` to `resource` if `token` is ≥ the highest token it has seen. */
  write(resource: string, token: number, value: string): Promise<FencedWriteResult> {
    return this.#write([fenceKey(this.#prefix, resource)], token, value, []);
  }

  /**
   * Writes `value` to the resource named like the lock, with the lock's token, and only while
   * Redis still shows the lock held by this owner and token (else `LEASE_NOT_HELD`): stronger
   * than the token alone, since it also refuses a stale holder before anyone newer has written.
   */
  writeUnderLock(lock: HeldLock, value: string): Promise<FencedWriteResult> {
    return this.#write([fenceKey(this.#prefix, lock.name), lockKey(this.#prefix, lock.name)], lock.token, value, [
      holderValue(lock),
    ]);
  }

  /** The resource's value and the token that wrote it, or undefined if never written. */
  async read(resource: string): Promise<FencedValue | undefined> {
    let reply: (string | null)[];
    try {
      reply = await this.#redis.hmget(fenceKey(this.#prefix, resource), 'token', 'value');
    } catch (e) {
      throw coordinationError('fence.read', e);
    }
    const [token, value] = reply;
    if (token === null || token === undefined || value === null || value === undefined) return undefined;
    return { token: replyNumber(token, 'fence.read'), value };
  }

  async #write(keys: string[], token: number, value: string, extra: string[]): Promise<FencedWriteResult> {
    const problems: string[] = [];
    const tokenProblem = positiveIntegerProblem('token', token);
    if (tokenProblem !== undefined) problems.push(tokenProblem);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > this.#maxValueBytes)
      problems.push(`value is ${String(bytes)} bytes, more than maxValueBytes ${String(this.#maxValueBytes)}`);
    if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
    const [code, highest] = replyArray(
      await WRITE.run(this.#redis, keys, [String(token), value, ...extra]),
      WRITE.name,
    );
    const seen = replyNumber(highest, WRITE.name);
    if (code === 'OK') return { ok: true, token };
    if (code === 'STALE_TOKEN' || code === 'LEASE_NOT_HELD') return { ok: false, code, token, highest: seen };
    throw coordinationError(WRITE.name, `unexpected reply ${JSON.stringify(code)}`);
  }
}
