import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { closeRedisConnection, createRedisConnection } from '../../src/coordination/redis-connection.js';

/** A fresh key prefix, so tests sharing one redis-server never see each other's keys. */
export function freshPrefix(): string {
  return `t${randomBytes(4).toString('hex')}:`;
}

const open = new Set<Redis>();

/** A connected fast-failing connection, closed by {@link closeAll}. */
export async function connectTo(url: string, commandTimeoutMs = 1_000): Promise<Redis> {
  const redis = createRedisConnection({ url, commandTimeoutMs, reconnectMaxDelayMs: 200 });
  open.add(redis);
  await redis.connect();
  return redis;
}

/** Closes every connection opened by {@link connectTo}. */
export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((r) => closeRedisConnection(r)));
  open.clear();
}

/** Resolves after `ms` (only where a test must let real time pass, e.g. a lease running out). */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
