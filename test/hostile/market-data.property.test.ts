/**
 * Hostile input through the real plugin (issue 6, "Hostile input"): bars, fills, portfolio
 * snapshots, orders and configs that mix valid records with NaN, ±Infinity, zero and negative
 * prices, high < low, out-of-order and duplicate timestamps, huge numbers, long and odd symbols,
 * missing fields, wrong types, arrays for objects, prototype keys, throwing getters and proxies.
 * Every bad record gets a SCREAMING_SNAKE code and a count, nothing throws out of a hook, and
 * the valid records of the same batch do exactly what they would have done alone (a second
 * plugin fed only the valid records is the reference). Expectations come from the naive rules
 * in ./naive.ts, not from src/validation.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BulwarkError, createRiskPlugin, isBulwarkError } from '../../src/index.js';
import type { RiskEvent } from '../../src/plugin/risk-events.js';
import type { RiskPluginConfig } from '../../src/plugin/config.js';
import type { Bar, Fill } from '../../src/vocabulary/market.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import { fakeContext, MIN, T0 } from '../plugin/helpers.js';
import {
  fieldMutation,
  hostileNumbers,
  isRejectionCode,
  mutate,
  naiveBar,
  naiveFill,
  naiveOrder,
  naiveSnapshot,
  oddSymbols,
  oddTimestamps,
  sum,
  Tally,
  wrap,
  wrappings,
  type FieldMutation,
  type Wrapping,
} from './naive.js';

/** Valid symbols, odd ones included: prototype names, a slash, dots, the longest allowed. */
const POOL = ['AAA', 'BBB', 'CCC', 'constructor', 'toString', 'BTC/USD', 'es.c.0', 'x'.repeat(32)] as const;

async function started(config: RiskPluginConfig) {
  const plugin = createRiskPlugin(config);
  const { context, sent } = fakeContext({ now: () => T0 });
  await plugin.onInit(context);
  const events: RiskEvent[] = [];
  plugin.subscribe((e) => events.push(e));
  return { plugin, sent, events };
}

/** Lets the command lanes (async sends) settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
}

const wrapping: fc.Arbitrary<Wrapping> = fc.oneof(
  { arbitrary: fc.constant<Wrapping>('plain'), weight: 8 },
  { arbitrary: fc.constantFrom<Wrapping>(...wrappings), weight: 4 },
);

/** Calls a synchronous hook; fails the test if it throws. */
function noThrow<T>(f: () => T): T {
  let out: T | undefined;
  let thrown: unknown;
  let threw = false;
  try {
    out = f();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  expect(threw, `hook threw ${String(thrown)}`).toBe(false);
  return out as T;
}

function expectCodes(rejections: Readonly<Record<string, number | undefined>>): void {
  for (const code of Object.keys(rejections)) expect(isRejectionCode(code), code).toBe(true);
}

afterAll(() => {
  // No record's "__proto__" key reached a prototype.
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
});

// --- Bars ------------------------------------------------------------------------------------

type BarMutation =
  | { readonly kind: 'field'; readonly m: FieldMutation }
  | { readonly kind: 'swapHighLow' }
  | { readonly kind: 'closeAboveHigh' }
  | { readonly kind: 'openBelowLow' }
  | { readonly kind: 'scale'; readonly factor: number };

const PRICE_FIELDS = ['open', 'high', 'low', 'close', 'volume'];

const barMutation: fc.Arbitrary<BarMutation> = fc.oneof(
  fieldMutation(PRICE_FIELDS, hostileNumbers).map((m) => ({ kind: 'field' as const, m })),
  fieldMutation(['symbol'], oddSymbols).map((m) => ({ kind: 'field' as const, m })),
  fieldMutation(['timestamp'], oddTimestamps).map((m) => ({ kind: 'field' as const, m })),
  fc.constant({ kind: 'swapHighLow' as const }),
  fc.constant({ kind: 'closeAboveHigh' as const }),
  fc.constant({ kind: 'openBelowLow' as const }),
  fc.constantFrom(1e10, 1e12, 1e13, 1e14).map((factor) => ({ kind: 'scale' as const, factor })), // huge; some over maxPrice
);

const barSpec = fc.record({
  symbol: fc.constantFrom(...POOL),
  /** Minutes from the batch's time; ≤ 0 are often out of order or duplicates. */
  dt: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 2 }), weight: 4 },
    { arbitrary: fc.integer({ min: -4, max: -1 }), weight: 1 },
  ),
  /** The symbol's price walk: this bar's move from its last close. */
  move: fc.double({ min: -0.012, max: 0.015, noNaN: true }),
  up: fc.double({ min: 0, max: 0.01, noNaN: true }),
  down: fc.double({ min: 0, max: 0.01, noNaN: true }),
  openAt: fc.double({ min: 0, max: 1, noNaN: true }),
  volume: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
  tsForm: fc.constantFrom('number', 'number', 'number', 'iso', 'digits'),
  mutation: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: barMutation, weight: 1 }),
  wrapping,
  pick: fc.nat(),
});
type BarSpec = typeof barSpec extends fc.Arbitrary<infer T> ? T : never;

