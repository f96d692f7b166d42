import { describe, expect, it } from 'vitest';
import { assignSymbols, rendezvousOwner } from '../../src/coordination/rendezvous.js';

const symbols = Array.from({ length: 3_000 }, (_, i) => `SYM${String(i)}`);

describe('rendezvous assignment', () => {
  it('is deterministic and independent of the order members are listed in', () => {
    const a = assignSymbols(symbols, ['i-1', 'i-2', 'i-3']);
    const b = assignSymbols(symbols, ['i-3', 'i-1', 'i-2']);
    expect([...a]).toEqual([...b]);
    expect(rendezvousOwner('AAPL', [])).toBeUndefined();
  });

  it('is fair: each of 3 members gets a third of 3 000 symbols, within 10 %', () => {
    const counts = new Map<string, number>();
    for (const owner of assignSymbols(symbols, ['i-1', 'i-2', 'i-3']).values())
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n - 1_000)).toBeLessThan(100);
  });

  it("moves only the leaving member's symbols, spread over the others", () => {
    const before = assignSymbols(symbols, ['i-1', 'i-2', 'i-3']);
    const after = assignSymbols(symbols, ['i-1', 'i-3']);
    const moved = new Map<string, number>();
    for (const [symbol, owner] of before) {
      if (owner !== 'i-2') expect(after.get(symbol)).toBe(owner);
      else moved.set(after.get(symbol) as string, (moved.get(after.get(symbol) as string) ?? 0) + 1);
    }
    expect(moved.get('i-1')).toBeGreaterThan(400);
    expect(moved.get('i-3')).toBeGreaterThan(400);
  });

  it('a joining member takes symbols only for itself', () => {
    const before = assignSymbols(symbols, ['i-1', 'i-2']);
    const after = assignSymbols(symbols, ['i-1', 'i-2', 'i-9']);
    for (const [symbol, owner] of after) if (owner !== 'i-9') expect(before.get(symbol)).toBe(owner);
  });
});
