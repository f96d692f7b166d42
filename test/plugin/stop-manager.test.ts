import { describe, expect, it } from 'vitest';
import { CommandCoalescer } from '../../src/concurrency/command-coalescer.js';
import { StopManager, type StopMode } from '../../src/stops/stop-manager.js';
import type { StopPolicy } from '../../src/stops/stop-rules.js';
import type { Bar, Position } from '../../src/vocabulary/market.js';
import type { OrderSink, ProtectiveCommand } from '../../src/vocabulary/orders.js';

function setup(
  mode: StopMode,
  policy: StopPolicy,
  opts: { maxPositions?: number; quarantined?: Set<string>; fail?: boolean } = {},
) {
  const sent: ProtectiveCommand[] = [];
  const sink: OrderSink = {
    send: (c) => {
      sent.push(c);
      return Promise.resolve(
        opts.fail === true
          ? { ok: false, clientOrderId: c.clientOrderId, code: 'REJECTED', message: 'no' }
          : { ok: true, clientOrderId: c.clientOrderId },
      );
    },
  };
  const quarantined = opts.quarantined ?? new Set<string>();
  const coalescer = new CommandCoalescer(sink, undefined, (c, ok) => stops.onCommandResult(c, ok));
  const stops = new StopManager({
    policy,
    mode,
    maxPositions: opts.maxPositions ?? 100,
    coalescer,
    nextId: (() => {
      let n = 0;
      return () => `t-${++n}`;
    })(),
    isQuarantined: (s) => quarantined.has(s),
  });
  return { stops, sent, coalescer, quarantined };
}

const pos = (symbol: string, side: 'LONG' | 'SHORT', entryPrice = 100, quantity = 10): Position => ({
  symbol,
  side,
  quantity,
  entryPrice,
  openedAt: 0,
});
let t = 0;
const bar = (symbol: string, low: number, high: number, close = (low + high) / 2): Bar => ({
  symbol,
  timestamp: ++t,
  open: close,
  high,
  low,
  close,
  volume: 1,
});

