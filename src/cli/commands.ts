import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { startSimBroker } from '../testing/sim-broker.js';
import { startSimBinance } from '../testing/sim-binance.js';
import pino from 'pino';
import { createLogger } from '../logging/logger.js';
import { BulwarkMetrics } from '../metrics/bulwark-metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/metrics-server.js';
import { CliError, EXIT } from './cli-error.js';
import { listDeadLetters, replayDeadLetters } from './dlq.js';
import { checkInputFile, listenFailure, prepareOutputDir, prepareOutputFile, probeBroker } from './preflight.js';
import { runReplay } from './replay.js';
import { replayRiskConfig } from './replay-config.js';

type Values = Readonly<Record<string, string | boolean | undefined>>;

/** Where a command prints: results to `log`, diagnostics to `error`. */
export type Output = Pick<Console, 'log' | 'error'>;

/** The bundled demo day, the default `--data`. */
export const DEMO_DATA = fileURLToPath(new URL('../../data/demo-day.csv', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);

/** An integer flag in [min, max], or a USAGE error naming the flag. */
function intFlag(v: Values, k: string, fallback: number, min: number, max: number): number {
  const raw = str(v, k);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || n < min || n > max)
    throw new CliError('USAGE', `--${k} must be an integer in [${min}, ${max}], got "${raw}"`, EXIT.USAGE);
  return n;
}

function brokerUrl(v: Values, required: boolean): string | undefined {
  const url = str(v, 'broker');
  if (url === undefined) {
    if (required) throw new CliError('USAGE', '--broker ws://host:port is required', EXIT.USAGE);
    return undefined;
  }
  if (!/^wss?:\/\/[^\s/]+/.test(url))
    throw new CliError('USAGE', `--broker must be a ws:// or wss:// URL, got "${url}"`, EXIT.USAGE);
  return url;
}

/** `--venue ID [--venue-url URL] [--sandbox]`: a real venue through ccxt, or undefined; USAGE errors for misuse. */
function venueFlags(v: Values): { id: string; url?: string; sandbox?: boolean } | undefined {
  const id = str(v, 'venue');
  const url = str(v, 'venue-url');
  const sandbox = v['sandbox'] === true;
  if (id === undefined) {
    if (url !== undefined || sandbox)
      throw new CliError('USAGE', '--venue-url and --sandbox go with --venue <ccxt exchange id>', EXIT.USAGE);
    return undefined;
  }
  if (str(v, 'broker') !== undefined)
    throw new CliError('USAGE', '--broker and --venue are two ways to the market: give one', EXIT.USAGE);
  if (!/^[a-z0-9]+$/.test(id))
    throw new CliError('USAGE', `--venue takes a ccxt exchange id such as binance, got "${id}"`, EXIT.USAGE);
  if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url))
    throw new CliError('USAGE', `--venue-url must be an http:// or https:// URL, got "${url}"`, EXIT.USAGE);
  requireCredentials('the venue signs every order request with them');
  return { id, ...(url === undefined ? {} : { url }), ...(sandbox ? { sandbox } : {}) };
}

/** Resolves on Ctrl-C (SIGINT) or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** Lines in a file, counted by streaming (for the progress bar's total). */
async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path)) for (const byte of chunk as Buffer) if (byte === 10) n++;
  return n;
}

