import { describe, expect, it } from 'vitest';
import { splitCsvLine } from '../../src/engine/csv-bars.js';
import { Engine, type BarRejected } from '../../src/engine/engine.js';
import { isEngineError } from '../../src/engine/errors.js';
import { at, csvFile, recorder } from './helpers.js';

const HEADER = 'timestamp,symbol,open,high,low,close,volume';

describe('replay from a CSV file', () => {
  it('reads ISO-8601 and epoch-ms timestamps alike', async () => {
    const path = csvFile(
      [
        HEADER,
        '2026-03-02T14:30:00Z,ACME,10,11,9,10.5,100',
        `${at(1)},ACME,10.5,12,10,11,200`,
        '2026-03-02T14:32:00.000+00:00,ACME,11,11.5,10.5,11,300',
      ].join('\n'),
    );
    const engine = new Engine();
    const r = recorder('r');
    engine.use(r);
    const s = await engine.replay(path);
    expect(s).toMatchObject({
      barsRead: 3,
      barsAccepted: 3,
      barsRejected: 0,
      batches: 3,
      firstTimestamp: at(0),
      lastTimestamp: at(2),
    });
    expect(r.batches.map((b) => b[0])).toEqual([
      { timestamp: at(0), symbol: 'ACME', open: 10, high: 11, low: 9, close: 10.5, volume: 100 },
      { timestamp: at(1), symbol: 'ACME', open: 10.5, high: 12, low: 10, close: 11, volume: 200 },
      { timestamp: at(2), symbol: 'ACME', open: 11, high: 11.5, low: 10.5, close: 11, volume: 300 },
    ]);
    expect(Object.isFrozen(r.batches[0])).toBe(true);
    expect(Object.isFrozen(r.batches[0]?.[0])).toBe(true);
  });

  it('requires a header row: a file that starts with data, or lacks a column, is refused with INVALID_CSV_HEADER', async () => {
    const engine = new Engine();
    const noHeader = csvFile('2026-03-02T14:30:00Z,ACME,10,11,9,10.5,100\n');
    await expect(engine.replay(noHeader)).rejects.toSatisfy((e) => isEngineError(e, 'INVALID_CSV_HEADER'));
    const missing = csvFile('timestamp,symbol,open,high,low,close\n2026-03-02T14:30:00Z,ACME,10,11,9,10.5\n');
    await expect(engine.replay(missing)).rejects.toMatchObject({
      code: 'INVALID_CSV_HEADER',
      details: { missing: ['volume'] },
    });
    await expect(engine.replay(csvFile(''))).rejects.toMatchObject({ code: 'INVALID_CSV_HEADER' });
    // The engine is still usable afterwards.
    expect((await engine.replay(csvFile(`${HEADER}\n`))).barsRead).toBe(0);
  });

  it('accepts header columns in any order and case, extra columns, a BOM, CRLF line ends, blank lines and quoted fields', async () => {
    const path = csvFile(
      [
        '\uFEFFSymbol,Volume,Timestamp,Open,High,Low,Close,exchange',
        '"ACME",100,2026-03-02T14:30:00Z,10,11,9,10.5,"X, Inc."',
        '',
        'ACME,100,2026-03-02T14:31:00Z,10,11,9,10.5,Y',
      ].join('\r\n'),
    );
    const s = await new Engine().replay(path);
    expect(s).toMatchObject({ barsRead: 2, barsAccepted: 2, barsRejected: 0 });
  });

  it('counts each bad row by code and carries on with the rest', async () => {
    const rows = [
      HEADER,
      '2026-03-02T14:30:00Z,ACME,10,11,9,10.5,100', // good (line 2)
      '2026-03-02T14:30:00Z,BETA,10,11,9,10.5', // too few fields: MALFORMED_RECORD (3)
      '2026-03-02T14:30:00Z,GAMA,10,NaN,9,10,100', // NON_FINITE_VALUE (4)
      '2026-03-02T14:30:00Z,DELT,10,9,11,10,100', // high < low: INCONSISTENT_OHLC (5)
      '2026-03-02T14:30:00Z,EPSI,10,abc,9,10,100', // not a number: MALFORMED_RECORD (6)
      'not-a-time,ZETA,10,11,9,10,100', // INVALID_TIMESTAMP (7)
      '2026-03-02T14:30:00Z,,10,11,9,10,100', // empty symbol: MISSING_FIELD (8)
      '2026-03-02T14:30:00Z,ETA,-1,11,9,10,100', // NON_POSITIVE_PRICE (9)
      '2026-03-02T14:30:00Z,THET,10,11,9,10,-5', // NEGATIVE_VOLUME (10)
      '2026-03-02T14:30:00Z,IOTA,10,11,9,10,100', // good (11)
      '2026-03-02T14:30:00Z,KAPA,10,11,9,10,100,7', // too many fields: MALFORMED_RECORD (12)
      '2026-03-02T14:31:00Z,ACME,10,11,9,10,100', // good (13)
    ];
    const rejected: BarRejected[] = [];
    const engine = new Engine();
    const r = recorder('r');
    engine.use(r);
    const s = await engine.replay(csvFile(rows.join('\n')), { onReject: (e) => rejected.push(e) });
    expect(s).toMatchObject({ barsRead: 12, barsAccepted: 3, barsRejected: 9, batches: 2 });
    expect(s.rejectedByCode).toEqual({
      MALFORMED_RECORD: 3,
      NON_FINITE_VALUE: 1,
      INCONSISTENT_OHLC: 1,
      INVALID_TIMESTAMP: 1,
      MISSING_FIELD: 1,
      NON_POSITIVE_PRICE: 1,
      NEGATIVE_VOLUME: 1,
    });
    expect(rejected.map((e) => [e.line, e.rejection.code])).toEqual([
      [3, 'MALFORMED_RECORD'],
      [4, 'NON_FINITE_VALUE'],
      [5, 'INCONSISTENT_OHLC'],
      [6, 'MALFORMED_RECORD'],
      [7, 'INVALID_TIMESTAMP'],
      [8, 'MISSING_FIELD'],
      [9, 'NON_POSITIVE_PRICE'],
      [10, 'NEGATIVE_VOLUME'],
      [12, 'MALFORMED_RECORD'],
    ]);
    expect(r.batches.map((b) => b.map((x) => x.symbol))).toEqual([['ACME', 'IOTA'], ['ACME']]);
  });

  it('rejects a line longer than maxCsvLineLength as MALFORMED_RECORD', async () => {
    const path = csvFile(
      [
        HEADER,
        `2026-03-02T14:30:00Z,ACME,10,11,9,10.5,100${' '.repeat(100)}`,
        '2026-03-02T14:31:00Z,ACME,10,11,9,10.5,100',
      ].join('\n'),
    );
    const s = await new Engine({ maxCsvLineLength: 80 }).replay(path);
    expect(s).toMatchObject({ barsAccepted: 1, rejectedByCode: { MALFORMED_RECORD: 1 } });
  });

  it('rejects a bar that is not after its symbol’s last accepted bar (NON_MONOTONIC_TIMESTAMP), per symbol', async () => {
    const rows = [
      HEADER,
      '2026-03-02T14:31:00Z,ACME,10,11,9,10,100',
      '2026-03-02T14:31:00Z,ACME,10,11,9,10,100', // duplicate time: rejected
      '2026-03-02T14:30:00Z,ACME,10,11,9,10,100', // earlier: rejected
      '2026-03-02T14:30:00Z,BETA,10,11,9,10,100', // another symbol may be earlier than ACME: accepted
      '2026-03-02T14:32:00Z,ACME,10,11,9,10,100',
    ];
    const s = await new Engine().replay(csvFile(rows.join('\n')));
    expect(s).toMatchObject({ barsAccepted: 3, barsRejected: 2, rejectedByCode: { NON_MONOTONIC_TIMESTAMP: 2 } });
  });

  it('refuses bars of symbols beyond maxSymbols (SYMBOL_LIMIT) and keeps the known ones', async () => {
    const rows = [
      HEADER,
      '2026-03-02T14:30:00Z,AAA,10,11,9,10,1',
      '2026-03-02T14:30:00Z,BBB,10,11,9,10,1',
      '2026-03-02T14:30:00Z,CCC,10,11,9,10,1',
      '2026-03-02T14:31:00Z,AAA,10,11,9,10,1',
    ];
    const s = await new Engine({ maxSymbols: 2 }).replay(csvFile(rows.join('\n')));
    expect(s).toMatchObject({ barsAccepted: 3, rejectedByCode: { SYMBOL_LIMIT: 1 } });
  });

  it('groups consecutive bars of one timestamp into a batch and prefers onBars over onBar', async () => {
    const rows = [
      HEADER,
      ...['AAA', 'BBB', 'CCC'].map((s) => `2026-03-02T14:30:00Z,${s},10,11,9,10,1`),
      ...['AAA', 'BBB'].map((s) => `2026-03-02T14:31:00Z,${s},10,11,9,10,1`),
      '2026-03-02T14:32:00Z,CCC,10,11,9,10,1',
    ];
    const engine = new Engine();
    const both = {
      name: 'both',
      onBars: (b: readonly unknown[]) => void calls.push(`bars ${b.length}`),
      onBar: () => void calls.push('bar'),
    };
    const calls: string[] = [];
    const single = recorder('single', [], 'bar');
    engine.use(both);
    engine.use(single);
    const s = await engine.replay(csvFile(rows.join('\n')));
    expect(s.batches).toBe(3);
    expect(calls).toEqual(['bars 3', 'bars 2', 'bars 1']);
    expect(single.events.filter((e) => e.startsWith('bar'))).toEqual([
      'bar AAA',
      'bar BBB',
      'bar CCC',
      'bar AAA',
      'bar BBB',
      'bar CCC',
    ]);
  });

  it('a missing file is SOURCE_UNREADABLE; a non-source is INVALID_REPLAY_SOURCE', async () => {
    const engine = new Engine();
    await expect(engine.replay('/nonexistent/bulwark.csv')).rejects.toMatchObject({ code: 'SOURCE_UNREADABLE' });
    await expect(engine.replay(42 as never)).rejects.toMatchObject({ code: 'INVALID_REPLAY_SOURCE' });
  });
});

describe('splitCsvLine', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,c,', ['a', '', 'c', '']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
    ['"open', undefined],
    ['"a"b,c', undefined],
  ])('%s', (line, expected) => {
    expect(splitCsvLine(line)).toEqual(expected);
  });
});
