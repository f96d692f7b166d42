import { afterAll, describe, expect, it } from 'vitest';
import { type KillSwitchStatus } from '../../src/coordination/index.js';
import { KillSwitch, parseKillSwitchStatus } from '../../src/coordination/kill-switch.js';
import { startRedis } from '../setup/redis.js';
import { closeAll, connectTo, freshPrefix } from './helpers.js';

const redis = await startRedis();
afterAll(async () => {
  await closeAll();
  await redis?.stop();
});

/** Resolves with the first status for which `pred` holds. */
function next(
  statuses: KillSwitchStatus[],
  pred: (s: KillSwitchStatus) => boolean,
  timeoutMs = 2_000,
): Promise<KillSwitchStatus> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = () => {
      const hit = statuses.find(pred);
      if (hit !== undefined) resolve(hit);
      else if (Date.now() > deadline) reject(new Error('status not delivered in time'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe.skipIf(!redis)('KillSwitch on a real redis-server', () => {
  const url = () => redis?.url ?? '';

  it('is persisted: a process reading at start sees it engaged, with reason and who', async () => {
    const prefix = freshPrefix();
    const a = new KillSwitch(await connectTo(url()), { prefix });
    expect(await a.isEngaged()).toBe(false);
    await a.engage('runaway strategy', 'ops');
    const late = new KillSwitch(await connectTo(url()), { prefix });
    expect(await late.read()).toMatchObject({ engaged: true, reason: 'runaway strategy', by: 'ops' });
    await late.release('ops');
    expect(await a.isEngaged()).toBe(false);
  });

  it('is delivered to every subscriber, each on its own connection', async () => {
    const prefix = freshPrefix();
    const heard: KillSwitchStatus[][] = [[], [], []];
    await Promise.all(
      heard.map(async (list) => {
        const sw = new KillSwitch(await connectTo(url()), { prefix });
        await sw.subscribe(await connectTo(url()), (s) => list.push(s));
      }),
    );
    const { receivers } = await new KillSwitch(await connectTo(url()), { prefix }).engage(
      'drawdown breach',
      'instance-a',
    );
    expect(receivers).toBe(3);
    for (const list of heard) await next(list, (s) => s.engaged && s.reason === 'drawdown breach');
  });

  it('stamps every change with a higher version, so a stale status can be told apart', async () => {
    const sw = new KillSwitch(await connectTo(url()), { prefix: freshPrefix() });
    const engaged = await sw.engage('x', 'a');
    const released = await sw.release('a');
    expect(released.version).toBeGreaterThan(engaged.status.version);
    expect((await sw.read()).version).toBe(released.version);
  });

  it('re-reads the flag when the subscriber connection comes back (pub/sub is at most once)', async () => {
    const prefix = freshPrefix();
    const subscriber = await connectTo(url());
    const heard: KillSwitchStatus[] = [];
    const sw = new KillSwitch(await connectTo(url()), { prefix });
    await sw.subscribe(subscriber, (s) => heard.push(s));
    subscriber.disconnect(true); // reconnect
    await sw.engage('while you were away', 'ops');
    await next(heard, (s) => s.engaged);
  });
});

describe('parseKillSwitchStatus', () => {
  it('accepts only well-formed statuses', () => {
    expect(parseKillSwitchStatus('{"engaged":true,"reason":"r","by":"b","at":1,"version":2}')).toEqual({
      engaged: true,
      reason: 'r',
      by: 'b',
      at: 1,
      version: 2,
    });
    expect(parseKillSwitchStatus('{"engaged":false,"by":"b","at":1,"version":3}')).toEqual({
      engaged: false,
      by: 'b',
      at: 1,
      version: 3,
    });
    expect(parseKillSwitchStatus('{"engaged":true,"by":"b","at":1,"version":2}')).toBeUndefined();
    expect(parseKillSwitchStatus('nope')).toBeUndefined();
  });
});
