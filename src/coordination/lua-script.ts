import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BulwarkError } from '../errors.js';

/**
 * Wraps whatever a Redis call threw (refused connection, command timeout, offline, a script
 * error) as a `COORDINATION_UNAVAILABLE` {@link BulwarkError} naming the operation.
 */
export function coordinationError(operation: string, cause: unknown): BulwarkError {
  if (cause instanceof BulwarkError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new BulwarkError('COORDINATION_UNAVAILABLE', `${operation} failed: ${message}`, { operation, cause: message });
}

/**
 * One Lua script, run by EVALSHA with a fall-back to EVAL when Redis does not have it cached
 * (after a restart or SCRIPT FLUSH). Scripts run atomically: no other command interleaves.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; any failure is a `COORDINATION_UNAVAILABLE` error. */
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw coordinationError(this.name, e);
    }
    try {
      return await redis.eval(this.source, keys.length, ...keys, ...args);
    } catch (e) {
      throw coordinationError(this.name, e);
    }
  }
}

/** A reply that must be an array, or a protocol error. */
export function replyArray(reply: unknown, operation: string): readonly unknown[] {
  if (!Array.isArray(reply)) throw coordinationError(operation, `unexpected reply ${JSON.stringify(reply)}`);
  return reply;
}

/** A reply (integer or decimal string) that must be a finite number, or a protocol error. */
export function replyNumber(reply: unknown, operation: string): number {
  const n = typeof reply === 'number' ? reply : typeof reply === 'string' ? Number(reply) : Number.NaN;
  if (!Number.isFinite(n)) throw coordinationError(operation, `unexpected reply ${JSON.stringify(reply)}`);
  return n;
}

/**
 * Lua helpers shared by the scripts. Lua 5.1 prints numbers above 10^14 in exponent form, so
 * every token is formatted with `%.0f`; `now_us()` is Redis's own clock, so every instance
 * reads the same time.
 */
export const LUA_PRELUDE = `
local function fmt(n) return string.format('%.0f', n) end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
`;
