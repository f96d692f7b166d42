import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../setup/redis.js';
import { freshPrefix } from './helpers.js';
import { Group } from './instances.js';

let redis = await startRedis();
afterAll(async () => {
  await redis?.stop();
});

const LEASE_MS = 600;
const RENEW_MS = 150;
const COMMAND_TIMEOUT_MS = 150;
const SYMBOLS = Array.from({ length: 24 }, (_, i) => `F${String(i).padStart(2, '0')}`);

let group: Group | undefined;
afterEach(() => {
  group?.killAll();
  group = undefined;
});

describe.skipIf(!redis)('three instances when Redis fails', () => {
  it('(e) Redis paused past the command timeout, then stopped (connection refused): every instance goes REDUCING, its leases lapse, no symbol ever has two owners, and all recover', async () => {
    const server = redis as RedisServer;
    const g = new Group(SYMBOLS, {
      url: server.url,
      prefix: freshPrefix(),
      leaseMs: LEASE_MS,
      renewIntervalMs: RENEW_MS,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      reconnectMaxDelayMs: 200,
    });
    group = g;
    for (const id of ['i-1', 'i-2', 'i-3']) g.spawn(id);
    await Promise.all(g.instances.map((i) => i.waitFor((l) => l.ev === 'started', 20_000, 'start')));
    await g.until(() => g.settled() && g.live().every((i) => i.state() === 'ACTIVE'), 10_000, 'settled and ACTIVE');
    const outage = async (what: string, begin: () => void | Promise<void>) => {
      const startedAt = Date.now();
      await begin();
      await g.until(
        () => g.live().every((i) => i.state() === 'REDUCING'),
        COMMAND_TIMEOUT_MS + RENEW_MS + 2_000,
        `all REDUCING (${what})`,
      );
      const reducingAfter = Math.max(
        ...g.live().map((i) => (i.events('STATE_CHANGED').at(-1)?.['timestamp'] as number) - startedAt),
      );
      await g.until(() => g.live().every((i) => i.owned().size === 0), LEASE_MS + 2_000, `all leases lapsed (${what})`);
      const lapsedAfter = Math.max(
        ...g.live().flatMap((i) => i.events('LEASE_LOST').map((l) => (l['heldUntil'] as number) - startedAt)),
      );
      console.log(
        `(e) ${what}: all REDUCING within ${reducingAfter.toFixed(0)} ms, every lease given up within ${lapsedAfter.toFixed(0)} ms`,
      );
      // While Redis is unreachable nobody acquires anything.
      expect(
        g
          .live()
          .flatMap((i) => i.events('LEASE_ACQUIRED'))
          .filter((l) => (l['timestamp'] as number) > startedAt),
      ).toEqual([]);
      for (const i of g.live())
        expect(
          i
            .events('LEASE_LOST')
            .filter((l) => (l['timestamp'] as number) > startedAt)
            .every((l) => l['reason'] === 'EXPIRED'),
        ).toBe(true);
    };
    const recovered = (what: string) =>
      g.until(
        () => g.settled() && g.live().every((i) => i.state() === 'ACTIVE'),
        LEASE_MS * 2 + 10_000,
        `recovered: settled and ACTIVE (${what})`,
      );

    // Paused: connections stay open, every command times out.
    await outage('redis-server SIGSTOPped', () => server.pause());
    server.resume();
    await recovered('after SIGCONT');
    expect(g.overlaps()).toEqual([]);

    // Stopped: connections closed, reconnections refused.
    const tokensBefore = Math.max(
      ...g.live().flatMap((i) => i.events('LEASE_ACQUIRED').map((l) => l['token'] as number)),
    );
    await outage('redis-server stopped', () => server.stop());
    // It comes back empty (no persistence): leases wait out the restart grace, tokens keep increasing.
    const restartedAt = Date.now();
    redis = await startRedis({ port: server.port });
    await recovered('after a restart without data');
    const reacquired = g
      .live()
      .flatMap((i) => i.events('LEASE_ACQUIRED'))
      .filter((l) => (l['timestamp'] as number) > restartedAt);
    expect(reacquired).toHaveLength(SYMBOLS.length);
    for (const l of reacquired) {
      expect(l['token'] as number).toBeGreaterThan(tokensBefore);
      expect((l['timestamp'] as number) - restartedAt).toBeGreaterThanOrEqual(LEASE_MS - 50); // the restart grace
    }
    expect(g.overlaps()).toEqual([]);
  });
});
