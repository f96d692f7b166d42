/**
 * The CLI's rough edges found trying it as a new user (issue 13): help everywhere, a port in
 * use, outputs checked before the replay, a directory as data, a missing state folder, a
 * refused connection, rejected rows located, --config / --print-config, zone-marked times and
 * the starting equity.
 */
import { createServer, type Server } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';
import { EXIT } from '../../src/cli/cli-error.js';
import { BULWARK_ERROR_CODES_BY_AREA } from '../../src/errors.js';

const HEADER = 'timestamp,symbol,open,high,low,close,volume';
/** A small CSV: two good bars, then bad rows at known lines (the header is line 1). */
const CSV = [
  HEADER,
  '2026-03-02T14:30:00Z,AAA,100,101,99,100.5,1000', // 2
  '2026-03-02T14:30:00Z,BBB,50,51,49,50.5,1000', // 3
  '2026-03-02T14:31:00Z,AAA,100,99,101,100,1000', // 4: high < low
  '2026-03-02T14:31:00Z,BBB,x,51,49,50,1000', // 5: not a number
  '2026-03-02T14:32:00Z,AAA,100.5,101,100,100.8,900', // 6
  '2026-03-02T14:32:00Z,BBB,-5,51,49,50,1000', // 7: negative
].join('\n');