function barFields(s: BarSpec, batch: number, prices: Map<string, number>): Record<string, unknown> {
  const close = (prices.get(s.symbol) ?? 100) * (1 + s.move);
  prices.set(s.symbol, close);
  const low = close * (1 - s.down);
  const high = close * (1 + s.up);
  const open = Math.min(high, Math.max(low, low + s.openAt * (high - low)));
  const ms = T0 + (batch * 3 + s.dt) * MIN;
  const timestamp = s.tsForm === 'iso' ? new Date(ms).toISOString() : s.tsForm === 'digits' ? String(ms) : ms;
  let f: Record<string, unknown> = { symbol: s.symbol, timestamp, open, high, low, close, volume: s.volume };
  const m = s.mutation;
  if (m === null) return f;
  if (m.kind === 'field') f = mutate(f, m.m);
  else if (m.kind === 'swapHighLow') f = { ...f, high: low, low: high };
  else if (m.kind === 'closeAboveHigh') f = { ...f, close: high * 1.5 + 1 };
  else if (m.kind === 'openBelowLow') f = { ...f, open: low / 2 };
  else f = { ...f, open: open * m.factor, high: high * m.factor, low: low * m.factor, close: close * m.factor };
  return f;
}

type BatchShape = 'array' | 'notArray' | 'arrayLike' | 'revoked' | 'throwingIndex' | 'holes';

const batchSpec = fc.record({
  records: fc.array(barSpec, { maxLength: 16 }),
  shape: fc.oneof(
    { arbitrary: fc.constant<BatchShape>('array'), weight: 12 },
    { arbitrary: fc.constantFrom<BatchShape>('notArray', 'arrayLike', 'revoked', 'throwingIndex', 'holes'), weight: 3 },
  ),
  pick: fc.nat(),
});

/**
 * The batch as delivered, and what each of its elements reads as (undefined for an element that
 * cannot be read); `undefined` as the list when the batch is not an array at all.
 */
function materialiseBatch(
  spec: typeof batchSpec extends fc.Arbitrary<infer T> ? T : never,
  index: number,
  prices: Map<string, number>,
) {
  const raws = spec.records.map((r) => wrap(barFields(r, index, prices), r.wrapping, r.pick));
  const bad = raws.length === 0 ? -1 : spec.pick % raws.length;
  switch (spec.shape) {
    case 'array':
      return { batch: raws as unknown, elements: raws as unknown[] | undefined };
    case 'notArray': {
      const lone = { symbol: 'AAA', timestamp: T0, open: 1, high: 1, low: 1, close: 1, volume: 1 }; // one bar, not in an array
      const batch = [null, undefined, {}, 'bars', 42, lone][spec.pick % 6];
      return { batch, elements: undefined };
    }
    case 'arrayLike':
      return { batch: Object.assign({ length: raws.length }, raws), elements: undefined };
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable(raws, {});
      revoke();
      return { batch: proxy as unknown, elements: undefined };
    }
    case 'throwingIndex': {
      const batch = new Proxy(raws, {
        get(target, p) {
          if (p === String(bad)) throw new Error(`index ${bad}`);
          return Reflect.get(target, p);
        },
      });
      return { batch: batch as unknown, elements: raws.map((r, i) => (i === bad ? undefined : r)) };
    }
    case 'holes': {
      const holes = raws.slice();
      // eslint-disable-next-line @typescript-eslint/no-array-delete -- a sparse array (a hole) is what this case feeds
      if (bad >= 0) delete holes[bad];
      return { batch: holes as unknown, elements: raws.map((r, i) => (i === bad ? undefined : r)) };
    }
  }
}

/** The bar path's rules, stated naively: validation, then maxSymbols, then per-symbol time order. */
class BarModel {
  received = 0;
  accepted = 0;
  readonly tally = new Tally();
  readonly #last = new Map<string, number>();
  constructor(readonly maxSymbols: number) {}

  /** The bars of `elements` that the plugin should accept, in order. */
  batch(elements: readonly unknown[] | undefined): Bar[] {
    if (elements === undefined) {
      this.tally.add('MALFORMED_RECORD'); // the batch itself; no record was received
      return [];
    }
    const out: Bar[] = [];
    for (const raw of elements) {
      this.received++;
      const v = naiveBar(raw);
      if (!v.ok) {
        this.tally.add(v.code);
        continue;
      }
      const bar = v.value;
      if (!this.#last.has(bar.symbol) && this.#last.size >= this.maxSymbols) {
        this.tally.add('SYMBOL_LIMIT');
        continue;
      }
      const last = this.#last.get(bar.symbol) ?? Number.NEGATIVE_INFINITY;
      this.#last.set(bar.symbol, last);
      if (!(bar.timestamp > last)) {
        this.tally.add('NON_MONOTONIC_TIMESTAMP');
        continue;
      }
      this.#last.set(bar.symbol, bar.timestamp);
      this.accepted++;
      out.push(bar);
    }
    return out;
  }
}

const barConfig = (maxSymbols: number): RiskPluginConfig => ({
  limits: { maxSymbols },
  stops: {
    atrPeriod: 3,
    policy: {
      rules: [
        { kind: 'PERCENT', percent: 5 },
        { kind: 'CHANDELIER', multiple: 2 },
      ],
    },
  },
});

const commandsOf = (sent: readonly ProtectiveCommand[]) =>
  sent.map((c) => [c.kind, c.symbol, 'quantity' in c ? c.quantity : undefined]);

const withoutBadTicks = (a: Readonly<Record<string, number | undefined>>) =>
  Object.fromEntries(Object.entries(a).filter(([k]) => k !== 'BAD_TICK'));

