#!/usr/bin/env node
/**
 * The `bulwark` command.
 *
 *   bulwark replay --data file.csv [--broker ws://host:port] [--state-dir dir] [--report file.html] [--json]
 *   bulwark broker [--port N] [--host 127.0.0.1] [--rate 50] [--seed 1]
 *   bulwark dlq list [--state-dir dir]
 *   bulwark dlq replay --broker ws://host:port [--state-dir dir]
 *
 * Broker credentials come from BULWARK_API_KEY and BULWARK_API_SECRET (never printed).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSimBroker } from '../broker/sim-broker.js';
import { isBulwarkError } from '../errors.js';
import { listDeadLetters, replayDeadLetters } from './dlq.js';
import { runReplay } from './replay.js';

const USAGE = `usage:
  bulwark replay --data file.csv [--broker ws://host:port] [--state-dir dir] [--report file.html] [--json]
  bulwark broker [--port N] [--host 127.0.0.1] [--rate ordersPerSecond] [--seed N]
  bulwark dlq list [--state-dir dir]
  bulwark dlq replay --broker ws://host:port [--state-dir dir]
credentials: BULWARK_API_KEY, BULWARK_API_SECRET`;

/** The bundled demo day, the default `--data`. */
export const DEMO_DATA = fileURLToPath(new URL('../../data/demo-day.csv', import.meta.url));

/** Runs one `bulwark` command line; resolves with the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      broker: { type: 'string' },
      'state-dir': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub] = positionals;
  if (values.help === true || command === undefined) {
    console.log(USAGE);
    return values.help === true ? 0 : 2;
  }
  const stateDir = values['state-dir'];
  if (command === 'replay') {
    await runReplay({
      data: values.data ?? DEMO_DATA,
      ...(values.broker === undefined ? {} : { broker: values.broker }),
      ...(stateDir === undefined ? {} : { stateDir }),
      json: values.json === true,
      ...(values.report === undefined ? {} : { report: values.report }),
    });
    return 0;
  }
  if (command === 'broker') {
    const apiKey = process.env['BULWARK_API_KEY'];
    const apiSecret = process.env['BULWARK_API_SECRET'];
    if (apiKey === undefined || apiKey === '' || apiSecret === undefined || apiSecret === '') {
      console.error('INVALID_OPTION: set BULWARK_API_KEY and BULWARK_API_SECRET for the broker to check logons against');
      return 2;
    }
    const port = Number(values.port ?? 0);
    const rate = Number(values.rate ?? 50);
    const seed = Number(values.seed ?? 1);
    if (!Number.isInteger(port) || port < 0 || port > 65_535 || !Number.isInteger(rate) || rate < 1 || !Number.isInteger(seed)) {
      console.error('INVALID_OPTION: --port must be 0-65535, --rate a positive integer, --seed an integer');
      return 2;
    }
    const broker = await startSimBroker({ apiKey, apiSecret, port, host: values.host ?? '127.0.0.1', ordersPerSecond: rate, seed });
    console.log(`simulated broker listening on ${broker.url} (${rate} orders/s); Ctrl-C stops it`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await broker.close();
    return 0;
  }
  if (command === 'dlq' && sub === 'list') {
    await listDeadLetters(stateDir ?? '.bulwark');
    return 0;
  }
  if (command === 'dlq' && sub === 'replay') {
    if (values.broker === undefined) {
      console.error('INVALID_OPTION: dlq replay needs --broker ws://host:port');
      return 2;
    }
    await replayDeadLetters({ stateDir: stateDir ?? '.bulwark', broker: values.broker });
    return 0;
  }
  console.error(`unknown command: ${positionals.join(' ')}\n${USAGE}`);
  return 2;
}

// Run when executed (also through npm's bin symlink), not when imported.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(isBulwarkError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
