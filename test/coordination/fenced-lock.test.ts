import { afterAll, describe, expect, it } from 'vitest';
import { FencedLock } from '../../src/coordination/fenced-lock.js';
import { isBulwarkError } from '../../src/errors.js';
import { startRedis } from '../setup/redis.js';
import { closeAll, connectTo, elapse, freshPrefix } from './helpers.js';

const redis = await startRedis();
afterAll(async () => {
  await closeAll();
  await redis?.stop();
});

describe.skipIf(!redis)('FencedLock on a real redis-server', () => {
  const url = () => redis?.url ?? '';
  const lockOf = async (prefix: string, ttlMs = 5_000) =>
    new FencedLock(await connectTo(url()), { name: 'job', ttlMs, prefix, restartGraceMs: 0 });

  it('grants the lock to one owner at a time, whatever the concurrency', async () => {
    const prefix = freshPrefix();
    const locks = await Promise.all([1, 2, 3].map(() => lockOf(prefix)));
    const attempts = await Promise.all(
      locks.flatMap((lock, i) => [0, 1, 2, 3].map((j) => lock.acquire(`owner-${String(i)}-${String(j)}`))),
    );
    expect(attempts.filter((h) => h !== undefined)).toHaveLength(1);
  });

  it('gives every acquisition a strictly higher token, across owners', async () => {
    const prefix = freshPrefix();
    const [a, b] = await Promise.all([lockOf(prefix), lockOf(prefix)]);
    const tokens: number[] = [];
    for (let i = 0; i < 20; i++) {
      const lock = i % 2 === 0 ? a : b;
      const held = await lock.acquire(i % 2 === 0 ? 'a' : 'b');
      expect(held).toBeDefined();
      if (held === undefined) return;
      tokens.push(held.token);
      expect(await lock.release(held)).toBe(true);
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
    expect(tokens.every((t) => Number.isSafeInteger(t))).toBe(true);
  });

  it('release (compare-and-delete) never deletes a lock another owner holds', async () => {
    const prefix = freshPrefix();
    const lock = await lockOf(prefix, 100);
    const first = await lock.acquire('a');
    expect(first).toBeDefined();
    if (first === undefined) return;
    await elapse(150); // a's lock expires in Redis
    const second = await lock.acquire('b');
    expect(second?.token).toBeGreaterThan(first.token);
    expect(await lock.release(first)).toBe(false); // a's late release
    expect(await lock.extend(first)).toBeUndefined(); // a's late extend
    expect(await lock.acquire('c')).toBeUndefined(); // b still holds it
    if (second !== undefined) expect(await lock.release(second)).toBe(true);
    expect(await lock.acquire('c')).toBeDefined();
  });

  it('extend keeps the token and pushes the local deadline; the deadline ends before Redis expiry', async () => {
    const prefix = freshPrefix();
    const lock = await lockOf(prefix, 1_000);
    const held = await lock.acquire('a');
    expect(held).toBeDefined();
    if (held === undefined) return;
    expect(lock.isValid(held)).toBe(true);
    expect(held.validUntil - performance.now()).toBeLessThanOrEqual(1_000 - lock.safetyMarginMs);
    const extended = await lock.extend(held);
    expect(extended?.token).toBe(held.token);
    expect(extended?.validUntil).toBeGreaterThan(held.validUntil);
  });

  it('re-adopts its own lock (a reply it timed out on) under a new token', async () => {
    const prefix = freshPrefix();
    const lock = await lockOf(prefix);
    const first = await lock.acquire('a');
    const again = await lock.acquire('a');
    expect(again?.token).toBeGreaterThan(first?.token ?? Infinity);
    if (first !== undefined) expect(await lock.release(first)).toBe(false); // the old token no longer holds it
  });

  it('grants nothing during the restart grace after Redis first serves a lock under a prefix', async () => {
    const prefix = freshPrefix();
    const lock = new FencedLock(await connectTo(url()), { name: 'job', ttlMs: 200, prefix, restartGraceMs: 200 });
    expect(await lock.acquire('a')).toBeUndefined();
    await elapse(220);
    expect(await lock.acquire('a')).toBeDefined();
  });

  it('rejects bad options, all problems at once', async () => {
    const conn = await connectTo(url());
    try {
      new FencedLock(conn, { name: '', ttlMs: 1, safetyMarginMs: 5 });
      expect.fail('should have thrown');
    } catch (e) {
      expect(isBulwarkError(e, 'INVALID_OPTION')).toBe(true);
      expect(String(e)).toMatch(/name.*ttlMs.*safetyMarginMs/s);
    }
    await expect(new FencedLock(conn, { name: 'x' }).acquire('bad|owner')).rejects.toThrow(/owner/);
  });
});