describe('hostile bars through onBars', () => {
  it('never throw; accepted = the valid, in-order records; every rejection coded and counted; valid bars move stops as if alone (property)', async () => {
    const started0 = performance.now();
    const seen = new Set<string>();
    const totals = { accepted: 0, rejected: 0, moved: 0, triggered: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(6, 16),
        fc.array(fc.constantFrom('LONG', 'SHORT', null), { minLength: POOL.length, maxLength: POOL.length }),
        fc.array(batchSpec, { minLength: 1, maxLength: 12 }),
        async (maxSymbols, sides, batches) => {
          const hostile = await started(barConfig(maxSymbols));
          const reference = await started(barConfig(maxSymbols));
          const positions = POOL.flatMap((symbol, i) => {
            const side = sides[i];
            return side === null || side === undefined
              ? []
              : [{ symbol, side, quantity: 10, entryPrice: 100, openedAt: T0 - MIN }];
          });
          hostile.plugin.onPortfolio({ timestamp: T0 - MIN, equity: 1e6, positions });
          reference.plugin.onPortfolio({ timestamp: T0 - MIN, equity: 1e6, positions });
          const model = new BarModel(maxSymbols);
          const prices = new Map<string, number>();
          for (let b = 0; b < batches.length; b++) {
            const { batch, elements } = materialiseBatch(batches[b] as never, b + 1, prices);
            const valid = model.batch(elements);
            const pending = noThrow(() => hostile.plugin.onBars(batch as readonly Bar[]));
            await expect(pending).resolves.toBeUndefined();
            await reference.plugin.onBars(valid);

            const s = hostile.plugin.stats();
            expect(s.bars.received).toBe(model.received);
            expect(s.bars.accepted).toBe(model.accepted);
            expect(s.bars.rejected).toBe(model.received - model.accepted);
            expect(s.rejections).toEqual(model.tally.counts);
            expectCodes(s.rejections);
            const batchLevel = model.tally.total - (model.received - model.accepted); // whole batches that were not arrays
            expect(sum(s.rejections)).toBe(s.bars.rejected + batchLevel);

            const r = reference.plugin.stats();
            expect(r.bars).toMatchObject({ accepted: model.accepted, rejected: 0 });
            for (const symbol of POOL)
              expect(hostile.plugin.stopOf(symbol), symbol).toEqual(reference.plugin.stopOf(symbol));
            expect(s.stops).toEqual(r.stops);
            expect(s.symbols).toBe(r.symbols);
            expect(s.state).toBe(r.state);
            expect(withoutBadTicks(s.anomalies)).toEqual(withoutBadTicks(r.anomalies));
          }
          await Promise.all([hostile.plugin.onDispose(), reference.plugin.onDispose()]);
          expect(commandsOf(hostile.sent)).toEqual(commandsOf(reference.sent));
          for (const code of Object.keys(model.tally.counts)) seen.add(code);
          const s = hostile.plugin.stats();
          totals.accepted += s.bars.accepted;
          totals.rejected += s.bars.rejected;
          totals.moved += s.stops.moved;
          totals.triggered += s.stops.triggered;
        },
      ),
      { seed: 6001, numRuns: 200 },
    );
    console.log(`hostile bars: ${(performance.now() - started0).toFixed(0)} ms`, totals, [...seen].sort());
    // Not vacuous: every kind of rejection happened, and plenty of valid bars moved and fired stops.
    for (const code of [
      'MALFORMED_RECORD',
      'MISSING_FIELD',
      'INVALID_SYMBOL',
      'INVALID_TIMESTAMP',
      'NON_MONOTONIC_TIMESTAMP',
      'NON_FINITE_VALUE',
      'NON_POSITIVE_PRICE',
      'INCONSISTENT_OHLC',
      'NEGATIVE_VOLUME',
      'VALUE_OUT_OF_RANGE',
      'SYMBOL_LIMIT',
    ]) {
      expect(seen.has(code), code).toBe(true);
    }
    expect(totals.accepted).toBeGreaterThan(2_000);
    expect(totals.rejected).toBeGreaterThan(1_000);
    expect(totals.moved).toBeGreaterThan(100);
    expect(totals.triggered).toBeGreaterThan(20);
  });

  it('a bar with a throwing getter, a revoked proxy or a throwing index is MALFORMED_RECORD, and the rest of the batch goes through', async () => {
    const { plugin } = await started(barConfig(16));
    const good = (symbol: string, m = 1) => ({
      symbol,
      timestamp: T0 + m * MIN,
      open: 100,
      high: 101,
      low: 99,
      close: 100,
      volume: 5,
    });
    const getter = Object.defineProperty(good('BBB'), 'close', {
      get() {
        throw new TypeError('no close for you');
      },
    });
    const { proxy, revoke } = Proxy.revocable(good('CCC'), {});
    revoke();
    const trap = new Proxy(good('DDD'), {
      get() {
        throw new RangeError('trap');
      },
    });
    await plugin.onBars([good('AAA'), getter, proxy, trap, good('EEE')] as Bar[]);
    const batch = new Proxy([good('AAA', 2), good('FFF', 2)], {
      get(t, p) {
        if (p === '0') throw new Error('index 0');
        return Reflect.get(t, p);
      },
    });
    await plugin.onBars(batch);
    const { proxy: revokedBatch, revoke: r2 } = Proxy.revocable([good('GGG')], {});
    r2();
    await plugin.onBars(revokedBatch);
    const s = plugin.stats();
    expect(s.bars).toMatchObject({ received: 7, accepted: 3 });
    expect(s.rejections).toEqual({ MALFORMED_RECORD: 5 }); // getter, revoked, trap, index 0, the revoked batch
    expect(s.symbols).toBe(3);
  });
});

