/**
 * Property: over random sequences of closes, fills (partial, flipping), snapshots that
 * disagree with the fills, and entry orders, the exposure book's running gross, net and group
 * sums equal a from-scratch recomputation by an independent model here (to 1e-9 of the gross),
 * and no allowed entry leaves the book above a configured limit at the prices it was checked at.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PreTradeLimits } from '../../src/limits/pre-trade-limits.js';
import type { PreTradeConfig } from '../../src/limits/pre-trade-config.js';
import type { OrderRequest } from '../../src/vocabulary/orders.js';

const SYMBOLS = ['A', 'B', 'C', 'D', 'E'];
const GROUPS = { g1: ['A', 'B'], g2: ['B', 'C', 'D'] };
const CONFIG: PreTradeConfig = {
  maxOrderNotional: 40_000,
  maxPositionNotional: 60_000,
  positionNotionalBySymbol: { E: 120_000 },
  groups: GROUPS,
  maxGroupNotional: { g1: 90_000, g2: 110_000 },
  maxGrossExposure: 200_000,
  maxNetExposure: 80_000,
  maxOpenPositions: 4,
};

type Op =
  | { kind: 'close'; s: number; price: number }
  | { kind: 'fill'; s: number; buy: boolean; qty: number; price: number }
  | { kind: 'snapshot'; held: { s: number; signed: number; price: number }[] }
  | { kind: 'entry'; s: number; buy: boolean; qty: number; limit: number | null };

const price = fc.integer({ min: 100, max: 50_000 }).map((c) => c / 100);
const qty = fc.integer({ min: 1, max: 30_000 }).map((q) => q / 100);
const sym = fc.integer({ min: 0, max: SYMBOLS.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('close' as const), s: sym, price }),
  fc.record({ kind: fc.constant('fill' as const), s: sym, buy: fc.boolean(), qty, price }),
  fc.record({
    kind: fc.constant('snapshot' as const),
    held: fc.array(
      fc.record({ s: sym, signed: fc.integer({ min: -30_000, max: 30_000 }).map((q) => q / 100), price }),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    kind: fc.constant('entry' as const),
    s: sym,
    buy: fc.boolean(),
    qty,
    limit: fc.option(price, { nil: null }),
  }),
);

/** The independent model: quantities and marks, sums computed from scratch. */
class Model {
  readonly q = new Map<string, number>();
  readonly mark = new Map<string, number>();
  notional(s: string): number {
    return (this.q.get(s) ?? 0) * (this.mark.get(s) ?? 0);
  }
  gross(symbols: readonly string[] = SYMBOLS): number {
    return symbols.reduce((a, s) => a + Math.abs(this.notional(s)), 0);
  }
  net(): number {
    return SYMBOLS.reduce((a, s) => a + this.notional(s), 0);
  }
  open(): number {
    return SYMBOLS.filter((s) => (this.q.get(s) ?? 0) !== 0).length;
  }
  /** A position seen at `price`: the mark stays the last close when there is one. */
  set(s: string, signed: number, price: number): void {
    if (!this.mark.has(s)) this.mark.set(s, price);
    if (Math.abs(signed) <= 1e-12 * 1e6) this.q.delete(s);
    else this.q.set(s, signed);
  }
}

