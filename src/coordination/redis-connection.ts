import { Redis, type RedisOptions } from 'ioredis';
import { BulwarkError } from '../errors.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/** Options of {@link createRedisConnection}. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string;
  /** A command without a reply after this long fails (ms). Default 1 000. */
  readonly commandTimeoutMs?: number;
  /** Connecting (TCP + ready check) fails after this long (ms). Default 2 000. */
  readonly connectTimeoutMs?: number;
  /** Longest wait between reconnection attempts (ms); attempts never stop. Default 1 000. */
  readonly reconnectMaxDelayMs?: number;
  /** Client name shown by `CLIENT LIST`, for operators. */
  readonly name?: string;
}

/**
 * An ioredis connection set up to fail fast, which is what coordination needs: a command
 * waits at most `commandTimeoutMs`, is never retried on another connection
 * (`maxRetriesPerRequest: 0`) and is refused at once while disconnected
 * (`enableOfflineQueue: false`), so a Redis outage surfaces as an error within one command
 * timeout instead of as a hang. Reconnection goes on in the background, backing off to
 * `reconnectMaxDelayMs`. The connection is lazy: call `connect()`. An `error` listener is
 * attached (errors surface through the commands), so ioredis never logs "unhandled error".
 *
 * @example
 * ```ts
 * const redis = createRedisConnection({ url: 'redis://127.0.0.1:6379', commandTimeoutMs: 500 });
 * await redis.connect();
 * ```
 */
export function createRedisConnection(options: RedisConnectionOptions): Redis {
  const { url, commandTimeoutMs = 1_000, connectTimeoutMs = 2_000, reconnectMaxDelayMs = 1_000, name } = options;
  const problems: string[] = [];
  if (!/^rediss?:\/\//.test(url))
    problems.push(`url must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
  for (const [key, value] of [
    ['commandTimeoutMs', commandTimeoutMs],
    ['connectTimeoutMs', connectTimeoutMs],
    ['reconnectMaxDelayMs', reconnectMaxDelayMs],
  ] as const) {
    const p = positiveIntegerProblem(key, value);
    if (p !== undefined) problems.push(p);
  }
  if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResubscribe: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, reconnectMaxDelayMs),
    ...(name === undefined ? {} : { connectionName: name }),
  };
  const redis = new Redis(url, redisOptions);
  redis.on('error', () => {
    // Surfaced through the failing commands and the 'close' event; see the coordinator.
  });
  return redis;
}

/**
 * Closes a connection politely (QUIT), or at once if it is not connected or Redis does not
 * answer. Never throws.
 *
 * @example
 * ```ts
 * await closeRedisConnection(redis);
 * ```
 */
export async function closeRedisConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
