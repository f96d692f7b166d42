/**
 * The replay's HTML report shows what the pre-trade limits and protections did, when they are
 * configured: denials by code, exposure (gross, net, by group), the session's loss against its
 * limit, the locks in force.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replay.js';
import { DEMO_RISK_CONFIG } from '../../src/cli/replay-config.js';
import { DEMO_DATA } from '../../src/cli/commands.js';

describe('the replay report with limits and protections configured', () => {
  it('has rows for denials by code, exposure, the day loss and the locks, matching the result', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-report-limits-'));
    const report = join(dir, 'report.html');
    const result = await runReplay({
      data: DEMO_DATA,
      riskConfig: {
        ...DEMO_RISK_CONFIG,
        preTrade: { maxOrdersPerDay: 100, groups: { first: ['ACME', 'HALO'] }, maxGroupNotional: { first: 1e9 } },
        protections: { dailyLossLimit: { fraction: 0.5 }, cooldownAfterExitMs: 3_600_000 },
      },
      report,
      stateDir: join(dir, 'state'),
      print: () => {},
    });
    expect(result.plugin.orders.denied['DAILY_ORDER_LIMIT']).toBeGreaterThan(0);
    const html = await readFile(report, 'utf8');
    expect(html).toContain('denials by code');
    expect(html).toMatch(/DAILY_ORDER_LIMIT \d+/);
    expect(html).toContain('exposure gross / net at the end');
    expect(html).toMatch(/exposure by group<\/t[dh]><td>first \d+/);
    expect(html).toContain('the session&#39;s loss / its limit');
    expect(html).toContain('locks in force');
  }, 60_000);
});