let dir: string;
const servers: Server[] = [];
const env = { key: process.env['BULWARK_API_KEY'], secret: process.env['BULWARK_API_SECRET'] };
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-cli-edges-'));
  process.env['BULWARK_API_KEY'] = 'k';
  process.env['BULWARK_API_SECRET'] = 's';
});
afterEach(async () => {
  for (const [k, v] of [
    ['BULWARK_API_KEY', env.key],
    ['BULWARK_API_SECRET', env.secret],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A TCP port that something else holds. */
async function takenPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

describe('bulwark CLI edges', () => {
  it('help works for every command and subcommand: dlq --help, dlq -h, help <command>, help dlq list', async () => {
    for (const args of [
      ['dlq', '--help'],
      ['dlq', '-h'],
      ['help', 'dlq'],
      ['dlq', 'help'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(EXIT.OK);
      expect(r.out, args.join(' ')).toMatch(/bulwark dlq list[\s\S]*bulwark dlq replay/);
    }
    for (const [args, first] of [
      [['help', 'replay'], 'bulwark replay'],
      [['help', 'broker'], 'bulwark broker'],
      [['help', 'dlq', 'list'], 'bulwark dlq list'],
      [['help', 'dlq', 'replay'], 'bulwark dlq replay'],
      [['help', 'bench'], 'bulwark bench'],
    ] as const) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(EXIT.OK);
      expect(r.out.startsWith(first), args.join(' ')).toBe(true);
    }
    expect((await cli('dlq')).code).toBe(EXIT.USAGE); // no subcommand: usage, as with no command
    expect((await cli('help', 'frobnicate')).code).toBe(EXIT.USAGE);
  });

  it('a port in use is PORT_UNAVAILABLE (exit 8), for bulwark broker --port and replay --metrics-port', async () => {
    const port = await takenPort();
    const broker = await cli('broker', '--port', String(port));
    expect(broker.code).toBe(EXIT.PORT_UNAVAILABLE);
    expect(broker.err).toMatch(new RegExp(`^PORT_UNAVAILABLE: port ${port} on 127\\.0\\.0\\.1 is in use.*--port`, 'm'));
    expect(broker.err).not.toMatch(/at .*\.js:\d+/); // no stack trace
    const replay = await cli('replay', '--metrics-port', String(port), '--json');
    expect(replay.code).toBe(EXIT.PORT_UNAVAILABLE);
    expect(replay.err).toMatch(/--metrics-port/);
  });

  it('--report into a missing folder creates it; an output that cannot be written is NO_OUTPUT (exit 7) before anything runs', async () => {
    const data = join(dir, 'bars.csv');
    await writeFile(data, CSV);
    const report = join(dir, 'new', 'deeper', 'report.html');
    const ok = await cli('replay', '--data', data, '--report', report, '--json');
    expect(ok.code).toBe(EXIT.OK);
    expect(await readFile(report, 'utf8')).toMatch(/<html/i);

    const file = join(dir, 'a-file');
    await writeFile(file, '');
    for (const flags of [
      ['--report', join(file, 'r.html')], // a folder that is a file
      ['--report', dir], // a directory as the report file
      ['--log-file', join(file, 'log.jsonl')],
      ['--state-dir', file],
    ]) {
      const r = await cli('replay', '--data', data, ...flags, '--json');
      expect(r.code, flags.join(' ')).toBe(EXIT.NO_OUTPUT);
      expect(r.err, flags.join(' ')).toMatch(/^NO_OUTPUT: /m);
      expect(r.out, flags.join(' ')).toBe(''); // refused before the replay: no result printed
    }
  });

  it('a directory as --data is NO_INPUT (exit 3), saying it is a directory', async () => {
    const r = await cli('replay', '--data', dir);
    expect(r.code).toBe(EXIT.NO_INPUT);
    expect(r.err).toMatch(/^NO_INPUT: .*is a directory/m);
  });

  it('dlq list and dlq replay on a missing state folder: an empty queue, exit 0, no ENOENT', async () => {
    const missing = join(dir, 'no-such-folder');
    const list = await cli('dlq', 'list', '--state-dir', missing);
    expect([list.code, list.out.trim(), list.err]).toEqual([EXIT.OK, `no dead letters in ${missing}`, '']);
    const json = await cli('dlq', 'list', '--state-dir', missing, '--json');
    expect(JSON.parse(json.out)).toEqual({ stateDir: missing, deadLetters: [] });
    const replay = await cli('dlq', 'replay', '--broker', 'ws://127.0.0.1:1', '--state-dir', missing);
    expect(replay.code).toBe(EXIT.OK);
    expect(replay.out).toMatch(/nothing to replay/);
  });

  it('a refused connection fails at once with BROKER (exit 4), not after the 10 s logon timeout', async () => {
    const port = await closedPort();
    const started = performance.now();
    const r = await cli('replay', '--broker', `ws://127.0.0.1:${port}`, '--state-dir', join(dir, 'state'));
    const elapsed = performance.now() - started;
    expect(r.code).toBe(EXIT.BROKER);
    expect(r.err).toMatch(/^BROKER: .*ECONNREFUSED: connection refused/m);
    expect(elapsed).toBeLessThan(5_000); // the logon timeout is 10 000 ms
  });

  it('rejected rows are located by file line and code: in --json (capped by --max-rejected-rows), the log and the report', async () => {
    const data = join(dir, 'bars.csv');
    await writeFile(data, CSV);
    const json = await cli('replay', '--data', data, '--json');
    const result = JSON.parse(json.out) as {
      summary: { barsRejected: number };
      rejectedRows: { line: number; code: string }[];
      rejectedRowsNotListed: number;
    };
    expect(result.summary.barsRejected).toBe(3);
    expect(result.rejectedRows.map((r) => [r.line, r.code])).toEqual([
      [4, 'INCONSISTENT_OHLC'],
      [5, expect.stringMatching(/^[A-Z_]+$/)],
      [7, expect.stringMatching(/^[A-Z_]+$/)],
    ]);
    expect(result.rejectedRowsNotListed).toBe(0);

    const capped = JSON.parse((await cli('replay', '--data', data, '--json', '--max-rejected-rows', '1')).out) as {
      summary: { barsRejected: number };
      rejectedRows: { line: number }[];
      rejectedRowsNotListed: number;
    };
    expect([capped.summary.barsRejected, capped.rejectedRows.length, capped.rejectedRowsNotListed]).toEqual([3, 1, 2]);

    const log = join(dir, 'logs', 'replay.jsonl');
    const report = join(dir, 'report.html');
    const text = await cli('replay', '--data', data, '--log-file', log, '--report', report);
    expect(text.code).toBe(EXIT.OK);
    expect(text.out).toMatch(/line 4 INCONSISTENT_OHLC/);
    await expect.poll(async () => (await readFile(log, 'utf8').catch(() => '')).match(/BAR_REJECTED/g)?.length).toBe(3);
    const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes('BAR_REJECTED'));
    expect(lines.map((l) => (JSON.parse(l) as { line: number }).line)).toEqual([4, 5, 7]);
    expect(await readFile(report, 'utf8')).toMatch(/line 4 INCONSISTENT_OHLC/);
  });

  it('--print-config shows the demo risk configuration (its drawdown thresholds); --config merges a file over it; a bad file is BAD_CONFIG listing every problem', async () => {
    const demo = await cli('replay', '--print-config');
    expect(demo.code).toBe(EXIT.OK);
    const shown = JSON.parse(demo.out) as { drawdown: Record<string, number>; stops: { mode: string } };
    expect(shown.drawdown).toEqual({
      warnAt: 0.01,
      reduceAt: 0.03,
      haltAt: 0.05,
      resumeBelow: 0.008,
      cooldownMs: 1_200_000,
    });
    expect(shown.stops.mode).toBe('BROKER');

    const file = join(dir, 'risk.json');
    await writeFile(file, JSON.stringify({ drawdown: { haltAt: 0.04 } }));
    const merged = JSON.parse((await cli('replay', '--config', file, '--print-config')).out) as typeof shown;
    expect(merged.drawdown).toMatchObject({ warnAt: 0.01, haltAt: 0.04 });

    await writeFile(file, JSON.stringify({ drawdown: { haltAt: 2 }, stops: { policy: { rules: [] } } }));
    const bad = await cli('replay', '--config', file);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.err).toMatch(/^BAD_CONFIG: /m);
    expect(bad.err).toMatch(/haltAt/);
    expect(bad.err).toMatch(/rules/);
    await writeFile(file, '{ not json');
    expect((await cli('replay', '--config', file)).err).toMatch(/^BAD_CONFIG: .*not valid JSON/m);
    expect((await cli('replay', '--config', join(dir, 'missing.json'))).code).toBe(EXIT.NO_INPUT);
  });

  it('the summary marks times as UTC and shows the starting equity; --json carries startingEquity', async () => {
    const data = join(dir, 'bars.csv');
    await writeFile(data, CSV);
    const text = await cli('replay', '--data', data);
    expect(text.out).toMatch(/period {10}2026-03-02T14:30:00\.000Z to 2026-03-02T14:32:00\.000Z \(UTC\)/);
    expect(text.out).toMatch(/equity {10}starting 1000000, final \d+/);
    const json = JSON.parse((await cli('replay', '--data', data, '--json')).out) as { startingEquity: number };
    expect(json.startingEquity).toBe(1_000_000);
  });

  it('every CLI code has an exit status', () => {
    const exits: Record<string, number> = { ...EXIT, FAILED: EXIT.FAILURE, BAD_CONFIG: EXIT.USAGE };
    for (const code of BULWARK_ERROR_CODES_BY_AREA.cli) expect(exits[code], code).toBeTypeOf('number');
  });
});
