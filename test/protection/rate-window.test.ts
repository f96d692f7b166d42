import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSimBroker } from '../../src/testing/sim-broker.js';
import { runReplay } from '../../src/cli/replay.js';

const KEY = 'rate-key';
const SECRET = 'rate-secret';

/** `symbols` rising a little each minute (every stop trails: amends flow), `bars` minutes. */
async function writeData(symbols: number, bars: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-rate-'));
  const lines = ['timestamp,symbol,open,high,low,close,volume'];
  for (let t = 0; t < bars; t++) {
    for (let s = 0; s < symbols; s++) {
      const p = (40 + s) * (1 + 0.003 * t);
      lines.push(
        `${new Date(Date.parse('2026-03-02T14:30:00Z') + t * 60_000).toISOString()},R${s},${p},${p * 1.002},${p * 0.999},${p * 1.0015},1000`,
      );
    }
  }
  const path = join(dir, 'bars.csv');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('the broker limit, as the broker counts it: on receipt, in any sliding second', () => {
  it.each([
    [5, 20],
    [20, 100],
  ])(
    'limit %i with %i symbols: no sliding 1-second window of the broker’s receive times holds more',
    async (limit, symbols) => {
      const data = await writeData(symbols, 15);
      const broker = await startSimBroker({
        apiKey: KEY,
        apiSecret: SECRET,
        ordersPerSecond: limit,
        faults: { latencyMs: [0, 3] },
      });
      process.env['BULWARK_API_KEY'] = KEY; // an external broker's logon reads them
      process.env['BULWARK_API_SECRET'] = SECRET;
      try {
        const report = await runReplay({
          data,
          broker: broker.url,
          speed: 1e6,
          drainMs: 120_000,
          stateDir: await mkdtemp(join(tmpdir(), 'bulwark-rate-state-')),
          print: () => {},
        });
        expect(report.converged).toBe(true);
        expect(broker.receiveTimes.length).toBeGreaterThan(symbols); // placements and amends did flow
        expect(broker.maxInAnyWindow(1_000)).toBeLessThanOrEqual(limit);
      } finally {
        await broker.close();
      }
    },
    180_000,
  );
});