/** `bulwark replay`. */
export async function runReplayCommand(v: Values, out: Output = console): Promise<number> {
  const riskConfig = await replayRiskConfig(str(v, 'config'), v['shadow'] === true);
  if (v['print-config'] === true) {
    out.log(JSON.stringify(riskConfig, null, 2));
    return EXIT.OK;
  }
  const data = str(v, 'data') ?? DEMO_DATA;
  await checkInputFile(data, 'the bar data');
  const venue = venueFlags(v);
  const broker = brokerUrl(v, false);
  if (broker !== undefined) requireCredentials('an external broker needs them for the logon');
  const port = str(v, 'metrics-port') === undefined ? undefined : intFlag(v, 'metrics-port', 0, 0, 65_535);
  const maxRejectedRows = intFlag(v, 'max-rejected-rows', 20, 0, 100_000);
  const json = v['json'] === true;
  const level = str(v, 'log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level))
    throw new CliError('USAGE', `--log-level must be debug, info, warn, error or silent, got "${level}"`, EXIT.USAGE);
  const speed = str(v, 'speed') === undefined ? undefined : Number(str(v, 'speed'));
  if (speed !== undefined && !(speed > 0 && speed <= 1e6))
    throw new CliError('USAGE', `--speed must be a number in (0, 1000000], got "${str(v, 'speed')}"`, EXIT.USAGE);
  const drainMs = str(v, 'drain-ms') === undefined ? undefined : intFlag(v, 'drain-ms', 30_000, 0, 3_600_000);
  // A broker that refuses the connection fails now; every output is checked before any work: a replay never runs only to fail at the end.
  const logFile = str(v, 'log-file');
  const reportFile = str(v, 'report');
  const stateDir = str(v, 'state-dir') ?? (broker === undefined && venue === undefined ? undefined : '.bulwark');
  if (logFile !== undefined) await prepareOutputFile(logFile, 'the log file');
  if (reportFile !== undefined) await prepareOutputFile(reportFile, 'the report');
  if (broker !== undefined) await probeBroker(broker);
  if (venue?.url !== undefined) await probeBroker(venue.url);
  if (stateDir !== undefined) await prepareOutputDir(stateDir, 'the state folder');
  const logger =
    logFile === undefined
      ? undefined
      : createLogger({ level, destination: pino.destination({ dest: logFile, sync: false, mkdir: true }) });
  const metrics = port === undefined ? undefined : new BulwarkMetrics();
  let server: MetricsServer | undefined;
  if (metrics !== undefined && port !== undefined) {
    server = await serveMetrics(metrics.registry, port).catch((e: unknown) => {
      throw listenFailure(e, port, '127.0.0.1', '--metrics-port');
    });
    if (!json) out.error(`metrics at ${server.url}`);
  }
  // A progress bar on long replays, only when a person is watching (stderr is a terminal).
  const bar =
    process.stderr.isTTY === true && !json
      ? new SingleBar({
          format: 'replay [{bar}] {percentage}% {value}/{total} bars',
          hideCursor: true,
          stream: process.stderr,
        })
      : undefined;
  if (bar !== undefined) bar.start(Math.max((await countLines(data)) - 1, 1), 0);
  let done = 0;
  // SIGTERM (and Ctrl-C) stop feeding bars; the replay then drains its stops and reports.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let report: Awaited<ReturnType<typeof runReplay>>;
  try {
    report = await runReplay({
      data,
      ...(broker === undefined ? {} : { broker }),
      ...(venue === undefined ? {} : { venue }),
      riskConfig,
      maxRejectedRows,
      ...(stateDir === undefined ? {} : { stateDir }),
      ...(reportFile === undefined ? {} : { report: reportFile }),
      ...(metrics === undefined ? {} : { metrics }),
      ...(logger === undefined ? {} : { logger }),
      shadow: v['shadow'] === true,
      json,
      signal: stop.signal,
      ...(speed === undefined ? {} : { speed }),
      ...(drainMs === undefined ? {} : { drainMs }),
      afterBatch: (bars) => bar?.update((done += bars.length)),
      print: (line) => {
        bar?.stop();
        out.log(line);
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (server !== undefined) {
    if (process.stdout.isTTY === true) {
      out.error(`replay done; serving the final metrics at ${server.url} until Ctrl-C`);
      await untilStopped();
    }
    await server.close();
  }
  if (!report.converged) {
    out.error(
      `UNCONVERGED: ${report.protection.pending} pending and ${report.protection.unprotected} unprotected stops at the end (journaled as pending; the next start restores them first)`,
    );
    return EXIT.UNCONVERGED;
  }
  return EXIT.OK;
}

/** The API key and secret from the environment, or a USAGE error saying why they are needed. */
function requireCredentials(why: string): { apiKey: string; apiSecret: string } {
  const apiKey = process.env['BULWARK_API_KEY'];
  const apiSecret = process.env['BULWARK_API_SECRET'];
  if (apiKey === undefined || apiKey === '' || apiSecret === undefined || apiSecret === '') {
    throw new CliError('USAGE', `set BULWARK_API_KEY and BULWARK_API_SECRET: ${why}`, EXIT.USAGE);
  }
  return { apiKey, apiSecret };
}

/** `bulwark broker`. */
export async function runBroker(v: Values, out: Output = console): Promise<number> {
  const { apiKey, apiSecret } = requireCredentials('the broker checks logons against them');
  const port = intFlag(v, 'port', 0, 0, 65_535);
  const rate = intFlag(v, 'rate', 50, 1, 1_000_000);
  const seed = intFlag(v, 'seed', 1, -(2 ** 31), 2 ** 31 - 1);
  const host = str(v, 'host') ?? '127.0.0.1';
  const dialect = str(v, 'dialect') ?? 'bulwark';
  if (dialect !== 'bulwark' && dialect !== 'binance')
    throw new CliError('USAGE', `--dialect must be bulwark or binance, got "${dialect}"`, EXIT.USAGE);
  const started =
    dialect === 'binance'
      ? startSimBinance({ apiKey, apiSecret, port, host, ordersPer10s: rate * 10 })
      : startSimBroker({ apiKey, apiSecret, port, host, ordersPerSecond: rate, seed });
  const broker = await started.catch((e: unknown) => {
    throw listenFailure(e, port, host, '--port');
  });
  out.log(
    dialect === 'binance'
      ? `simulated Binance spot REST API on ${broker.url}/api/v3 (${rate * 10} orders per 10 s); Ctrl-C stops it`
      : `simulated broker listening on ${broker.url} (${rate} orders/s); Ctrl-C stops it`,
  );
  await untilStopped();
  await broker.close();
  return EXIT.OK;
}

/** `bulwark dlq list`. */
export async function runDlqList(v: Values, out: Output = console): Promise<number> {
  const stateDir = str(v, 'state-dir') ?? '.bulwark';
  const json = v['json'] === true;
  // A missing folder or queue file is an empty queue (nothing was ever dead-lettered there).
  if (!existsSync(join(stateDir, 'dlq.jsonl'))) {
    out.log(json ? JSON.stringify({ stateDir, deadLetters: [] }) : `no dead letters in ${stateDir}`);
    return EXIT.OK;
  }
  const entries = await listDeadLetters(stateDir, json ? () => undefined : (line) => out.log(line));
  if (json) out.log(JSON.stringify({ stateDir, deadLetters: entries }));
  return EXIT.OK;
}

/** `bulwark dlq replay`. */
export async function runDlqReplay(v: Values, out: Output = console): Promise<number> {
  const venue = venueFlags(v);
  const broker = brokerUrl(v, venue === undefined);
  if (broker === undefined && venue === undefined)
    throw new CliError('USAGE', '--broker ws://host:port (or --venue ID) is required', EXIT.USAGE);
  requireCredentials('the broker needs them for the logon');
  const stateDir = str(v, 'state-dir') ?? '.bulwark';
  if (!existsSync(join(stateDir, 'dlq.jsonl'))) {
    out.log(`no dead letters in ${stateDir}: nothing to replay`);
    return EXIT.OK;
  }
  const url = broker ?? venue?.url;
  if (url !== undefined) await probeBroker(url);
  const tally = await replayDeadLetters({
    stateDir,
    ...(broker === undefined ? {} : { broker }),
    ...(venue === undefined ? {} : { venue }),
    print: (line) => out.log(line),
  });
  return tally.kept > 0 ? EXIT.CHECK_FAILED : EXIT.OK;
}

/** `bulwark bench`: the repository's benchmark runner, in a child process with --expose-gc. */
export async function runBench(v: Values): Promise<number> {
  const script = `${ROOT}bench/index.ts`;
  if (!existsSync(script))
    throw new CliError(
      'NO_INPUT',
      'the benchmarks ship with the repository, not the package: run `npm run bench` in a checkout',
      EXIT.NO_INPUT,
    );
  const args = ['--expose-gc', '--import', 'tsx', script, ...(v['no-readme'] === true ? ['--no-readme'] : [])];
  const code = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' }).on('exit', resolve),
  );
  return code === 0 ? EXIT.OK : EXIT.FAILURE;
}