// --- Fills -----------------------------------------------------------------------------------

const ID_VALUES: readonly unknown[] = ['', 'x'.repeat(65), 'x'.repeat(64), 5, null, undefined, ['id'], { id: 1 }];
const SIDE_VALUES: readonly unknown[] = ['buy', 'HOLD', 'LONG', '', 'BUY ', 0, null, undefined];

const fillSpec = fc.record({
  fill: fc.integer({ min: 0, max: 30 }), // small: duplicate fill ids happen
  order: fc.constantFrom('stop', 'stop', 'other'),
  symbol: fc.constantFrom(...POOL),
  otherSymbol: fc.boolean(), // the stop's order id under another symbol
  side: fc.constantFrom('BUY', 'SELL'),
  quantity: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
  price: fc.double({ min: 1, max: 200, noNaN: true }),
  dt: fc.integer({ min: -5, max: 5 }),
  mutation: fc.option(
    fc.oneof(
      fieldMutation(['fillId', 'orderId'], ID_VALUES),
      fieldMutation(['symbol'], oddSymbols),
      fieldMutation(['side'], SIDE_VALUES),
      fieldMutation(['quantity', 'price'], hostileNumbers),
      fieldMutation(['timestamp'], oddTimestamps),
    ),
    { freq: 2 },
  ),
  wrapping,
  pick: fc.nat(),
});
type FillSpec = typeof fillSpec extends fc.Arbitrary<infer T> ? T : never;

function fillFields(s: FillSpec, stopIds: ReadonlyMap<string, string>): Record<string, unknown> {
  const symbol = s.otherSymbol ? (POOL[(POOL.indexOf(s.symbol) + 1) % POOL.length] as string) : s.symbol;
  const orderId = s.order === 'stop' ? (stopIds.get(s.symbol) ?? 'no-such-stop') : `ext-${s.fill}`;
  const f = {
    fillId: `f${s.fill}`,
    orderId,
    symbol,
    side: s.side,
    quantity: s.quantity,
    price: s.price,
    timestamp: T0 + s.dt * MIN,
  };
  return mutate(f, s.mutation ?? undefined);
}

/** BROKER mode: every position's stop is placed at once (PERCENT), so its client id is known. */
const fillConfig: RiskPluginConfig = {
  stops: { mode: 'BROKER', policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } },
};

describe('hostile fills through onFill', () => {
  it('never throw; fills.rejected and the codes match the naive rules; valid fills close exactly the stops they would alone (property)', async () => {
    const seen = new Set<string>();
    let triggered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('LONG', 'SHORT', null), { minLength: POOL.length, maxLength: POOL.length }),
        fc.array(fillSpec, { minLength: 1, maxLength: 25 }),
        async (sides, fills) => {
          const hostile = await started(fillConfig);
          const reference = await started(fillConfig);
          const positions = POOL.flatMap((symbol, i) => {
            const side = sides[i];
            return side === null || side === undefined
              ? []
              : [{ symbol, side, quantity: 10, entryPrice: 100, openedAt: T0 }];
          });
          for (const p of [hostile, reference]) p.plugin.onPortfolio({ timestamp: T0, equity: 1e6, positions });
          await settle();
          const idsOf = (sent: readonly ProtectiveCommand[]) =>
            new Map(sent.filter((c) => c.kind === 'PLACE_STOP').map((c) => [c.symbol, c.clientOrderId]));
          const hostileIds = idsOf(hostile.sent);
          const referenceIds = idsOf(reference.sent);
          expect(hostileIds.size).toBe(positions.length);
          const tally = new Tally();
          let rejected = 0;
          for (const spec of fills) {
            const fields = fillFields(spec, hostileIds);
            const raw = wrap(fields, spec.wrapping, spec.pick);
            const v = naiveFill(raw);
            noThrow(() => hostile.plugin.onFill(raw as Fill));
            if (!v.ok) {
              tally.add(v.code);
              rejected++;
              continue;
            }
            // The reference gets the same fill, naming its own stop's id.
            const mine = naiveFill(fillFields(spec, referenceIds));
            expect(mine.ok).toBe(true);
            if (mine.ok) reference.plugin.onFill(mine.value);
          }
          const s = hostile.plugin.stats();
          expect(s.fills).toEqual({ received: fills.length, rejected });
          expect(s.rejections).toEqual(tally.counts);
          expectCodes(s.rejections);
          expect(sum(s.rejections)).toBe(rejected);
          expect(reference.plugin.stats().fills).toEqual({ received: fills.length - rejected, rejected: 0 });
          for (const symbol of POOL)
            expect(hostile.plugin.stopOf(symbol), symbol).toEqual(reference.plugin.stopOf(symbol));
          expect(s.stops).toEqual(reference.plugin.stats().stops);
          await Promise.all([hostile.plugin.onDispose(), reference.plugin.onDispose()]);
          for (const code of Object.keys(tally.counts)) seen.add(code);
          triggered += s.stops.triggered;
        },
      ),
      { seed: 6002, numRuns: 100 },
    );
    for (const code of [
      'MALFORMED_RECORD',
      'MISSING_FIELD',
      'INVALID_SYMBOL',
      'INVALID_SIDE',
      'INVALID_QUANTITY',
      'INVALID_TIMESTAMP',
      'NON_FINITE_VALUE',
      'NON_POSITIVE_PRICE',
      'VALUE_OUT_OF_RANGE',
    ]) {
      expect(seen.has(code), code).toBe(true);
    }
    // Valid fills of whole stop orders did trigger them (a partial fill leaves the size to the host's next snapshot).
    expect(triggered).toBeGreaterThan(25);
  });
});

