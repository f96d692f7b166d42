/**
 * The public surface is deliberate: each entry point of package.json's `exports` loads as a
 * user's project loads it, exports what the README tells users to construct, and nothing the
 * review called internal; deep imports are refused; and `api/*.api.md` (api-extractor's
 * report) matches the built declarations, so any change to the surface shows in review.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** The runtime export names of `specifier`, imported by a plain Node process from the project root. */
async function exportsOf(specifier: string): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`,
    ],
    { cwd: ROOT },
  );
  return JSON.parse(stdout) as string[];
}

const ENTRIES = [
  'bulwark',
  'bulwark/engine',
  'bulwark/egress',
  'bulwark/coordination',
  'bulwark/testing',
  'bulwark/ccxt',
] as const;

describe('the package entry points', () => {
  it('package.json exports exactly the six entry points (and package.json), each with types and a module', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; import: string }>;
    };
    expect(Object.keys(pkg.exports).sort()).toEqual(
      ['.', './ccxt', './coordination', './egress', './engine', './package.json', './testing'].sort(),
    );
    for (const [key, target] of Object.entries(pkg.exports)) {
      if (key === './package.json') continue;
      expect(target).toMatchObject({
        types: expect.stringMatching(/\.d\.ts$/),
        import: expect.stringMatching(/\.js$/),
      });
    }
  });

  it('each entry point loads in a plain Node process and exports what users construct', async () => {
    const names = Object.fromEntries(await Promise.all(ENTRIES.map(async (e) => [e, await exportsOf(e)] as const)));
    expect(names['bulwark']).toEqual(
      expect.arrayContaining([
        'createRiskPlugin',
        'RiskPlugin',
        'loadKernels',
        'BulwarkError',
        'isBulwarkError',
        'BulwarkMetrics',
        'createLogger',
      ]),
    );
    expect(names['bulwark/engine']).toEqual(expect.arrayContaining(['Engine', 'readCsvBars']));
    expect(names['bulwark/egress']).toEqual(
      expect.arrayContaining([
        'OrderEgress',
        'WsBrokerClient',
        'SlidingWindowRateLimiter',
        'VenueGuard',
        'OrderJournal',
        'DeadLetterQueue',
        'BrokerOrderService',
        'BulwarkMetrics',
        'serveMetrics',
        'createLogger',
      ]),
    );
    expect(names['bulwark/coordination']).toEqual(expect.arrayContaining(['RedisCoordinator', 'LocalCoordinator']));
    expect(names['bulwark/testing']).toEqual(
      expect.arrayContaining([
        'startSimBroker',
        'startSimBinance',
        'VirtualClock',
        'createDemoStrategy',
        'writeDemoCsv',
      ]),
    );
    expect(names['bulwark/ccxt']).toEqual(
      expect.arrayContaining(['classifyVenueError', 'filtersFromMarket', 'venueStop', 'marketFor']),
    );
    // What the review found exported by accident stays internal.
    const all = Object.values(names).flat();
    for (const internal of [
      'KeyedLock',
      'CommandCoalescer',
      'packedIndex',
      'windowBankBytes',
      'MAD_TO_SIGMA',
      'createRedisConnection',
      'rendezvousOwner',
      'PluginHost',
      'FillSimulator',
      'RateBudget',
      'FencedLock',
    ]) {
      expect(all, internal).not.toContain(internal);
    }
  });

  it('the library does not depend on the fixtures: only src/testing and the CLI import from src/testing', async () => {
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(join(ROOT, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'));
    const offenders: string[] = [];
    for (const f of files) {
      if (f.startsWith('testing/') || f.startsWith('cli/')) continue;
      const text = await readFile(join(ROOT, 'src', f), 'utf8');
      if (/from '(\.\.\/)+testing\//.test(text) || /from '\.\/testing\//.test(text)) offenders.push(f);
    }
    expect(offenders).toEqual([]);
    expect(files.filter((f) => f.startsWith('testing/')).sort()).toEqual(
      [
        'testing/demo-strategy.ts',
        'testing/generate-demo-data.ts',
        'testing/index.ts',
        'testing/sim-binance.ts',
        'testing/sim-book.ts',
        'testing/sim-broker.ts',
      ].sort(),
    );
  });

  it('deep imports into dist are refused (ERR_PACKAGE_PATH_NOT_EXPORTED): the entry points are the API', async () => {
    await expect(exportsOf('bulwark/dist/concurrency/keyed-lock.js')).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it('api/*.api.md matches the built declarations (npm run api:update accepts a deliberate change)', async () => {
    const report = await run(process.execPath, [join(ROOT, 'scripts/api-report.mjs')], { cwd: ROOT }).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    expect(report.stderr).toBe('');
    expect(report.stdout).toMatch(/6 entry points, \d+ exported names/);
  });
});
