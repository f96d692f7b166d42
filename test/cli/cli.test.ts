import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';
import { EXIT } from '../../src/cli/cli-error.js';
import { runReplay } from '../../src/cli/replay.js';
import { BulwarkMetrics } from '../../src/metrics/bulwark-metrics.js';
import { serveMetrics } from '../../src/metrics/metrics-server.js';

const DATA = new URL('../../data/demo-day.csv', import.meta.url).pathname;

describe('bulwark command line', () => {
  it('prints usage with the commands and exit codes; --help on each command prints its flags', async () => {
    const none = await cli();
    expect(none.code).toBe(EXIT.USAGE);
    expect(none.out).toMatch(/commands:[\s\S]*replay[\s\S]*broker[\s\S]*dlq list[\s\S]*dlq replay[\s\S]*bench/);
    expect(none.out).toMatch(/exit codes: 0 OK, 1 FAILURE, 2 USAGE, 3 NO_INPUT, 4 BROKER, 5 CHECK_FAILED/);
    expect((await cli('--help')).code).toBe(EXIT.OK);
    for (const args of [['replay'], ['broker'], ['dlq', 'list'], ['dlq', 'replay'], ['bench']]) {
      const r = await cli(...args, '--help');
      expect(r.code, args.join(' ')).toBe(EXIT.OK);
      expect(r.out, args.join(' ')).toMatch(new RegExp(`^bulwark ${args.join(' ')}`));
    }
  });

  it('refuses bad commands and flags with USAGE and says what is expected', async () => {
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(EXIT.USAGE);
    expect(unknown.err).toMatch(/^USAGE: unknown command "frobnicate"/);
    expect((await cli('dlq', 'purge')).err).toMatch(/unknown command "dlq purge"/);
    const flag = await cli('replay', '--bogus');
    expect(flag.code).toBe(EXIT.USAGE);
    expect(flag.err).toMatch(/Unknown option '--bogus'[\s\S]*bulwark replay \[--data/);
    const port = await cli('replay', '--metrics-port', 'eighty');
    expect(port.code).toBe(EXIT.USAGE);
    expect(port.err).toMatch(/--metrics-port must be an integer in \[0, 65535\], got "eighty"/);
    expect((await cli('replay', '--broker', 'http://x')).err).toMatch(/--broker must be a ws:\/\/ or wss:\/\/ URL/);
    expect((await cli('dlq', 'replay')).err).toMatch(/--broker ws:\/\/host:port is required/);
  });

  it('an unreadable data file exits NO_INPUT and names the file', async () => {
    const r = await cli('replay', '--data', '/nonexistent/bars.csv');
    expect(r.code).toBe(EXIT.NO_INPUT);
    expect(r.err).toMatch(/^NO_INPUT: cannot read the bar data \/nonexistent\/bars\.csv: check the path/);
  });

  it('an external broker without credentials exits USAGE; an unreachable one exits BROKER', async () => {
    const saved = { k: process.env['BULWARK_API_KEY'], s: process.env['BULWARK_API_SECRET'] };
    try {
      delete process.env['BULWARK_API_KEY'];
      delete process.env['BULWARK_API_SECRET'];
      const missing = await cli('replay', '--broker', 'ws://127.0.0.1:9');
      expect(missing.code).toBe(EXIT.USAGE);
      expect(missing.err).toMatch(/set BULWARK_API_KEY and BULWARK_API_SECRET/);
      const broker = await cli('broker');
      expect(broker.code).toBe(EXIT.USAGE);
    } finally {
      if (saved.k !== undefined) process.env['BULWARK_API_KEY'] = saved.k;
      if (saved.s !== undefined) process.env['BULWARK_API_SECRET'] = saved.s;
    }
    // Port 9 (discard) refuses connections on loopback: the adapter keeps retrying until the deadline.
    process.env['BULWARK_API_KEY'] ??= 'k';
    process.env['BULWARK_API_SECRET'] ??= 's';
    await expect(
      runReplay({
        data: DATA,
        broker: 'ws://127.0.0.1:9',
        stateDir: await mkdtemp(join(tmpdir(), 'bulwark-cli-')),
        connectTimeoutMs: 300,
        print: () => {},
      }),
    ).rejects.toMatchObject({
      code: 'BROKER',
      exitCode: EXIT.BROKER,
    });
  });

  it('replay --json prints one JSON line with the result', async () => {
    const r = await cli('replay', '--data', DATA, '--json');
    expect(r.code).toBe(EXIT.OK);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0] as string) as { summary: { batches: number }; deadLetters: number };
    expect(report.summary.batches).toBe(390);
    expect(report.deadLetters).toBe(0);
  });
});

