import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { createDemoStrategy } from '../../src/testing/demo-strategy.js';
import { createLogger, REDACTION_DEPTH, type RiskLogger } from '../../src/logging/logger.js';
import { createRiskPlugin } from '../../src/plugin/risk-plugin.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';

const DATA = new URL('../../data/demo-day.csv', import.meta.url).pathname;

/** A pino destination that keeps the records, parsed. */
function memory() {
  const records: Record<string, unknown>[] = [];
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        records.push(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
        text = text.slice(nl + 1);
      }
      done();
    },
  });
  return { records, stream };
}

const CONFIG = {
  stops: {
    policy: {
      rules: [
        { kind: 'CHANDELIER' as const, multiple: 4 },
        { kind: 'PERCENT' as const, percent: 3 },
      ],
    },
  },
  drawdown: { warnAt: 0.01, reduceAt: 0.02, haltAt: 0.03, resumeBelow: 0.008, cooldownMs: 20 * 60_000 },
};

/** The demo day through the reference engine and a plugin logging to `logger`; the plugin's stats after. */
async function replayWith(logger: RiskLogger) {
  const engine = new Engine();
  const plugin = createRiskPlugin(CONFIG, { logger });
  engine.use(plugin);
  await engine.replay(DATA, { strategy: createDemoStrategy() });
  const s = plugin.stats();
  await engine.dispose();
  return s;
}

describe('structured risk logs (pino)', () => {
  it('one record per decision with its reason code and inputs; counts match the plugin’s own', async () => {
    const { records, stream } = memory();
    const s = await replayWith(createLogger({ level: 'debug', destination: stream }));
    const codes = (event: string) => records.filter((r) => r['event'] === event).map((r) => r['code'] as string);
    expect(codes('STOP').filter((c) => c === 'STOP_PLACED')).toHaveLength(s.stops.placed);
    expect(codes('STOP').filter((c) => c === 'STOP_MOVED')).toHaveLength(s.stops.moved);
    expect(codes('STOP').filter((c) => c === 'STOP_TRIGGERED')).toHaveLength(s.stops.triggered);
    expect(codes('STOP').filter((c) => c === 'STOP_SUPPRESSED')).toHaveLength(s.stops.suppressed);
    expect(codes('ORDER_DENIED')).toHaveLength(Object.values(s.orders.denied).reduce((a, n) => a + (n ?? 0), 0));
    expect(codes('STATE_CHANGED')).toHaveLength(s.transitions);
    expect(codes('ANOMALY_DETECTED')).toHaveLength(Object.values(s.anomalies).reduce((a, n) => a + (n ?? 0), 0));
    for (const r of records) {
      expect(r['code'], JSON.stringify(r)).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(r['component']).toBe('bulwark');
      expect(typeof r['time']).toBe('string');
    }
    // A moved stop carries what the rules saw.
    const moved = records.find((r) => r['code'] === 'STOP_MOVED') as {
      inputs: Record<string, number>;
      stop: number;
      previous: number;
      level: string;
    };
    expect(moved.level).toBe('debug');
    expect(Object.keys(moved.inputs).sort()).toEqual(['atr', 'close', 'highWater', 'lowWater']);
    expect(moved.inputs['close']).toBeGreaterThan(0);
    expect(moved.stop).not.toBe(moved.previous);
  });

  it('builds nothing for a disabled level: at info, no stop-move record is built or written', async () => {
    let built = 0;
    let debugCalls = 0;
    const logger: RiskLogger = {
      isLevelEnabled: (level) => level !== 'debug',
      debug: () => void debugCalls++,
      info: () => void built++,
      warn: () => void built++,
      error: () => void built++,
    };
    const s = await replayWith(logger);
    expect(s.stops.moved).toBeGreaterThan(1_000);
    expect(debugCalls).toBe(0);
    expect(built).toBeGreaterThan(0);
    expect(built).toBeLessThan(s.stops.moved); // placed/triggered/denied/states/anomalies only
  });

  it('redacts credentials and signatures wherever they are nested', () => {
    const { records, stream } = memory();
    const logger = createLogger({ destination: stream });
    logger.info(
      {
        apiKey: 'KEY-123',
        apiSecret: 'SECRET-456',
        request: { params: { signature: 'SIG-789' } },
        client: { apiSecret: 'S2' },
      },
      'logon',
    );
    const line = JSON.stringify(records[0]);
    for (const secret of ['KEY-123', 'SECRET-456', 'SIG-789', 'S2']) expect(line).not.toContain(secret);
    expect(records[0]).toMatchObject({
      apiKey: '[REDACTED]',
      apiSecret: '[REDACTED]',
      request: { params: { signature: '[REDACTED]' } },
    });
  });

  it('redacts every credential field at every depth up to REDACTION_DEPTH (second-level secret, password, authorization included)', () => {
    const { records, stream } = memory();
    const logger = createLogger({ destination: stream });
    const keys = ['apiKey', 'apiSecret', 'secret', 'signature', 'password', 'authorization'];
    const nest = (depth: number, leaf: Record<string, string>): Record<string, unknown> =>
      depth === 0 ? leaf : { a: nest(depth - 1, leaf) };
    for (let depth = 0; depth <= REDACTION_DEPTH; depth++) {
      const leaf = Object.fromEntries(keys.map((k) => [k, `V-${depth}-${k}`]));
      logger.info(nest(depth, leaf), 'nested');
    }
    expect(records).toHaveLength(REDACTION_DEPTH + 1);
    const text = JSON.stringify(records);
    for (let depth = 0; depth <= REDACTION_DEPTH; depth++)
      for (const k of keys) expect(text).not.toContain(`V-${depth}-${k}`);
  });
});

describe('shadow mode', () => {
  it('makes and logs every decision but sends no order and denies none', async () => {
    const { records, stream } = memory();
    const sent: ProtectiveCommand[] = [];
    const engine = new Engine();
    const plugin = createRiskPlugin(
      { ...CONFIG, stops: { ...CONFIG.stops, mode: 'BROKER' }, shadow: true },
      { logger: createLogger({ destination: stream }) },
    );
    const orders = engine.orders;
    // Watch the host's order path: nothing may reach it.
    const original = orders.send.bind(orders);
    (orders as { send: typeof orders.send }).send = (c) => (sent.push(c), original(c));
    engine.use(plugin);
    const summary = await engine.replay(DATA, { strategy: createDemoStrategy() });
    const s = plugin.stats();
    expect(s.stops.placed).toBeGreaterThan(0);
    expect(s.commands.sent).toBeGreaterThan(0); // decided and "sent" to the shadow sink…
    expect(sent).toEqual([]); // …never to the host
    expect(summary.ordersDenied).toBe(0);
    // The crash halted trading (nothing was protected for real): an entry would be denied, and is let through.
    expect(plugin.state).toBe('HALTED');
    expect(
      plugin.beforeOrder({
        clientOrderId: 'late-1',
        symbol: 'HALO',
        side: 'BUY',
        quantity: 1,
        type: 'MARKET',
        intent: 'ENTRY',
      }).allow,
    ).toBe(true);
    const wouldDeny = records.filter((r) => r['event'] === 'ORDER_DENIED');
    expect(wouldDeny).toHaveLength(1);
    expect(wouldDeny[0]).toMatchObject({
      code: 'TRADING_HALTED',
      shadow: true,
      msg: 'order would be denied (shadow: let through)',
    });
    expect(records.some((r) => r['event'] === 'STATE_CHANGED' && r['shadow'] === true)).toBe(true);
    await engine.dispose();
  });
});