// --- Portfolio snapshots ---------------------------------------------------------------------

const positionSpec = fc.record({
  symbol: fc.constantFrom(...POOL),
  side: fc.constantFrom('LONG', 'SHORT'),
  quantity: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
  entryPrice: fc.double({ min: 1, max: 200, noNaN: true }),
  mutation: fc.option(
    fc.oneof(
      fieldMutation(['symbol'], oddSymbols),
      fieldMutation(['side'], ['BUY', 'long', '', 'FLAT', null, undefined, 1]),
      fieldMutation(['quantity', 'entryPrice'], hostileNumbers),
      fieldMutation(['openedAt'], oddTimestamps),
    ),
    { freq: 3 },
  ),
  wrapping,
  pick: fc.nat(),
});

const snapshotSpec = fc.record({
  dt: fc.integer({ min: -2, max: 3 }), // ≤ 0: not after the last equity point
  equity: fc.double({ min: 500, max: 1_500, noNaN: true }),
  positions: fc.array(positionSpec, { maxLength: 10 }),
  mutation: fc.option(
    fc.oneof(
      fieldMutation(['equity'], hostileNumbers),
      fieldMutation(['timestamp'], oddTimestamps),
      fieldMutation(['positions'], [null, {}, 'positions', 5, { length: 1, 0: {} }, undefined]),
    ),
    { freq: 5 },
  ),
  wrapping,
  pick: fc.nat(),
});
type SnapshotSpec = typeof snapshotSpec extends fc.Arbitrary<infer T> ? T : never;

function snapshotRaw(s: SnapshotSpec, index: number): unknown {
  const positions = s.positions.map((p) =>
    wrap(
      mutate(
        { symbol: p.symbol, side: p.side, quantity: p.quantity, entryPrice: p.entryPrice, openedAt: T0 },
        p.mutation ?? undefined,
      ),
      p.wrapping,
      p.pick,
    ),
  );
  const fields = mutate(
    { timestamp: T0 + (index * 2 + s.dt) * MIN, equity: s.equity, positions },
    s.mutation ?? undefined,
  );
  return wrap(fields, s.wrapping, s.pick);
}

describe('hostile portfolio snapshots through onPortfolio', () => {
  it('never throw; bad snapshots and bad positions are coded and counted; the good positions get the stops they would alone (property)', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(2, 100),
        fc.array(snapshotSpec, { minLength: 1, maxLength: 10 }),
        async (maxPositions, snapshots) => {
          const config: RiskPluginConfig = {
            limits: { maxPositions },
            stops: { policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } },
          };
          const hostile = await started(config);
          const reference = await started(config);
          const tally = new Tally();
          let rejected = 0;
          let lastEquityAt: number | undefined;
          let held = 0;
          for (let i = 0; i < snapshots.length; i++) {
            const raw = snapshotRaw(snapshots[i] as SnapshotSpec, i);
            const v = naiveSnapshot(raw, maxPositions);
            noThrow(() => hostile.plugin.onPortfolio(raw as never));
            if (!v.ok) {
              tally.add(v.code);
              rejected++;
              continue;
            }
            for (const code of v.value.rejected) tally.add(code);
            const { snapshot } = v.value;
            held = snapshot.positions.length; // closed positions go first, so none is refused at the limit
            if (lastEquityAt !== undefined && !(snapshot.timestamp > lastEquityAt)) {
              tally.add('NON_MONOTONIC_TIMESTAMP');
              rejected++;
            } else lastEquityAt = snapshot.timestamp;
            reference.plugin.onPortfolio(snapshot);
            const s = hostile.plugin.stats();
            expect(s.positions).toBe(held);
            for (const symbol of POOL)
              expect(hostile.plugin.stopOf(symbol), symbol).toEqual(reference.plugin.stopOf(symbol));
          }
          const s = hostile.plugin.stats();
          expect(s.snapshots).toMatchObject({ received: snapshots.length, rejected });
          expect(s.rejections).toEqual(tally.counts);
          expectCodes(s.rejections);
          expect(s.positions).toBe(held);
          expect(s.stops).toEqual(reference.plugin.stats().stops);
          expect(s.state).toBe(reference.plugin.state);
          await Promise.all([hostile.plugin.onDispose(), reference.plugin.onDispose()]);
          for (const code of Object.keys(tally.counts)) seen.add(code);
        },
      ),
      { seed: 6003, numRuns: 100 },
    );
    for (const code of [
      'MALFORMED_RECORD',
      'MISSING_FIELD',
      'INVALID_SYMBOL',
      'INVALID_SIDE',
      'INVALID_QUANTITY',
      'INVALID_TIMESTAMP',
      'NON_MONOTONIC_TIMESTAMP',
      'NON_FINITE_VALUE',
      'NON_POSITIVE_PRICE',
      'DUPLICATE_POSITION',
      'POSITION_LIMIT',
    ]) {
      expect(seen.has(code), code).toBe(true);
    }
  });
});

// --- Orders ----------------------------------------------------------------------------------

