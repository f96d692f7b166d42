#!/usr/bin/env node
/**
 * The `bulwark` command: `replay`, `broker`, `dlq list|replay`, `bench`; `--help` on each.
 * Exit codes are listed in {@link EXIT}. Broker credentials come from BULWARK_API_KEY and
 * BULWARK_API_SECRET (never printed).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isBulwarkError } from '../errors.js';
import { CliError, EXIT } from './cli-error.js';
import { runBench, runBroker, runDlqList, runDlqReplay, runReplayCommand, type Output } from './commands.js';

/** One subcommand: its usage text, its flags, and what it runs. */
interface Command {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly run: (values: Readonly<Record<string, string | boolean | undefined>>, out: Output) => Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  replay: {
    usage: `bulwark replay [--data file.csv] [--config risk.json] [--print-config] [--broker ws://host:port | --venue ID [--venue-url URL] [--sandbox]] [--speed X] [--drain-ms N] [--state-dir dir] [--report file.html] [--metrics-port N] [--log-file F] [--log-level L] [--max-rejected-rows N] [--shadow] [--json]

Replays bars (default: the bundled demo day) through the reference engine with the risk plugin;
its stops rest at a broker and every protective order goes through the resilient egress.
  --data FILE         CSV of timestamp,symbol,open,high,low,close,volume
  --config FILE       JSON risk configuration merged over the demo's (drawdown ladder, stop
                      rules, limits, anomaly settings); invalid: BAD_CONFIG, exit 2
  --print-config      print the effective risk configuration as JSON and exit
  --broker URL        a broker speaking the protocol (default: an embedded simulated broker,
                      run on the replay's own clock: each bar waits for the last bar's orders)
  --venue ID          a real venue through ccxt instead (npm install ccxt), by its ccxt id (binance);
                      credentials from BULWARK_API_KEY / BULWARK_API_SECRET; stops move there
                      by cancel-replace and round to the venue's own tick and lot filters
  --venue-url URL     the venue's REST API at another origin (a simulator: bulwark broker
                      --dialect binance; a proxy)
  --sandbox           the venue's testnet (ccxt's sandbox mode)
  --speed X           with --broker or --venue: bars replayed at X times wall time (default 1)
  --drain-ms N        at the end, how long to let the broker's stops converge (default 30000);
                      still unconverged: printed, journaled as pending, exit code 6
  --state-dir DIR     journal and dead-letter queue (default .bulwark with --broker or --venue,
                      else a temp dir)
  --report FILE       write a self-contained HTML report (its folder is created)
                      every output is checked before the replay starts: NO_OUTPUT, exit 7
  --metrics-port N    serve Prometheus metrics on http://127.0.0.1:N/metrics during the replay
                      (and afterwards until Ctrl-C when attached to a terminal)
  --log-file FILE     write every risk decision and order outcome as JSON lines (pino)
  --log-level LEVEL   debug (includes every stop move), info, warn, error, silent; default info
  --max-rejected-rows N  rejected bars located by line and code in the output, log and report
                      (default 20; the count is always exact)
  --shadow            decide and log everything, but send no order and deny none
  --json              print the result as one JSON line instead of the summary table`,
    options: {
      data: { type: 'string' },
      config: { type: 'string' },
      'print-config': { type: 'boolean' },
      'max-rejected-rows': { type: 'string' },
      broker: { type: 'string' },
      venue: { type: 'string' },
      'venue-url': { type: 'string' },
      sandbox: { type: 'boolean' },
      speed: { type: 'string' },
      'drain-ms': { type: 'string' },
      'state-dir': { type: 'string' },
      report: { type: 'string' },
      'metrics-port': { type: 'string' },
      'log-file': { type: 'string' },
      'log-level': { type: 'string' },
      shadow: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    run: runReplayCommand,
  },
  broker: {
    usage: `bulwark broker [--port N] [--host 127.0.0.1] [--rate ordersPerSecond] [--seed N] [--dialect bulwark|binance]

Runs the simulated broker until Ctrl-C. It checks logons against BULWARK_API_KEY / BULWARK_API_SECRET.
  --dialect binance   speak Binance's spot REST API (the subset ccxt uses; signed requests,
                      exchangeInfo filters, ORDERS windows) instead of Bulwark's WebSocket protocol`,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      dialect: { type: 'string' },
    },
    run: runBroker,
  },
  'dlq list': {
    usage: `bulwark dlq list [--state-dir dir] [--json]

Lists the dead-letter queue (default state dir .bulwark); a missing folder is an empty queue.`,
    options: { 'state-dir': { type: 'string' }, json: { type: 'boolean' } },
    run: runDlqList,
  },
  'dlq replay': {
    usage: `bulwark dlq replay (--broker ws://host:port | --venue ID [--venue-url URL] [--sandbox]) [--state-dir dir]

Asks the broker about each dead letter and re-sends only what it provably never executed.`,
    options: {
      broker: { type: 'string' },
      venue: { type: 'string' },
      'venue-url': { type: 'string' },
      sandbox: { type: 'boolean' },
      'state-dir': { type: 'string' },
    },
    run: runDlqReplay,
  },
  bench: {
    usage: `bulwark bench [--no-readme]

Runs the benchmarks (from a checkout of the repository) and rewrites the README's figures.`,
    options: { 'no-readme': { type: 'boolean' } },
    run: runBench,
  },
};