describe('exposure book and pre-trade limits, against an independent model', () => {
  it('300 random sequences: running sums equal the recomputation; allowed entries stay within every limit', () => {
    let allowed = 0;
    let denied = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const limits = new PreTradeLimits(CONFIG, '00:00Z', () => 0);
        const book = limits.book;
        const m = new Model();
        /** The rules, as stated, after an allowed entry of `qty` in `s` checked at `at`. */
        const checkLimits = (s: string, at: number, qty: number) => {
          const eps = (limit: number) => limit * (1 + 1e-9);
          expect(qty * at).toBeLessThanOrEqual(eps(CONFIG.maxOrderNotional as number));
          const own = s === 'E' ? 120_000 : 60_000;
          expect(Math.abs(m.notional(s))).toBeLessThanOrEqual(eps(own));
          for (const [g, members] of Object.entries(GROUPS))
            if (members.includes(s))
              expect(m.gross(members)).toBeLessThanOrEqual(eps(CONFIG.maxGroupNotional?.[g] as number));
          expect(m.gross()).toBeLessThanOrEqual(eps(200_000));
          expect(Math.abs(m.net())).toBeLessThanOrEqual(eps(80_000));
          expect(m.open()).toBeLessThanOrEqual(4);
        };
        let n = 0;
        for (const o of ops) {
          const s = o.kind === 'snapshot' ? '' : (SYMBOLS[o.s] as string);
          switch (o.kind) {
            case 'close':
              book.setMark(s, o.price);
              m.mark.set(s, o.price);
              break;
            case 'fill': {
              limits.onFill({
                orderId: 'someone-else',
                symbol: s,
                side: o.buy ? 'BUY' : 'SELL',
                quantity: o.qty,
                price: o.price,
              });
              const q = (m.q.get(s) ?? 0) + (o.buy ? o.qty : -o.qty);
              m.set(s, Math.abs(q) <= 1e-12 * Math.max(1, o.qty) ? 0 : q, o.price);
              break;
            }
            case 'snapshot': {
              const last = new Map(o.held.map((h) => [SYMBOLS[h.s] as string, h]));
              limits.onSnapshot([...last].map(([symbol, h]) => ({ symbol, signed: h.signed, price: h.price })));
              for (const t of SYMBOLS) {
                const h = last.get(t);
                if (h === undefined) m.q.delete(t);
                else m.set(t, h.signed, h.price);
              }
              break;
            }
            case 'entry': {
              const order: OrderRequest = {
                clientOrderId: `e${n++}`,
                symbol: s,
                side: o.buy ? 'BUY' : 'SELL',
                quantity: o.qty,
                type: o.limit === null ? 'MARKET' : 'LIMIT',
                ...(o.limit === null ? {} : { price: o.limit }),
                intent: 'ENTRY',
              };
              // An order that only reduces the position is an exit: the plugin never checks it here.
              const held = m.q.get(s) ?? 0;
              if ((held > 0 && !o.buy && o.qty <= held) || (held < 0 && o.buy && o.qty <= -held)) break;
              const at = o.limit ?? m.mark.get(s);
              const denial = limits.check(order);
              if (denial !== undefined) {
                denied++;
                break;
              }
              allowed++;
              limits.admitted(order); // reserved in the book at its check price
              if (at === undefined) break; // no price: only a count limit could have let it through
              m.set(s, held + (o.buy ? o.qty : -o.qty), at);
              // The rules hold with the entry reserved (before its fill) ...
              checkLimits(s, at, o.qty);
              // ... and once it fills, in parts at other prices, the reservation gives way to the fills.
              const part = Math.round(o.qty * 50) / 100;
              limits.onFill({
                orderId: order.clientOrderId,
                symbol: s,
                side: order.side,
                quantity: part,
                price: at * 1.01,
              });
              limits.onFill({
                orderId: order.clientOrderId,
                symbol: s,
                side: order.side,
                quantity: o.qty - part,
                price: at * 0.99,
              });
              expect(limits.reserved).toBe(0);
              break;
            }
          }
          const scale = Math.max(1, m.gross());
          expect(Math.abs(book.gross - m.gross())).toBeLessThanOrEqual(1e-9 * scale);
          expect(Math.abs(book.net - m.net())).toBeLessThanOrEqual(1e-9 * scale);
          for (const [g, members] of Object.entries(GROUPS))
            expect(Math.abs(book.groupGross(g) - m.gross(members))).toBeLessThanOrEqual(1e-9 * scale);
          expect(book.openPositions).toBe(m.open());
        }
      }),
      { numRuns: 300, seed: 2026_12_04 },
    );
    // Both outcomes were exercised.
    expect(allowed).toBeGreaterThan(100);
    expect(denied).toBeGreaterThan(100);
  });
});