const orderSpec = fc.record({
  id: fc.nat({ max: 1_000 }),
  symbol: fc.constantFrom(...POOL),
  side: fc.constantFrom('BUY', 'SELL'),
  quantity: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
  type: fc.constantFrom('MARKET', 'LIMIT', 'STOP'),
  intent: fc.constantFrom('ENTRY', 'EXIT', 'PROTECTIVE'),
  price: fc.option(fc.double({ min: 0.01, max: 1_000, noNaN: true }), { freq: 3 }),
  reduceOnly: fc.option(fc.boolean(), { freq: 2 }),
  mutation: fc.option(
    fc.oneof(
      fieldMutation(['clientOrderId'], ID_VALUES),
      fieldMutation(['symbol'], oddSymbols),
      fieldMutation(['side'], SIDE_VALUES),
      fieldMutation(['type', 'intent'], ['market', 'STOP_LIMIT', 'ENTRY ', 'EXIT', 'LIMIT', '', null, 7, undefined]),
      fieldMutation(['quantity', 'price'], hostileNumbers),
      fieldMutation(['reduceOnly'], ['true', 1, 0, null, {}, true, undefined]),
    ),
    { freq: 2 },
  ),
  wrapping,
  pick: fc.nat(),
});
type OrderSpec = typeof orderSpec extends fc.Arbitrary<infer T> ? T : never;

function orderRaw(s: OrderSpec): unknown {
  const fields: Record<string, unknown> = {
    clientOrderId: `o${s.id}`,
    symbol: s.symbol,
    side: s.side,
    quantity: s.quantity,
    type: s.type,
    intent: s.intent,
  };
  if (s.price !== null) fields['price'] = s.price;
  else if (s.type !== 'MARKET') fields['price'] = 100;
  if (s.reduceOnly !== null) fields['reduceOnly'] = s.reduceOnly;
  return wrap(mutate(fields, s.mutation ?? undefined), s.wrapping, s.pick);
}

describe('hostile orders through beforeOrder', () => {
  it('a hostile order is denied INVALID_ORDER with its rejection counted, a valid one allowed, never a throw (property)', async () => {
    const { plugin, events } = await started({});
    const tally = new Tally();
    let allowed = 0;
    let denied = 0;
    fc.assert(
      fc.property(orderSpec, (spec) => {
        const raw = orderRaw(spec);
        const v = naiveOrder(raw);
        const d = noThrow(() => plugin.beforeOrder(raw as never));
        expect(Object.isFrozen(d)).toBe(true);
        if (v.ok) {
          expect(d).toEqual({ allow: true });
          allowed++;
        } else {
          expect(d).toMatchObject({ allow: false, code: 'INVALID_ORDER' });
          tally.add(v.code);
          denied++;
        }
      }),
      { seed: 6004, numRuns: 5_000 },
    );
    const s = plugin.stats();
    expect(s.orders.allowed).toBe(allowed);
    expect(s.orders.denied).toEqual(denied === 0 ? {} : { INVALID_ORDER: denied });
    expect(s.rejections).toEqual(tally.counts);
    expectCodes(s.rejections);
    for (const code of [
      'MALFORMED_RECORD',
      'MISSING_FIELD',
      'INVALID_SYMBOL',
      'INVALID_SIDE',
      'INVALID_TYPE',
      'INVALID_INTENT',
      'INVALID_QUANTITY',
      'NON_FINITE_VALUE',
      'NON_POSITIVE_PRICE',
      'VALUE_OUT_OF_RANGE',
    ]) {
      expect(tally.counts[code as keyof typeof tally.counts] ?? 0, code).toBeGreaterThan(0);
    }
    expect(allowed).toBeGreaterThan(1_000); // the mix holds plenty of both
    expect(denied).toBeGreaterThan(1_000);
    const deniedEvents = events.filter((e) => e.kind === 'ORDER_DENIED');
    expect(deniedEvents).toHaveLength(denied);
    for (const e of deniedEvents)
      if (e.kind === 'ORDER_DENIED')
        expect(typeof e.clientOrderId === 'string' && typeof e.symbol === 'string').toBe(true);
  });
});

// --- Configs ---------------------------------------------------------------------------------

const fraction = fc.double({ min: 0.001, max: 0.99, noNaN: true });

