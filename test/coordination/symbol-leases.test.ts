import { afterAll, describe, expect, it } from 'vitest';
import { SymbolLeases } from '../../src/coordination/symbol-leases.js';
import { startRedis } from '../setup/redis.js';
import { closeAll, connectTo, elapse, freshPrefix } from './helpers.js';

const redis = await startRedis();
afterAll(async () => {
  await closeAll();
  await redis?.stop();
});

describe.skipIf(!redis)('SymbolLeases on a real redis-server', () => {
  const url = () => redis?.url ?? '';
  const leasesFor = async (owner: string, prefix: string, leaseMs = 2_000) =>
    new SymbolLeases(await connectTo(url()), {
      owner,
      prefix,
      leaseMs,
      safetyMarginMs: 10,
      restartGraceMs: 0,
      batchSize: 3,
    });

  it('each symbol goes to exactly one claimant, in batches', async () => {
    const prefix = freshPrefix();
    const symbols = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];
    const all = await Promise.all(['x', 'y', 'z'].map((o) => leasesFor(o, prefix)));
    const gains = await Promise.all(all.map((l) => l.claim(symbols)));
    expect(
      gains
        .flat()
        .map((g) => g.symbol)
        .sort(),
    ).toEqual(symbols);
    for (const s of symbols) expect(all.filter((l) => l.owns(s))).toHaveLength(1);
  });

  it('renewal keeps a lease past its first term; without renewal it expires locally before Redis frees it', async () => {
    const prefix = freshPrefix();
    const a = await leasesFor('a', prefix, 400);
    const b = await leasesFor('b', prefix, 400);
    await a.claim(['A', 'B']);
    for (let i = 0; i < 5; i++) {
      await elapse(100);
      expect(await a.renew()).toEqual([]);
    }
    expect(a.owned()).toEqual(['A', 'B']); // 500 ms after a 400 ms lease was taken
    await elapse(395); // past a's local deadline (400 − 10 ms after the last renewal was sent)
    expect(a.owns('A')).toBe(false);
    const lost = a.expire();
    expect(lost.map((l) => [l.symbol, l.reason])).toEqual([
      ['A', 'EXPIRED'],
      ['B', 'EXPIRED'],
    ]);
    await elapse(20);
    const gained = await b.claim(['A', 'B']);
    expect(gained).toHaveLength(2);
    for (const g of gained)
      expect(g.at).toBeGreaterThan(lost.find((l) => l.symbol === g.symbol)?.heldUntil ?? Infinity);
  });

  it('a renewal that finds the lease taken reports TAKEN/EXPIRED and drops it; release never frees another owner’s lease', async () => {
    const prefix = freshPrefix();
    const a = await leasesFor('a', prefix, 100);
    const b = await leasesFor('b', prefix, 100);
    await a.claim(['A']);
    await elapse(120);
    expect(await b.claim(['A'])).toHaveLength(1);
    const lost = await a.renew();
    expect(lost.map((l) => l.symbol)).toEqual(['A']);
    expect(a.owned()).toEqual([]);
    expect(await a.release(['A'], 'RELEASED')).toEqual([]); // nothing held locally
    expect(b.owns('A')).toBe(true);
    expect(await b.renew()).toEqual([]);
  });

  it('release gives the symbol up at once for the next claimant', async () => {
    const prefix = freshPrefix();
    const a = await leasesFor('a', prefix);
    const b = await leasesFor('b', prefix);
    await a.claim(['A']);
    expect(await b.claim(['A'])).toEqual([]);
    const [loss] = await a.release(['A'], 'RELEASED');
    expect(loss?.reason).toBe('RELEASED');
    expect((await b.claim(['A']))[0]?.token).toBeGreaterThan(loss?.token ?? Infinity);
  });
});
