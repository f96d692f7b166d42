import pino from 'pino';
import type { Kernels } from '../src/index.js';
import { createLogger } from '../src/logging/logger.js';
import { measure, nsPerUnit, table, type Row } from './harness.js';
import { run } from './plugin.bench.js';

const CALLS = 1_000_000;

/**
 * The cost of logging on the hot path (ISSUE-2983: eager log formatting). A pino debug call
 * with the level at info (disabled) against no call at all and against an enabled info call
 * to /dev/null; then the risk plugin's onBars (10 000 positions, detection at defaults) with a
 * pino logger at info — its per-move debug records are then not even built — beside no logger,
 * run alternately.
 */
export async function loggingCost(_k: Kernels): Promise<{ text: string; rows: Row[] }> {
  const off = createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const on = createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: true }) });
  let sink = 0;
  const rows = await measure(
    [
      {
        name: 'no log call (loop only)',
        units: CALLS,
        fn: () => {
          for (let i = 0; i < CALLS; i++) sink += i & 1;
        },
      },
      {
        name: 'logger.debug({…}) with the level at info',
        units: CALLS,
        fn: () => {
          for (let i = 0; i < CALLS; i++) {
            sink += i & 1;
            off.debug({ symbol: 'AAA', stop: i }, 'stop moved');
          }
        },
      },
      {
        name: 'isLevelEnabled("debug") guard',
        units: CALLS,
        fn: () => {
          for (let i = 0; i < CALLS; i++) {
            sink += i & 1;
            if (off.isLevelEnabled('debug')) off.debug({ symbol: 'AAA', stop: i }, 'stop moved');
          }
        },
      },
      {
        name: 'logger.info({…}) written (/dev/null)',
        units: CALLS / 100,
        fn: () => {
          for (let i = 0; i < CALLS / 100; i++) on.info({ symbol: 'AAA', stop: i }, 'stop moved');
        },
      },
    ],
    800,
    5,
  );
  if (sink < 0) console.log(sink);
  // The plugin with and without a logger, alternately (the machine drifts between runs).
  const plugin: Row[] = [];
  for (let round = 0; round < 2; round++) {
    for (const withLogger of [false, true]) {
      const m = await run({
        name: withLogger ? 'onBars, pino logger at info' : 'onBars, no logger',
        anomaly: {},
        ...(withLogger ? { services: { logger: off } } : {}),
      });
      await m.plugin.onDispose();
      const prev = plugin.find((r) => r.name === m.row.name);
      if (prev === undefined || m.row.msPerIteration < prev.msPerIteration)
        plugin.splice(prev === undefined ? plugin.length : plugin.indexOf(prev), prev === undefined ? 0 : 1, m.row);
    }
  }
  const [none, logged] = plugin as [Row, Row];
  const lines = [
    table('Logging on the hot path (pino 10)', 'call', rows),
    '',
    table(
      'Risk plugin onBars with a logger (10 000 positions, best of 2 alternating runs each)',
      'position-update',
      plugin,
    ),
    '',
    `- a disabled debug call costs ${(nsPerUnit(rows[1] as Row) - nsPerUnit(rows[0] as Row)).toFixed(1)} ns over the bare loop (a no-op method and the record object); pino's isLevelEnabled costs ${(nsPerUnit(rows[2] as Row) - nsPerUnit(rows[0] as Row)).toFixed(1)} ns a call, so the plugin reads the levels once per batch and builds a decision record only for a level that is on; an enabled record written synchronously costs ${nsPerUnit(rows[3] as Row).toFixed(0)} ns`,
    `- onBars with a logger at info: ${(100 * (nsPerUnit(logged) / nsPerUnit(none) - 1)).toFixed(1)} % vs none (within this machine's run-to-run noise of ±15 %: the stop-move records are not built at info)`,
  ];
  return { text: lines.join('\n'), rows: [...rows, ...plugin] };
}