/** The first line of a command's usage, without `bulwark `. */
const synopsis = (c: Command) => (c.usage.split('\n')[0] ?? '').slice('bulwark '.length);

const USAGE = `usage: bulwark <command> [flags]   (bulwark <command> --help, or bulwark help <command>, for its flags)

commands:
${Object.values(COMMANDS)
  .map((c) => `  ${synopsis(c)}`)
  .join('\n')}

exit codes: ${Object.entries(EXIT)
  .map(([k, v]) => `${v} ${k}`)
  .join(', ')}
credentials: BULWARK_API_KEY, BULWARK_API_SECRET`;

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

const DLQ_USAGE = `usage: bulwark dlq <list|replay> [flags]   (bulwark dlq <list|replay> --help for its flags)

${Object.entries(COMMANDS)
  .filter(([name]) => name.startsWith('dlq '))
  .map(([, c]) => c.usage)
  .join('\n\n')}`;

/**
 * Runs one `bulwark` command line and resolves with the exit code; never throws (errors are
 * printed as `CODE: message` with what to do).
 *
 * @example
 * ```ts
 * process.exitCode = await main(['replay', '--data', 'bars.csv', '--json']);
 * ```
 */
export async function main(argv: readonly string[], out: Output = console): Promise<number> {
  const [first, second] = argv;
  if (first === 'help' && second !== undefined) return main([...argv.slice(1), '--help'], out); // help <command> [sub]
  if (first === undefined || isHelp(first) || first === 'help') {
    out.log(USAGE);
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (first === 'dlq' && (second === undefined || isHelp(second) || second === 'help')) {
    out.log(DLQ_USAGE);
    return second === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const name = first === 'dlq' ? `dlq ${second ?? ''}` : first;
  const command = COMMANDS[name];
  if (command === undefined) {
    out.error(`USAGE: unknown command "${argv.slice(0, first === 'dlq' ? 2 : 1).join(' ')}"\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const rest = argv.slice(first === 'dlq' ? 2 : 1);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    out.error(`USAGE: ${e instanceof Error ? e.message : String(e)}\n\n${command.usage}`);
    return EXIT.USAGE;
  }
  if (values['help'] === true) {
    out.log(command.usage);
    return EXIT.OK;
  }
  try {
    return await command.run(values, out);
  } catch (e) {
    if (e instanceof CliError) {
      out.error(e.message); // a BulwarkError: it starts with its code
      return e.exitCode;
    }
    out.error(isBulwarkError(e) ? e.message : `FAILED: ${e instanceof Error ? e.message : String(e)}`); // a BulwarkError's message starts with its code
    return EXIT.FAILURE;
  }
}

// Run when executed (also through npm's bin symlink), not when imported.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      // main() never rejects; if it ever did, say so and fail rather than leave it unhandled.
      console.error(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(EXIT.FAILURE);
    },
  );
}
