import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KillSwitch } from '../../src/coordination/kill-switch.js';
import { startRedis } from '../setup/redis.js';
import { closeAll, connectTo, freshPrefix } from './helpers.js';
import { Group, type Line } from './instances.js';

const redis = await startRedis();
afterAll(async () => {
  await closeAll();
  await redis?.stop();
});

const LEASE_MS = 600;
const RENEW_MS = 150;
const COMMAND_TIMEOUT_MS = 150;
/** Scheduling slack on a shared 2-vCPU machine: child processes, event output, one round's commands. */
const SLACK_MS = 300;
const SYMBOLS = Array.from({ length: 24 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const IDS = ['i-1', 'i-2', 'i-3'];

let group: Group | undefined;
afterEach(() => {
  group?.killAll();
  group = undefined;
});

/** Three instances on one prefix, started and owning exactly their rendezvous share. */
async function startThree(extra: Record<string, unknown> = {}): Promise<Group> {
  const g = new Group(SYMBOLS, {
    url: redis?.url,
    prefix: freshPrefix(),
    leaseMs: LEASE_MS,
    renewIntervalMs: RENEW_MS,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    reconnectMaxDelayMs: 200,
    writeOnAcquire: true,
    ...extra,
  });
  group = g;
  for (const id of IDS) g.spawn(id);
  await Promise.all(g.instances.map((i) => i.waitFor((l) => l.ev === 'started', 20_000, 'start')));
  await g.until(() => g.settled(), 10_000, 'settled on the rendezvous assignment');
  return g;
}

const isEvent = (kind: string, symbol?: string) => (l: Line) =>
  l.ev === 'event' && l['kind'] === kind && (symbol === undefined || l['symbol'] === symbol);

describe.skipIf(!redis)('three instances as processes on one redis-server', () => {
  it('(a) SIGKILL one: its symbols are owned by the others within the lease time (+ a renew interval), each by exactly one', async () => {
    const g = await startThree();
    const victim = g.get('i-2');
    const orphans = [...victim.owned()];
    expect(orphans.length).toBeGreaterThan(0);
    const survivorLines = g
      .live()
      .filter((i) => i !== victim)
      .map((i) => [i, i.lines.length] as const);
    victim.kill();
    const killedAt = victim.killedAt as number;
    await g.until(() => g.settled(), LEASE_MS + RENEW_MS + 5_000, 'settled on the two survivors');

    // When each orphan was taken over, by whom.
    const takeovers = orphans.map((symbol) => {
      const taken = g
        .live()
        .flatMap((i) => i.events('LEASE_ACQUIRED'))
        .filter((l) => l['symbol'] === symbol && (l['timestamp'] as number) > killedAt);
      expect(taken).toHaveLength(1);
      return (taken[0]?.['timestamp'] as number) - killedAt;
    });
    const slowest = Math.max(...takeovers);
    console.log(
      `(a) ${String(orphans.length)} orphaned symbols taken over ${Math.min(...takeovers).toFixed(0)}–${slowest.toFixed(0)} ms after SIGKILL (lease ${String(LEASE_MS)} ms, renew ${String(RENEW_MS)} ms)`,
    );
    expect(slowest).toBeLessThanOrEqual(LEASE_MS + RENEW_MS + SLACK_MS);
    // The survivors kept what they had: only the orphans moved.
    for (const [survivor, from] of survivorLines)
      expect(survivor.lines.slice(from).filter(isEvent('LEASE_LOST'))).toEqual([]);
    for (const symbol of SYMBOLS) expect(g.live().filter((i) => i.owned().has(symbol))).toHaveLength(1);
    expect(g.overlaps()).toEqual([]);
  });

  it('(b) SIGSTOP one past its lease, SIGCONT: its write with the old token is rejected by the fence, and it notices it lost its leases', async () => {
    const g = await startThree();
    const sleeper = g.get('i-1');
    const symbol = [...sleeper.owned()][0] as string;
    let from = sleeper.lines.length;
    sleeper.send({ cmd: 'hold', symbol });
    const held = await sleeper.waitFor((l) => l.ev === 'held', 5_000, 'held token', from);
    const oldToken = held['token'] as number;
    expect(oldToken).toBeGreaterThan(0);

    sleeper.pause();
    const others = g.live().filter((i) => i !== sleeper);
    // Another instance takes the symbol over and writes its position record with a newer token.
    await g.until(
      () =>
        others.some((i) =>
          i.lines.some(
            (l) =>
              l.ev === 'wrote' &&
              l['symbol'] === symbol &&
              (l['token'] as number) > oldToken &&
              (l['result'] as { ok: boolean }).ok,
          ),
        ),
      LEASE_MS * 2 + RENEW_MS + 5_000,
      `${symbol} taken over and written by another instance`,
    );
    const newOwner = others.find((i) => i.owned().has(symbol));
    const takenAt = newOwner
      ?.events('LEASE_ACQUIRED')
      .filter((l) => l['symbol'] === symbol)
      .at(-1)?.['timestamp'] as number;

    from = sleeper.lines.length;
    sleeper.resume();
    sleeper.send({ cmd: 'write-held' });
    const write = await sleeper.waitFor((l) => l.ev === 'held-write', 5_000, 'the stale write', from);
    expect(write['result']).toMatchObject({ ok: false, code: 'STALE_TOKEN', token: oldToken });
    expect((write['result'] as { highest: number }).highest).toBeGreaterThan(oldToken);

    const lost = await sleeper.waitFor(isEvent('LEASE_LOST', symbol), 5_000, `LEASE_LOST ${symbol}`);
    expect(lost['token']).toBe(oldToken);
    expect(lost['heldUntil'] as number).toBeLessThan(takenAt); // it had stopped before the new owner started
    // It rejoins: ownership settles on all three again, never two owners at once.
    await g.until(() => g.settled(), 10_000, 'settled again on three');
    expect(g.overlaps()).toEqual([]);
  });

  it('(c) the shared order budget holds across the three: grants per window ≤ capacity + rate × window', async () => {
    const capacity = 30;
    const rate = 30;
    const g = await startThree({ orderBudget: { capacity, refillPerSecond: rate } });
    const startedAt = Date.now();
    for (const i of g.instances) i.send({ cmd: 'hammer', ms: 1_000, lanes: 4 });
    const results = await Promise.all(
      g.instances.map((i) => i.waitFor((l) => l.ev === 'hammered', 10_000, 'hammer result')),
    );
    const endedAt = Date.now();
    const grants = results.flatMap((r) => r['grants'] as number[]).sort((a, b) => a - b);
    const denied = results.reduce((n, r) => n + (r['denied'] as number), 0);
    console.log(
      `(c) ${String(grants.length)} granted, ${String(denied)} denied over ${String(endedAt - startedAt)} ms by three processes (capacity ${String(capacity)}, ${String(rate)}/s)`,
    );
    // All grants happened between the first command and the last answer.
    expect(grants.length).toBeLessThanOrEqual(capacity + (rate * (endedAt - startedAt)) / 1_000);
    // Per 500 ms window of reply times: a reply arrives at most one command timeout after Redis granted it.
    const w = 500;
    let j = 0;
    for (let i = 0; i < grants.length; i++) {
      while ((grants[i] as number) - (grants[j] as number) > w) j++;
      expect(i - j + 1).toBeLessThanOrEqual(capacity + (rate * (w + COMMAND_TIMEOUT_MS)) / 1_000);
    }
    expect(grants.length).toBeGreaterThanOrEqual(capacity); // the budget was in use, not refusing
    expect(denied).toBeGreaterThan(grants.length);
    expect(g.overlaps()).toEqual([]);
  });

  it('(d) engaging the kill switch HALTs all three; an instance started afterwards starts HALTED; releasing resumes them', async () => {
    const g = await startThree();
    const sentAt = Date.now();
    g.get('i-3').send({ cmd: 'kill', reason: 'runaway strategy' });
    await g.until(() => g.live().every((i) => i.state() === 'HALTED'), 2_000, 'all HALTED');
    const halts = g.live().map((i) => (i.events('STATE_CHANGED').at(-1)?.['timestamp'] as number) - sentAt);
    console.log(
      `(d) HALTED ${Math.min(...halts).toFixed(0)}–${Math.max(...halts).toFixed(0)} ms after the kill command`,
    );
    for (const i of g.live())
      expect(i.events('KILL_SWITCH_ENGAGED').at(-1)).toMatchObject({ reason: 'runaway strategy', by: 'i-3' });

    const late = g.spawn('i-4');
    const started = await late.waitFor((l) => l.ev === 'started', 20_000, 'start');
    expect(started['state']).toBe('HALTED');
    expect(late.events('STATE_CHANGED').map((l) => l['to'])).toEqual(['HALTED']); // never ACTIVE
    // HALTED instances keep managing their positions (exits and protective orders need an owner).
    await g.until(() => g.settled(), 10_000, 'settled on four');

    await new KillSwitch(await connectTo(redis?.url ?? ''), { prefix: g.config['prefix'] as string }).release('ops');
    await g.until(() => g.live().every((i) => i.state() === 'ACTIVE'), 2_000, 'all ACTIVE again');
    expect(g.overlaps()).toEqual([]);
  });
});