const validRule = fc.oneof(
  fc.record({ kind: fc.constant('FIXED' as const), price: fc.double({ min: 0.01, max: 1e6, noNaN: true }) }),
  fc.record({ kind: fc.constant('PERCENT' as const), percent: fc.double({ min: 0.01, max: 99, noNaN: true }) }),
  fc.record({
    kind: fc.constantFrom('ATR' as const, 'CHANDELIER' as const),
    multiple: fc.double({ min: 0.1, max: 10, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('TRAILING' as const),
    percent: fc.double({ min: 0.01, max: 99, noNaN: true }),
    activationPercent: fc.double({ min: 0, max: 50, noNaN: true }),
  }),
);

const validLadder = fc
  .uniqueArray(fc.double({ min: 0.001, max: 0.95, noNaN: true }), { minLength: 4, maxLength: 4 })
  .chain((xs) => {
    const [resumeBelow, warnAt, reduceAt, haltAt] = [...xs].sort((a, b) => a - b) as [number, number, number, number];
    return fc.record(
      {
        resumeBelow: fc.constant(resumeBelow),
        warnAt: fc.constant(warnAt),
        reduceAt: fc.constant(reduceAt),
        haltAt: fc.constant(haltAt),
        window: fc.integer({ min: 0, max: 100 }),
        cooldownMs: fc.integer({ min: 0, max: 1e6 }),
        flattenOnHalt: fc.boolean(),
        serviceTimeoutMs: fc.integer({ min: 1, max: 10_000 }),
        maxConcurrentCalls: fc.integer({ min: 1, max: 8 }),
        maxQueuedCalls: fc.integer({ min: 0, max: 32 }),
      },
      { requiredKeys: ['resumeBelow', 'warnAt', 'reduceAt', 'haltAt'] },
    );
  });

const validConfig = fc.record(
  {
    name: fc.stringMatching(/^[A-Za-z0-9._-]{1,32}$/),
    build: fc.constantFrom('release', 'scalar', 'debug'),
    limits: fc.record(
      {
        maxSymbols: fc.integer({ min: 1, max: 64 }),
        maxPositions: fc.integer({ min: 1, max: 1_000 }),
        maxPendingBars: fc.integer({ min: 1, max: 1_000 }),
        chunkSize: fc.integer({ min: 1, max: 5_000 }),
        historyCapacity: fc.integer({ min: 1, max: 10_000 }),
        maxSymbolLength: fc.integer({ min: 1, max: 64 }),
        maxPrice: fc.double({ min: 1e3, max: 1e15, noNaN: true }),
        maxQuantity: fc.double({ min: 1e4, max: 1e15, noNaN: true }),
      },
      { requiredKeys: [] },
    ),
    stops: fc.record(
      {
        mode: fc.constantFrom('LOCAL', 'BROKER'),
        atrPeriod: fc.integer({ min: 1, max: 99 }),
        tightenFraction: fraction,
        policy: fc.record(
          {
            rules: fc.array(validRule, { minLength: 1, maxLength: 4 }),
            breakeven: fc
              .tuple(fc.double({ min: 0.1, max: 50, noNaN: true }), fraction)
              .map(([afterGainPercent, f]) => ({ afterGainPercent, offsetPercent: afterGainPercent * f })),
          },
          { requiredKeys: ['rules'] },
        ),
      },
      { requiredKeys: [] },
    ),
    drawdown: validLadder,
    anomalyReduceMs: fc.integer({ min: 0, max: 1e7 }),
    anomaly: fc.record(
      { correlationSymbols: fc.constantFrom(0, 2, 10), staleAfterMs: fc.integer({ min: 1, max: 1e7 }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<RiskPluginConfig>;

/** Settings that are each invalid wherever they land. */
const hostileSettings: ReadonlyArray<readonly [readonly string[], unknown]> = [
  ...['', 'has space', 'x'.repeat(33), 5, null, Symbol('n'), {}].map((v) => [['name'], v] as const),
  ...['fast', null, 1, ['release']].map((v) => [['build'], v] as const),
  ...['abc', null, 5, [], true].map((v) => [['limits'], v] as const),
  ...(
    ['maxSymbols', 'maxPositions', 'maxPendingBars', 'chunkSize', 'historyCapacity', 'maxSymbolLength'] as const
  ).flatMap((k) =>
    [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null, BigInt(5), {}, Symbol('n'), () => 5].map(
      (v) => [['limits', k], v] as const,
    ),
  ),
  [['limits', 'maxSymbols'], 10_001],
  [['limits', 'historyCapacity'], 10_000_001],
  ...(['maxPrice', 'maxQuantity'] as const).flatMap((k) =>
    [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1e6', null].map((v) => [['limits', k], v] as const),
  ),
  [['limits', 'maxSymbol'], 5], // a typo: silently ignored before
  [['limits', 'extra'], () => 1], // a function: a DataCloneError before
  ...[null, 'x', [], 7].map((v) => [['stops'], v] as const),
  ...['NOPE', null, 1].map((v) => [['stops', 'mode'], v] as const),
  ...[0, 1.5, 10_001, Number.NaN, '14'].map((v) => [['stops', 'atrPeriod'], v] as const),
  ...[0, 1, Number.NaN, '0.5', -0.5].map((v) => [['stops', 'tightenFraction'], v] as const),
  ...[null, 'x', {}, []].map((v) => [['stops', 'policy'], v] as const),
  ...[
    [],
    'x',
    [null],
    [5],
    [{ kind: 'NOPE' }],
    [{ kind: 'PERCENT', percent: 100 }],
    [{ kind: 'FIXED', price: -1 }],
    [{ kind: 'ATR', multiple: Number.NaN }],
    [{ kind: 'TRAILING', percent: 5 }],
    [{ kind: 'CHANDELIER', multiple: '3' }],
  ].map((v) => [['stops', 'policy', 'rules'], v] as const),
  ...[null, 5, 'x', { afterGainPercent: 0, offsetPercent: 0 }, { afterGainPercent: 1, offsetPercent: 2 }].map(
    (v) => [['stops', 'policy', 'breakeven'], v] as const,
  ),
  [['stops', 'bogus'], 1],
  ...[null, 'x'].map((v) => [['drawdown'], v] as const),
  ...[1, -0.1, Number.NaN, '0.05'].map((v) => [['drawdown', 'warnAt'], v] as const),
  [['drawdown', 'haltAt'], 0.001], // breaks the threshold order
  [['drawdown', 'flattenOnHalt'], 'yes'],
  ...[-1, 1.5].map((v) => [['drawdown', 'window'], v] as const),
  [['drawdown', 'bogus'], 1],
  ...[-1, 1.5, Number.NaN, '5', null].map((v) => [['anomalyReduceMs'], v] as const),
  ...[null, 'x', 5].map((v) => [['anomaly'], v] as const),
  [['anomaly', 'priceZ'], -1],
  [['anomaly', 'bogus'], 1],
  [['anomaly', 'actions'], 'x'],
  [['anomaly', 'actions'], { BAD_TICK: ['QUARANTINE'] }],
  [['bogus'], 1],
  [['constructor'], 1],
];

/** A copy of `config` with `path` set to `value` (own "__proto__" keys stay data). */
function setAt(config: RiskPluginConfig, path: readonly string[], value: unknown): RiskPluginConfig {
  const copy = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(copy)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]))
        : v;
  const root = copy(config) as Record<string, unknown>;
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      Object.defineProperty(node, key, { value: fresh, enumerable: true, writable: true, configurable: true });
      node = fresh;
    } else node = next as Record<string, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1] as string, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return root;
}

/** Whole configs that cannot be read as data at all. */
function unreadableConfigs(): unknown[] {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  const cyclic: Record<string, unknown> = { stops: { policy: { rules: [{ kind: 'PERCENT', percent: 5 }] } } };
  (cyclic['stops'] as Record<string, unknown>)['self'] = cyclic; // an unknown key, and a cycle
  return [
    null,
    'config',
    5,
    [],
    [{ limits: {} }],
    proxy,
    new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('ownKeys');
        },
      },
    ),
    Object.defineProperty({}, 'limits', {
      get: () => {
        throw new Error('getter');
      },
      enumerable: true,
    }),
    {
      stops: Object.defineProperty({}, 'policy', {
        get: () => {
          throw new TypeError('policy');
        },
        enumerable: true,
      }),
    },
    {
      anomaly: new Proxy(
        { priceZ: 8 },
        {
          get: () => {
            throw new Error('anomaly trap');
          },
        },
      ),
    },
    cyclic,
    JSON.parse('{"__proto__": {"limits": {"maxSymbols": 0}}}'),
  ];
}

