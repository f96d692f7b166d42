/**
 * One trading instance for the multi-instance tests, run as its own process:
 *   node --import tsx test/coordination/instance.ts '<json config>'
 * It prints one JSON line per coordinator event and per command answer, and reads commands
 * (JSON lines) on stdin: hold, write-held, hammer, kill, owned, stop.
 */
import { createInterface } from 'node:readline';
import { RedisCoordinator, type RedisCoordinatorOptions } from '../../src/coordination/index.js';
import { Fence } from '../../src/coordination/fencing.js';
import { closeRedisConnection, createRedisConnection } from '../../src/coordination/redis-connection.js';

interface Config extends RedisCoordinatorOptions {
  /** Write the position record (fenced) on every LEASE_ACQUIRED. */
  readonly writeOnAcquire?: boolean;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const print = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ id: config.instanceId, t: Date.now(), ...line })}\n`);
};

process.on('unhandledRejection', (e) => {
  print({ ev: 'crash', message: String(e) });
  process.exit(1);
});

const coordinator = new RedisCoordinator(config);
const fenceConnection = createRedisConnection({ url: config.url, commandTimeoutMs: config.commandTimeoutMs ?? 1_000 });
const fence = new Fence(fenceConnection, { prefix: config.prefix ?? 'bulwark:' });
let held: { symbol: string; token: number } | undefined;

coordinator.subscribe((event) => {
  print({ ev: 'event', ...event, state: coordinator.state });
  if (event.kind === 'LEASE_ACQUIRED' && config.writeOnAcquire === true) {
    coordinator.write(event.symbol, JSON.stringify({ owner: config.instanceId, token: event.token })).then(
      (result) => print({ ev: 'wrote', symbol: event.symbol, token: event.token, result }),
      (e: unknown) => print({ ev: 'wrote', symbol: event.symbol, token: event.token, error: String(e) }),
    );
  }
});

async function hammer(ms: number, lanes: number): Promise<void> {
  const grants: number[] = [];
  let denied = 0;
  const started = Date.now();
  const until = started + ms;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (Date.now() < until) {
        if (await coordinator.tryTakeOrders(1)) grants.push(Date.now());
        else denied++;
      }
    }),
  );
  print({ ev: 'hammered', started, ended: Date.now(), granted: grants.length, denied, grants });
}

async function command(line: string): Promise<void> {
  const cmd = JSON.parse(line) as { cmd: string; symbol?: string; ms?: number; lanes?: number; reason?: string };
  switch (cmd.cmd) {
    case 'hold': {
      // Remember the token now, as a write decided before a pause would.
      const symbol = cmd.symbol ?? '';
      const token = coordinator.tokenOf(symbol);
      held = token === undefined ? undefined : { symbol, token };
      print({ ev: 'held', symbol, token: token ?? null });
      return;
    }
    case 'write-held': {
      // The write that was in flight: no ownership check, the old token, straight to the fence.
      if (held === undefined) return print({ ev: 'held-write', error: 'nothing held' });
      const result = await fence.writeUnderLock(
        { name: `symbol:${held.symbol}`, owner: coordinator.instanceId, token: held.token },
        JSON.stringify({ owner: config.instanceId, token: held.token, stale: true }),
      );
      return print({ ev: 'held-write', symbol: held.symbol, result, ownsNow: coordinator.owns(held.symbol) });
    }
    case 'hammer':
      return hammer(cmd.ms ?? 1_000, cmd.lanes ?? 4);
    case 'kill':
      await coordinator.engageKillSwitch(cmd.reason ?? 'test');
      return print({ ev: 'killed' });
    case 'owned':
      return print({ ev: 'owned', symbols: coordinator.owned(), state: coordinator.state });
    case 'stop':
      await coordinator.stop();
      await closeRedisConnection(fenceConnection);
      print({ ev: 'stopped' });
      process.exit(0);
  }
}

await fenceConnection.connect().catch(() => undefined);
await coordinator.start();
print({ ev: 'started', state: coordinator.state, owned: coordinator.owned() });
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(() => command(line)).catch((e: unknown) => print({ ev: 'error', message: String(e) }));
});
