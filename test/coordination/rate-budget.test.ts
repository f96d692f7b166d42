import { afterAll, describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/coordination/rate-budget.js';
import { isBulwarkError } from '../../src/errors.js';
import { startRedis } from '../setup/redis.js';
import { closeAll, connectTo, freshPrefix } from './helpers.js';

const redis = await startRedis();
afterAll(async () => {
  await closeAll();
  await redis?.stop();
});

/** Three clients (connections), each with `lanes` concurrent loops of tryTake(1), for `ms`: every grant's Redis time. */
async function hammer(
  budgets: readonly RateBudget[],
  lanes: number,
  ms: number,
): Promise<{ grants: number[]; denied: number }> {
  const grants: number[] = [];
  let denied = 0;
  const until = Date.now() + ms;
  await Promise.all(
    budgets.flatMap((budget) =>
      Array.from({ length: lanes }, async () => {
        while (Date.now() < until) {
          const r = await budget.tryTake();
          if (r.granted) grants.push(r.serverTimeMs);
          else denied++;
        }
      }),
    ),
  );
  return { grants: grants.sort((a, b) => a - b), denied };
}

describe.skipIf(!redis)('RateBudget (shared token bucket) on a real redis-server', () => {
  const url = () => redis?.url ?? '';
  const budgets = async (options: { capacity: number; refillPerSecond: number }) => {
    const prefix = freshPrefix();
    return Promise.all([1, 2, 3].map(async () => new RateBudget(await connectTo(url()), { ...options, prefix })));
  };

  it('never grants more than capacity with no time to refill, across 3 clients hammering concurrently', async () => {
    const { grants, denied } = await hammer(await budgets({ capacity: 25, refillPerSecond: 0.000001 }), 4, 400);
    expect(grants).toHaveLength(25);
    expect(denied).toBeGreaterThan(100);
  });

  it('grants at most capacity + rate × W in every window W (Redis clock), across 3 clients', async () => {
    const capacity = 20;
    const rate = 40; // per second
    const { grants } = await hammer(await budgets({ capacity, refillPerSecond: rate }), 4, 1_200);
    // Sliding windows of 250 ms and 1 s anchored at every grant.
    for (const w of [250, 1_000]) {
      const bound = capacity + (rate * w) / 1_000;
      let j = 0;
      let worst = 0;
      for (let i = 0; i < grants.length; i++) {
        while ((grants[i] as number) - (grants[j] as number) > w) j++;
        worst = Math.max(worst, i - j + 1);
      }
      expect(worst).toBeLessThanOrEqual(Math.floor(bound));
    }
    // And it is not trivially refusing: the burst plus the refill over the run.
    const span = (grants.at(-1) as number) - (grants[0] as number);
    expect(grants.length).toBeGreaterThanOrEqual(capacity + Math.floor((rate * span) / 1_000) - 2);
  });

  it('refuses n above capacity and bad options', async () => {
    const conn = await connectTo(url());
    await expect(new RateBudget(conn, { capacity: 2 }).tryTake(3)).rejects.toThrow(/capacity/);
    try {
      new RateBudget(conn, { capacity: 0, refillPerSecond: -1 });
      expect.fail('should have thrown');
    } catch (e) {
      expect(isBulwarkError(e, 'INVALID_OPTION')).toBe(true);
      expect(String(e)).toMatch(/capacity.*refillPerSecond/s);
    }
  });
});