function expectInvalidConfig(config: unknown, what = ''): void {
  let caught: unknown;
  try {
    createRiskPlugin(config as RiskPluginConfig);
  } catch (e) {
    caught = e;
  }
  expect(caught, `should throw: ${what}`).toBeInstanceOf(BulwarkError);
  expect(isBulwarkError(caught, 'INVALID_CONFIG'), String(caught)).toBe(true);
  const problems = (caught as BulwarkError).details['problems'];
  expect(Array.isArray(problems) && problems.length > 0 && problems.every((p) => typeof p === 'string')).toBe(true);
}

describe('hostile configs through createRiskPlugin', () => {
  it('a config with one to three hostile settings throws exactly one INVALID_CONFIG BulwarkError listing problems, never a TypeError (property)', () => {
    fc.assert(
      fc.property(
        validConfig,
        fc.array(fc.constantFrom(...hostileSettings), { minLength: 1, maxLength: 3 }),
        (base, settings) => {
          let config = base;
          for (const [path, value] of settings) config = setAt(config, path, value);
          expectInvalidConfig(config);
        },
      ),
      { seed: 6005, numRuns: 3_000 },
    );
  });

  it('every hostile setting alone, and configs that cannot be read at all, throw INVALID_CONFIG', () => {
    for (const [path, value] of hostileSettings)
      expectInvalidConfig(
        setAt({}, path, value),
        `${path.join('.')} = ${typeof value === 'symbol' || typeof value === 'bigint' ? typeof value : JSON.stringify(value)}`,
      );
    unreadableConfigs().forEach((config, i) => expectInvalidConfig(config, `unreadable config #${i}`));
  });

  it('regressions: null breakeven, a cycle, a function and a throwing getter were a TypeError, RangeError, DataCloneError and the getter’s own error', () => {
    expectInvalidConfig({ stops: { policy: { rules: [{ kind: 'PERCENT', percent: 5 }], breakeven: null } } });
    expectInvalidConfig({ limits: { maxSymbols: 5, onFull: () => 0 } });
    expectInvalidConfig(
      Object.defineProperty({}, 'stops', {
        get: () => {
          throw new Error('boom');
        },
        enumerable: true,
      }),
    );
    // A cycle inside an otherwise valid rule is data: accepted, and frozen without recursing forever.
    const rule: Record<string, unknown> = { kind: 'PERCENT', percent: 5 };
    rule['self'] = rule;
    const plugin = createRiskPlugin({ stops: { policy: { rules: [rule as never] } } });
    expect(Object.isFrozen(plugin.config.stops.policy.rules[0])).toBe(true);
  });

  it('a valid config works: created, frozen, initialised, takes a bar (property)', async () => {
    await fc.assert(
      fc.asyncProperty(validConfig, async (config) => {
        const plugin = createRiskPlugin(config);
        expect(Object.isFrozen(plugin.config)).toBe(true);
        const { context } = fakeContext({ now: () => T0 });
        await plugin.onInit(context);
        await plugin.onBars([{ symbol: 'A', timestamp: T0, open: 10, high: 10.1, low: 9.9, close: 10, volume: 1_000 }]);
        expect(plugin.stats().bars).toMatchObject({ received: 1, accepted: 1 });
        await plugin.onDispose();
      }),
      { seed: 6006, numRuns: 25 },
    );
  });
});