describe('Prometheus metrics after a known replay', () => {
  it('names and values match the replay: bars, rejections, denials, stop actions, orders by lane and outcome, state, latency', async () => {
    const metrics = new BulwarkMetrics();
    const r = await runReplay({ data: DATA, metrics, print: () => {} });
    const server = await serveMetrics(metrics.registry, 0);
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      expect(value('bulwark_bars_total{outcome="accepted"}')).toBe(r.plugin.bars.accepted);
      expect(value('bulwark_bars_total{outcome="rejected"}')).toBe(0); // the engine refused the bad row before the plugin saw it
      // Denials by code (the ladder's and the demo's pre-trade limits'), each its own series.
      const denials = Object.entries(r.summary.deniedByCode);
      expect(denials.map(([c]) => c)).toEqual(
        expect.arrayContaining(['REDUCING_NEW_EXPOSURE', 'GROSS_EXPOSURE_LIMIT', 'DAILY_ORDER_LIMIT']),
      );
      for (const [code, n] of denials) expect(value(`bulwark_orders_denied_total{code="${code}"}`), code).toBe(n);
      expect(denials.reduce((a, [, n]) => a + n, 0)).toBe(r.summary.ordersDenied);
      expect(value('bulwark_stop_actions_total{action="placed"}')).toBe(r.plugin.stops.placed);
      expect(value('bulwark_stop_actions_total{action="moved"}')).toBe(r.plugin.stops.moved);
      expect(value('bulwark_stop_actions_total{action="triggered"}')).toBe(r.plugin.stops.triggered);
      expect(value('bulwark_trading_state{state="REDUCING"}')).toBe(1);
      expect(value('bulwark_protection_positions{state="unprotected"}')).toBe(0);
      expect(value('bulwark_protection_positions{state="pending"}')).toBe(0);
      expect(value('bulwark_trading_state{state="ACTIVE"}')).toBe(0);
      expect(value('bulwark_dead_letters')).toBe(0);
      expect(value('bulwark_egress_queue_depth')).toBe(0);
      expect(value('bulwark_drawdown_ratio')).toBeGreaterThan(0);
      // Every command the plugin sent (closes) and its stop reconciler sent (place, amend, cancel)
      // went out through the egress, stops in the PROTECTIVE lane and cancels in REDUCE; the
      // embedded broker injects no faults, so each was sent once and answered.
      const sent = value('bulwark_orders_total{lane="PROTECTIVE",outcome="SENT"}') ?? 0;
      const stops = r.stopCommands.place + r.stopCommands.amend + r.stopCommands.cancel;
      expect(sent + (value('bulwark_orders_total{lane="REDUCE",outcome="SENT"}') ?? 0)).toBe(
        r.plugin.commands.sent + stops,
      );
      // One latency observation per command settled, OK or not.
      const counts = text.split('\n').filter((l) => l.startsWith('bulwark_order_latency_seconds_count'));
      const observed = counts.reduce((a, l) => a + Number(l.split(' ').pop()), 0);
      expect(observed).toBe(r.plugin.commands.sent + r.plugin.commands.failed + stops);
      for (const name of [
        'bulwark_bars_total',
        'bulwark_rejections_total',
        'bulwark_orders_total',
        'bulwark_order_retries_total',
        'bulwark_breaker_transitions_total',
        'bulwark_order_latency_seconds',
      ]) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('the plugin exposes its own registry: a plugin used without the CLI has its metrics too', async () => {
    const { createRiskPlugin } = await import('../../src/plugin/risk-plugin.js');
    const plugin = createRiskPlugin();
    await plugin.onInit({
      now: () => 0,
      portfolio: { positions: async () => [] },
      orders: { send: async (c) => ({ ok: true, clientOrderId: c.clientOrderId }), openOrders: async () => [] },
    });
    await plugin.onBars([
      { symbol: 'AAA', timestamp: 1, open: 10, high: 11, low: 9, close: 10, volume: 5 },
      { symbol: 'BBB', timestamp: 1, open: 10, high: 9, low: 11, close: 10, volume: 5 }, // high < low
    ]);
    const text = await plugin.metrics.registry.metrics();
    expect(text).toContain('bulwark_bars_total{outcome="accepted"} 1');
    expect(text).toContain('bulwark_bars_total{outcome="rejected"} 1');
    expect(text).toContain('bulwark_rejections_total{code="INCONSISTENT_OHLC"} 1');
    expect(text).toContain('bulwark_trading_state{state="ACTIVE"} 1');
    await plugin.onDispose();
  });
});
