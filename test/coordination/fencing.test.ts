import { afterAll, describe, expect, it } from 'vitest';
import { Fence } from '../../src/coordination/fencing.js';
import { FencedLock } from '../../src/coordination/fenced-lock.js';
import { startRedis } from '../setup/redis.js';
import { closeAll, connectTo, elapse, freshPrefix } from './helpers.js';

const redis = await startRedis();
afterAll(async () => {
  await closeAll();
  await redis?.stop();
});

describe.skipIf(!redis)('Fence (fenced writes) on a real redis-server', () => {
  const url = () => redis?.url ?? '';

  it('accepts a token ≥ the highest seen, rejects a lower one with STALE_TOKEN and keeps the newer value', async () => {
    const fence = new Fence(await connectTo(url()), { prefix: freshPrefix() });
    expect(await fence.write('pos:AAPL', 5, 'five')).toEqual({ ok: true, token: 5 });
    expect(await fence.write('pos:AAPL', 5, 'five again')).toEqual({ ok: true, token: 5 });
    expect(await fence.write('pos:AAPL', 7, 'seven')).toEqual({ ok: true, token: 7 });
    expect(await fence.write('pos:AAPL', 6, 'six (stale)')).toEqual({
      ok: false,
      code: 'STALE_TOKEN',
      token: 6,
      highest: 7,
    });
    expect(await fence.read('pos:AAPL')).toEqual({ token: 7, value: 'seven' });
    expect(await fence.read('pos:MSFT')).toBeUndefined();
  });

  it('handles tokens as large as the time-seeded ones (≈ 10^15) exactly', async () => {
    const fence = new Fence(await connectTo(url()), { prefix: freshPrefix() });
    const big = 1_760_000_000_123_457;
    expect((await fence.write('r', big, 'a')).ok).toBe(true);
    expect(await fence.write('r', big - 1, 'b')).toMatchObject({ ok: false, code: 'STALE_TOKEN', highest: big });
    expect((await fence.write('r', big + 1, 'c')).ok).toBe(true);
  });

  it("rejects a paused holder's write once the next holder has written, even though its lock looked valid when it decided", async () => {
    const prefix = freshPrefix();
    const conn = await connectTo(url());
    const lock = new FencedLock(conn, { name: 'symbol:AAPL', ttlMs: 100, prefix, restartGraceMs: 0 });
    const fence = new Fence(conn, { prefix });
    const old = await lock.acquire('a');
    if (old === undefined) return expect.fail('a should get the lock');
    await elapse(130); // "a" pauses past its lease
    const next = await lock.acquire('b');
    if (next === undefined) return expect.fail('b should get the lock');
    expect((await fence.writeUnderLock(next, 'b owns')).ok).toBe(true);
    expect(await fence.write('symbol:AAPL', old.token, 'a, stale')).toMatchObject({ ok: false, code: 'STALE_TOKEN' });
    expect(await fence.writeUnderLock(old, 'a, stale')).toMatchObject({ ok: false, code: 'STALE_TOKEN' });
    expect((await fence.read('symbol:AAPL'))?.value).toBe('b owns');
  });

  it('writeUnderLock refuses a holder whose lock expired before anyone newer wrote (LEASE_NOT_HELD)', async () => {
    const prefix = freshPrefix();
    const conn = await connectTo(url());
    const lock = new FencedLock(conn, { name: 'job', ttlMs: 50, prefix, restartGraceMs: 0 });
    const held = await lock.acquire('a');
    if (held === undefined) return expect.fail('a should get the lock');
    expect((await new Fence(conn, { prefix }).writeUnderLock(held, 'in time')).ok).toBe(true);
    await elapse(80);
    expect(await new Fence(conn, { prefix }).writeUnderLock(held, 'too late')).toMatchObject({
      ok: false,
      code: 'LEASE_NOT_HELD',
    });
  });

  it('refuses oversized values and bad tokens before sending anything', async () => {
    const fence = new Fence(await connectTo(url()), { prefix: freshPrefix(), maxValueBytes: 4 });
    await expect(fence.write('r', 1, 'too long')).rejects.toThrow(/maxValueBytes/);
    await expect(fence.write('r', 0, 'x')).rejects.toThrow(/token/);
  });
});
