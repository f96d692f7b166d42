import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisCoordinator, type CoordinatorEvent, type RedisCoordinatorOptions } from '../../src/coordination/index.js';
import { isBulwarkError } from '../../src/errors.js';
import { freePort, startRedis, type RedisServer } from '../setup/redis.js';
import { closeAll, connectTo, freshPrefix } from './helpers.js';

const redis = await startRedis();
const extraServers: RedisServer[] = [];
afterAll(async () => {
  await closeAll();
  await Promise.all([redis, ...extraServers].map((s) => s?.stop() ?? Promise.resolve()));
});

const started: RedisCoordinator[] = [];
afterEach(async () => {
  await Promise.all(started.map((c) => c.stop()));
  started.length = 0;
});

const TIMING = { leaseMs: 400, renewIntervalMs: 100, commandTimeoutMs: 100, reconnectMaxDelayMs: 100 } as const;

function coordinator(options: Partial<RedisCoordinatorOptions> & { prefix: string }): {
  c: RedisCoordinator;
  events: CoordinatorEvent[];
} {
  const c = new RedisCoordinator({ url: redis?.url ?? '', ...TIMING, ...options });
  const events: CoordinatorEvent[] = [];
  c.subscribe((e) => events.push(e));
  started.push(c);
  return { c, events };
}

/** Resolves when `check()` holds, checked on every coordinator event and every 10 ms, within `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${String(timeoutMs)} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!redis)('RedisCoordinator in one process', () => {
  it('alone, it owns every symbol (after the restart grace), writes fenced records, and refuses writes for symbols it does not own', async () => {
    const { c } = coordinator({ prefix: freshPrefix(), symbols: ['A', 'B', 'C'], instanceId: 'solo' });
    await c.start();
    expect(c.state).toBe('ACTIVE');
    expect(c.members).toEqual(['solo']);
    await until(() => c.owned().length === 3, 2_000, 'owning all three');
    const token = c.tokenOf('A');
    expect(await c.write('A', '{"qty":5}')).toEqual({ ok: true, token });
    expect(await c.write('Z', 'x')).toEqual({ ok: false, code: 'NOT_OWNER', symbol: 'Z' });
    expect(await c.tryTakeOrders()).toBe(true);
  });

  it('stop() hands every symbol over at once: the next instance does not wait for the leases to run out', async () => {
    const prefix = freshPrefix();
    const timing = { leaseMs: 5_000, renewIntervalMs: 100, commandTimeoutMs: 100, restartGraceMs: 0 };
    const a = coordinator({ prefix, symbols: ['A', 'B', 'C', 'D'], instanceId: 'a', ...timing });
    const b = coordinator({ prefix, symbols: ['A', 'B', 'C', 'D'], instanceId: 'b', ...timing });
    await a.c.start();
    await until(() => a.c.owned().length === 4, 2_000, 'a owning all');
    await b.c.start();
    await until(() => a.c.owned().length + b.c.owned().length === 4 && b.c.owned().length > 0, 2_000, 'shared');
    const stoppedAt = Date.now();
    await a.c.stop();
    expect(
      a.events
        .filter((e) => e.kind === 'LEASE_LOST')
        .every((e) => e.kind === 'LEASE_LOST' && ['STOPPED', 'RELEASED'].includes(e.reason)),
    ).toBe(true);
    await until(() => b.c.owned().length === 4, 2_000, 'b owning all');
    expect(Date.now() - stoppedAt).toBeLessThan(1_000); // far less than the 5 s lease
  });

  it('a write that Redis refuses (the lease vanished there) ends ownership at once, and the symbol is claimed again under a new token', async () => {
    const prefix = freshPrefix();
    const { c, events } = coordinator({ prefix, symbols: ['A'] });
    await c.start();
    await until(() => c.owns('A'), 2_000, 'owning A');
    const token = c.tokenOf('A') as number;
    await (await connectTo(redis?.url ?? '')).del(`${prefix}lock:symbol:A`); // as if Redis lost it
    expect(await c.write('A', 'x')).toMatchObject({ ok: false, code: 'LEASE_NOT_HELD', token });
    expect(c.owns('A')).toBe(false);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'LEASE_LOST', symbol: 'A', reason: 'TAKEN' }));
    await until(() => c.owns('A'), 2_000, 'owning A again');
    expect(c.tokenOf('A')).toBeGreaterThan(token);
    expect((await c.write('A', 'y')).ok).toBe(true);
  });

  it('setSymbols: a new symbol is claimed, a removed one released', async () => {
    const { c, events } = coordinator({ prefix: freshPrefix(), symbols: ['A'] });
    await c.start();
    await until(() => c.owns('A'), 2_000, 'owning A');
    c.setSymbols(['B']);
    await until(() => c.owned().join() === 'B', 2_000, 'owning only B');
    expect(events).toContainEqual(expect.objectContaining({ kind: 'LEASE_LOST', symbol: 'A', reason: 'RELEASED' }));
    expect(() => c.setSymbols(['X', 'X'])).toThrow(/repeat/);
  });

  it('starts REDUCING when Redis is unreachable (start() still resolves), and goes ACTIVE once it is there', async () => {
    const port = await freePort();
    const { c, events } = coordinator({
      url: `redis://127.0.0.1:${String(port)}`,
      prefix: freshPrefix(),
      symbols: ['A'],
    });
    await c.start();
    expect(c.state).toBe('REDUCING');
    expect(c.health).toBe('UNAVAILABLE');
    expect(c.owned()).toEqual([]);
    expect(await c.tryTakeOrders()).toBe(false); // fails closed
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'COORDINATION_FAILED', code: 'COORDINATION_UNAVAILABLE' }),
    );
    // Engaging the kill switch without Redis halts this instance and says the others were not told.
    await expect(c.engageKillSwitch('no redis')).rejects.toSatisfy((e: unknown) =>
      isBulwarkError(e, 'COORDINATION_UNAVAILABLE'),
    );
    expect(c.state).toBe('HALTED');

    const server = await startRedis({ port });
    if (server !== undefined) extraServers.push(server);
    await until(() => c.health === 'HEALTHY' && c.owns('A'), 5_000, 'healthy and owning A');
    expect(c.state).toBe('HALTED'); // the local halt stays until released
    await c.releaseKillSwitch();
    expect(c.state).toBe('ACTIVE');
  });
});
