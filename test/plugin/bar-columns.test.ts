import { describe, expect, it } from 'vitest';
import { BarColumns } from '../../src/market/bar-columns.js';
import { RoundSplitter } from '../../src/market/round-splitter.js';
import { rng } from '../helpers/random.js';

describe('BarColumns', () => {
  it('grows past its first capacity keeping every row; pop drops the last; toBar copies; the cursor reads a row', () => {
    const cols = new BarColumns(4);
    for (let i = 0; i < 100; i++) cols.push(i % 7, `S${i}`, 1_000 + i, 10 + i, 11 + i, 9 + i, 10.5 + i, 100 * i);
    expect(cols.size).toBe(100);
    expect(cols.capacity).toBeGreaterThanOrEqual(100);
    for (let i = 0; i < 100; i++) {
      expect(cols.toBar(i)).toEqual({
        symbol: `S${i}`,
        timestamp: 1_000 + i,
        open: 10 + i,
        high: 11 + i,
        low: 9 + i,
        close: 10.5 + i,
        volume: 100 * i,
      });
      expect(cols.slot[i]).toBe(i % 7);
    }
    const copy = cols.toBar(5);
    cols.pop();
    expect(cols.size).toBe(99);
    const row = cols.row;
    row.at = 42;
    expect([row.symbol, row.timestamp, row.open, row.high, row.low, row.close, row.volume, row.slot]).toEqual([
      'S42',
      1_042,
      52,
      53,
      51,
      52.5,
      4_200,
      0,
    ]);
    cols.clear();
    expect(cols.size).toBe(0);
    cols.push(3, 'X', 1, 1, 1, 1, 1, 0); // rows are reused: the copy made before is independent
    expect(copy.symbol).toBe('S5');
  });
});

describe('RoundSplitter', () => {
  it("puts each slot's k-th row in round k, keeping row order within a round (against a naive split)", () => {
    const next = rng(77);
    const splitter = new RoundSplitter(50);
    for (let trial = 0; trial < 200; trial++) {
      const rows = Math.floor(next() * 120);
      const slots = Int32Array.from({ length: rows }, () => Math.floor(next() * (trial % 2 === 0 ? 50 : 5)));
      const want: number[][] = [];
      const seen = new Map<number, number>();
      slots.forEach((s, i) => {
        const k = seen.get(s) ?? 0;
        seen.set(s, k + 1);
        (want[k] ??= []).push(i);
      });
      const rounds = splitter.split(slots, rows);
      expect(rounds).toBe(want.length);
      const got = Array.from({ length: rounds }, (_, r) =>
        Array.from(splitter.order.subarray(splitter.start(r), splitter.start(r + 1))),
      );
      expect(got).toEqual(want);
    }
  });
});
