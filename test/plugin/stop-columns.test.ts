import { describe, expect, it } from 'vitest';
import { isBulwarkError } from '../../src/errors.js';
import { StopColumns } from '../../src/stops/stop-columns.js';

const init = (i: number) => ({
  symbol: `S${i}`,
  side: i % 2 === 0 ? ('LONG' as const) : ('SHORT' as const),
  quantity: 1 + i,
  entryPrice: 100 + i,
  openedAt: 0,
  stop: Number.NaN,
  version: 0,
  placed: false,
  orderId: `id${i}`,
});

describe('StopColumns', () => {
  it('grows by doubling up to maxRows, reuses freed rows, and refuses beyond maxRows', () => {
    const cols = new StopColumns(3_000);
    expect(cols.capacity).toBe(1_024);
    const states = Array.from({ length: 3_000 }, (_, i) => cols.create(init(i)));
    expect(cols.capacity).toBe(3_000);
    expect(cols.size).toBe(3_000);
    let refused: unknown;
    try {
      cols.create(init(9));
    } catch (e) {
      refused = e;
    }
    expect(isBulwarkError(refused, 'LIMIT_EXCEEDED')).toBe(true);
    expect(cols.size).toBe(3_000);
    // Every state still reads its own numbers after the growths moved the columns.
    states.forEach((s, i) => {
      expect(s.entryPrice).toBe(100 + i);
      expect(s.highWater).toBe(100 + i);
      expect(cols.long[s.row]).toBe(i % 2 === 0 ? 1 : 0);
      expect(cols.open[s.row]).toBe(1);
    });
    const freed = states[1_500]!;
    const row = freed.row;
    cols.release(freed);
    expect(cols.size).toBe(2_999);
    expect(cols.open[row]).toBe(0);
    const again = cols.create(init(7));
    expect(again.row).toBe(row);
    expect(again.entryPrice).toBe(107);
  });

  it('a released state keeps its last values, detached from the row that is reused', () => {
    const cols = new StopColumns(4);
    const s = cols.create(init(0));
    s.stop = 95;
    s.version = 3;
    cols.highWater[s.row] = 120;
    s.status = 'CLOSING';
    expect(cols.open[s.row]).toBe(0);
    s.status = 'OPEN';
    cols.release(s);
    expect(s.row).toBe(-1);
    const t = cols.create(init(1));
    t.stop = 200;
    cols.highWater[t.row] = 300;
    expect([s.stop, s.version, s.highWater, s.entryPrice, s.status]).toEqual([95, 3, 120, 100, 'OPEN']);
    s.stop = 96; // writes to a detached state stay in the object
    expect(t.stop).toBe(200);
    expect(s.stop).toBe(96);
  });
});