describe('StopManager', () => {
  it('places a percent stop at sync for a long and a short', () => {
    const { stops } = setup('LOCAL', { rules: [{ kind: 'PERCENT', percent: 2 }] });
    stops.syncPositions([pos('L', 'LONG'), pos('S', 'SHORT')]);
    expect(stops.get('L')?.stop).toBeCloseTo(98, 12);
    expect(stops.get('S')?.stop).toBeCloseTo(102, 12);
    expect(stops.counters.placed).toBe(2);
  });

  it('ratchets: a chandelier stop follows new highs (long) / lows (short) and never loosens', () => {
    const { stops } = setup('LOCAL', { rules: [{ kind: 'CHANDELIER', multiple: 2 }] });
    stops.syncPositions([pos('L', 'LONG'), pos('S', 'SHORT')]);
    stops.onBar(bar('L', 99, 105), 1); // highest high 105 → 103
    stops.onBar(bar('S', 95, 101), 1); // lowest low 95 → 97
    expect(stops.get('L')?.stop).toBeCloseTo(103, 12);
    expect(stops.get('S')?.stop).toBeCloseTo(97, 12);
    stops.onBar(bar('L', 103.5, 104), 3); // ATR widens: candidate 99 is looser → unchanged
    stops.onBar(bar('S', 96, 96.5), 3);
    expect(stops.get('L')?.stop).toBeCloseTo(103, 12);
    expect(stops.get('S')?.stop).toBeCloseTo(97, 12);
    expect(stops.counters.moved).toBe(0);
    expect(stops.get('L')?.version).toBe(1);
  });

  it('LOCAL mode fires CLOSE_POSITION once when a bar trades through the stop, long and short', async () => {
    const { stops, sent, coalescer } = setup('LOCAL', { rules: [{ kind: 'PERCENT', percent: 2 }] });
    stops.syncPositions([pos('L', 'LONG'), pos('S', 'SHORT')]);
    stops.onBar(bar('L', 97.9, 100), Number.NaN);
    stops.onBar(bar('S', 100, 102.1), Number.NaN);
    stops.onBar(bar('L', 90, 100), Number.NaN); // already closing: no second close
    await coalescer.idle();
    expect(sent.map((c) => [c.kind, c.symbol, 'side' in c ? c.side : ''])).toEqual([
      ['CLOSE_POSITION', 'L', 'SELL'],
      ['CLOSE_POSITION', 'S', 'BUY'],
    ]);
    expect(stops.counters.triggered).toBe(2);
    expect(stops.get('L')?.status).toBe('CLOSING');
  });

  it('a quarantined symbol neither moves nor fires its stop on that bar', async () => {
    const quarantined = new Set<string>();
    const { stops, sent, coalescer } = setup(
      'LOCAL',
      { rules: [{ kind: 'CHANDELIER', multiple: 1 }] },
      { quarantined },
    );
    stops.syncPositions([pos('L', 'LONG')]);
    stops.onBar(bar('L', 99, 101), 1); // stop 100
    quarantined.add('L'); // the detector suspects the next bar
    stops.onBar(bar('L', 1, 1000), 1); // bad tick: would fire and would lift the high water
    await coalescer.idle();
    expect(sent).toEqual([]);
    expect(stops.counters.suppressed).toBe(1);
    expect(stops.get('L')?.stop).toBeCloseTo(100, 12);
    quarantined.clear();
    stops.onBar(bar('L', 99.5, 100.5), 1); // next bar confirms normal prices: stop 99.5 looser → stays 100, and 99.5 ≤ 100 fires
    await coalescer.idle();
    expect(sent.map((c) => c.kind)).toEqual(['CLOSE_POSITION']);
  });

  it('BROKER mode places the stop once, then amends it with rising versions', async () => {
    const { stops, sent, coalescer } = setup('BROKER', { rules: [{ kind: 'ATR', multiple: 2 }] });
    stops.syncPositions([pos('L', 'LONG')]);
    expect(sent).toEqual([]); // ATR not seeded: no opinion yet
    stops.onBar(bar('L', 99, 101, 100), 1); // 98
    await coalescer.idle();
    stops.onBar(bar('L', 101, 103, 102), 1); // 100
    await coalescer.idle();
    stops.onBar(bar('L', 100, 101, 100.5), 1); // 98.5 is looser: nothing
    await coalescer.idle();
    expect(sent.map((c) => [c.kind, 'stopPrice' in c ? c.stopPrice : 0, 'version' in c ? c.version : 0])).toEqual([
      ['PLACE_STOP', 98, 0],
      ['AMEND_STOP', 100, 2],
    ]);
  });

  it('propose() refuses stale versions and loosening prices, long and short', () => {
    const { stops } = setup('LOCAL', { rules: [{ kind: 'PERCENT', percent: 2 }] });
    stops.syncPositions([pos('L', 'LONG'), pos('S', 'SHORT')]);
    const v = stops.get('L')?.version ?? 0;
    expect(stops.propose('L', 99, v + 2)).toBe('MOVED');
    expect(stops.propose('L', 99.5, v + 1)).toBe('STALE'); // older than the live version
    expect(stops.propose('L', 97, v + 3)).toBe('LOOSER');
    expect(stops.propose('S', 103, (stops.get('S')?.version ?? 0) + 1)).toBe('LOOSER');
    expect(stops.propose('S', 101, (stops.get('S')?.version ?? 0) + 1)).toBe('MOVED');
    expect(stops.get('L')?.stop).toBe(99);
    expect(stops.counters.refused).toBe(3);
    expect(stops.propose('NOPE', 1, 1)).toBe('UNKNOWN');
  });

  it('breakeven moves a long and a short to entry after the gain', () => {
    const { stops } = setup('LOCAL', {
      rules: [{ kind: 'PERCENT', percent: 5 }],
      breakeven: { afterGainPercent: 3, offsetPercent: 0 },
    });
    stops.syncPositions([pos('L', 'LONG'), pos('S', 'SHORT')]);
    stops.onBar(bar('L', 102, 104, 103.5), Number.NaN);
    stops.onBar(bar('S', 96, 98, 96.5), Number.NaN);
    expect(stops.get('L')?.stop).toBe(100);
    expect(stops.get('S')?.stop).toBe(100);
  });

  it('a close that fails for good re-arms the stop under a new order id', async () => {
    const { stops, sent, coalescer } = setup('LOCAL', { rules: [{ kind: 'PERCENT', percent: 2 }] }, { fail: true });
    stops.syncPositions([pos('L', 'LONG')]);
    stops.onBar(bar('L', 97, 99), Number.NaN);
    await coalescer.idle();
    expect(stops.get('L')?.status).toBe('OPEN');
    stops.onBar(bar('L', 97, 99), Number.NaN);
    await coalescer.idle();
    expect(sent).toHaveLength(2);
    expect(sent[0]?.clientOrderId).not.toBe(sent[1]?.clientOrderId);
  });

  it('refuses positions beyond maxPositions and drops closed ones (cancelling resting stops)', async () => {
    const { stops, sent, coalescer } = setup(
      'BROKER',
      { rules: [{ kind: 'PERCENT', percent: 2 }] },
      { maxPositions: 2 },
    );
    expect(stops.syncPositions([pos('A', 'LONG'), pos('B', 'SHORT'), pos('C', 'LONG')])).toEqual(['C']);
    expect(stops.size).toBe(2);
    expect(stops.counters.overLimit).toBe(1);
    stops.syncPositions([pos('B', 'SHORT')]);
    await coalescer.idle();
    expect(stops.size).toBe(1);
    expect(sent.filter((c) => c.kind === 'CANCEL').map((c) => c.symbol)).toEqual(['A']);
  });

  it('tightenAll moves every stop a fraction of the way to the close', () => {
    const { stops } = setup('LOCAL', { rules: [{ kind: 'PERCENT', percent: 10 }] });
    stops.syncPositions([pos('L', 'LONG'), pos('S', 'SHORT')]);
    expect(stops.tightenAll(0.5, () => 100)).toBe(2);
    expect(stops.get('L')?.stop).toBeCloseTo(95, 12);
    expect(stops.get('S')?.stop).toBeCloseTo(105, 12);
  });

  it('BROKER mode after a restart: a stop resting at the broker is adopted (amended, never placed twice); one without its position, or on the wrong side, is cancelled', async () => {
    const { stops, sent, coalescer } = setup('BROKER', { rules: [{ kind: 'PERCENT', percent: 2 }] });
    expect(
      stops.restore([
        { clientOrderId: 'old-L', symbol: 'L', side: 'SELL', stopPrice: 97 }, // protects a LONG L
        { clientOrderId: 'old-L2', symbol: 'L', side: 'SELL', stopPrice: 96 }, // a second one for L: cancelled
        { clientOrderId: 'old-S', symbol: 'S', side: 'SELL', stopPrice: 97 }, // S turns out SHORT: wrong side
        { clientOrderId: 'old-G', symbol: 'G', side: 'BUY', stopPrice: 50 }, // G is gone
      ]),
    ).toBe(3);
    stops.syncPositions([pos('L', 'LONG'), pos('S', 'SHORT')]);
    await coalescer.idle();
    const by = (kind: string, id: string) => sent.filter((c) => c.kind === kind && c.clientOrderId === id).length;
    // L: the percent rule's 98 is tighter than the resting 97, so the adopted order is amended.
    expect(stops.get('L')?.stop).toBeCloseTo(98, 12);
    expect(by('AMEND_STOP', 'old-L')).toBe(1);
    expect(sent.filter((c) => c.kind === 'PLACE_STOP' && c.symbol === 'L')).toHaveLength(0);
    expect(by('CANCEL', 'old-L2')).toBe(1);
    expect(by('CANCEL', 'old-S')).toBe(1);
    expect(sent.filter((c) => c.kind === 'PLACE_STOP' && c.symbol === 'S')).toHaveLength(1); // a fresh stop for the short
    expect(by('CANCEL', 'old-G')).toBe(1);
  });

  it('BROKER mode after a restart: of two stops found for one symbol the tighter is kept whichever comes first, and the other is the one cancelled', async () => {
    const { stops, sent, coalescer } = setup('BROKER', { rules: [{ kind: 'PERCENT', percent: 5 }] });
    stops.restore([
      { clientOrderId: 'loose-L', symbol: 'L', side: 'SELL', stopPrice: 96 },
      { clientOrderId: 'tight-L', symbol: 'L', side: 'SELL', stopPrice: 97 }, // tighter, found second
    ]);
    stops.syncPositions([pos('L', 'LONG')]);
    await coalescer.idle();
    expect(stops.get('L')?.stop).toBe(97); // the rule's 95 is looser: the resting 97 stays
    expect(sent).toEqual([{ kind: 'CANCEL', clientOrderId: 'loose-L', symbol: 'L' }]);
  });

  it('BROKER mode after a restart: a restored stop waits restoreGraceMs for its position (a host rebuilding its book), then is cancelled', async () => {
    const { stops, sent, coalescer } = setup('BROKER', { rules: [{ kind: 'PERCENT', percent: 5 }] });
    stops.restore([
      { clientOrderId: 'late-L', symbol: 'L', side: 'SELL', stopPrice: 97 },
      { clientOrderId: 'gone-G', symbol: 'G', side: 'SELL', stopPrice: 40 },
    ]);
    stops.syncPositions([], 1_000); // first snapshot: no positions yet
    stops.syncPositions([pos('L', 'LONG')], 61_000); // L comes back within the grace period: adopted
    await coalescer.idle();
    expect(sent).toEqual([]);
    expect(stops.get('L')?.stop).toBe(97); // 5 % (95) is looser than the resting 97
    stops.syncPositions([pos('L', 'LONG')], 1_000 + 299_999);
    await coalescer.idle();
    expect(sent).toEqual([]); // G still within its grace
    stops.syncPositions([pos('L', 'LONG')], 1_000 + 300_000);
    await coalescer.idle();
    expect(sent).toEqual([{ kind: 'CANCEL', clientOrderId: 'gone-G', symbol: 'G' }]);
  });
});
