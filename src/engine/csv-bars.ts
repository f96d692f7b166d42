import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Rejection } from '../validation/validated.js';
import { EngineError } from './errors.js';
import { at } from '../util/indexed.js';

/** The columns a bar CSV must name in its header (any order, case-insensitive; others ignored). */
export const CSV_BAR_COLUMNS = Object.freeze([
  'timestamp',
  'symbol',
  'open',
  'high',
  'low',
  'close',
  'volume',
] as const);

/** One data line of a bar CSV: a raw record for `validateBar`, or a line that is not one. */
export type CsvRow =
  | { readonly kind: 'RECORD'; readonly line: number; readonly record: Readonly<Record<string, unknown>> }
  | { readonly kind: 'MALFORMED'; readonly line: number; readonly rejection: Rejection };

/** Column positions of the required fields, and how many fields the header has. */
interface Header {
  readonly columns: ReadonlyArray<readonly [field: string, index: number]>;
  readonly width: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
const NUMERIC_COLUMNS: ReadonlySet<string> = new Set(['open', 'high', 'low', 'close', 'volume']);

/**
 * Splits one CSV line (RFC 4180 quoting, no line breaks inside quotes); undefined when the
 * quoting is broken.
 *
 * @example
 * ```ts
 * splitCsvLine('a,"b,c",'); // ['a', 'b,c', '']
 * ```
 */
export function splitCsvLine(line: string): string[] | undefined {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const j = line.indexOf('"', i);
        if (j < 0) return undefined;
        field += line.slice(i, j);
        if (line[j + 1] === '"') {
          field += '"';
          i = j + 2;
        } else {
          i = j + 1;
          break;
        }
      }
      out.push(field);
      if (i === line.length) return out;
      if (line[i] !== ',') return undefined;
      i++;
    } else {
      const j = line.indexOf(',', i);
      if (j < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, j));
      i = j + 1;
    }
  }
}

/**
 * Maps the header line to column positions, or throws `INVALID_CSV_HEADER` naming what is
 * missing or repeated.
 *
 * @example
 * ```ts
 * const header = parseCsvHeader('symbol,timestamp,open,high,low,close,volume');
 * parseCsvHeader('timestamp,symbol,close'); // throws INVALID_CSV_HEADER (missing open, high, low, volume)
 * ```
 */
export function parseCsvHeader(line: string, source = 'CSV'): Header {
  const names = (splitCsvLine(line.replace(/^\uFEFF/, '')) ?? []).map((n) => n.trim().toLowerCase());
  const missing = CSV_BAR_COLUMNS.filter((c) => !names.includes(c));
  const repeated = CSV_BAR_COLUMNS.filter((c) => names.indexOf(c) !== names.lastIndexOf(c));
  if (missing.length > 0 || repeated.length > 0) {
    const problems = [
      ...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []),
      ...(repeated.length > 0 ? [`repeated ${repeated.join(', ')}`] : []),
    ];
    throw new EngineError(
      'INVALID_CSV_HEADER',
      `${source}: the first line must be a header naming ${CSV_BAR_COLUMNS.join(',')} (${problems.join('; ')})`,
      {
        source,
        header: line.slice(0, 200),
        missing,
        repeated,
      },
    );
  }
  return { columns: CSV_BAR_COLUMNS.map((c) => [c, names.indexOf(c)] as const), width: names.length };
}

// A numeric cell: a decimal number becomes a number, NaN/Infinity become non-finite numbers
// (rejected NON_FINITE_VALUE), anything else stays a string (rejected MALFORMED_RECORD).
function numericCell(cell: string): unknown {
  if (NUMBER.test(cell)) return Number(cell);
  if (NON_FINITE.test(cell))
    return cell.toLowerCase().includes('nan')
      ? Number.NaN
      : cell.startsWith('-')
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY;
  return cell;
}

/**
 * One data line as a raw bar record for `validateBar`. Cells are trimmed; an empty cell is a
 * missing field; the timestamp stays a string (epoch ms digits or ISO-8601). A line whose
 * field count differs from the header's is `MALFORMED_RECORD`.
 *
 * @example
 * ```ts
 * csvLineToRow('2026-03-02T14:30:00Z,ACME,10,11,9,10.5,100', 2, header, 4096);
 * // { kind: 'RECORD', line: 2, record: { timestamp: '2026-03-02T14:30:00Z', symbol: 'ACME', open: 10, … } }
 * ```
 */
export function csvLineToRow(text: string, line: number, header: Header, maxLineLength: number): CsvRow {
  if (text.length > maxLineLength) {
    return {
      kind: 'MALFORMED',
      line,
      rejection: { code: 'MALFORMED_RECORD', message: `line ${line} is longer than ${maxLineLength} characters` },
    };
  }
  const cells = splitCsvLine(text);
  if (cells === undefined)
    return {
      kind: 'MALFORMED',
      line,
      rejection: { code: 'MALFORMED_RECORD', message: `line ${line}: broken quoting` },
    };
  if (cells.length !== header.width) {
    return {
      kind: 'MALFORMED',
      line,
      rejection: {
        code: 'MALFORMED_RECORD',
        message: `line ${line}: ${cells.length} fields, the header has ${header.width}`,
      },
    };
  }
  const record: Record<string, unknown> = {};
  for (const [field, index] of header.columns) {
    const cell = at(cells, index).trim();
    if (cell === '') continue;
    record[field] = NUMERIC_COLUMNS.has(field) ? numericCell(cell) : cell;
  }
  return { kind: 'RECORD', line, record };
}

/**
 * Streams a bar CSV file line by line (node:readline over a file stream; the file is never
 * read whole). The first non-blank line must be the header; blank lines are skipped; every
 * other line yields one {@link CsvRow}. Line numbers are 1-based.
 *
 * @example
 * ```ts
 * for await (const row of readCsvBars('data/demo-day.csv')) {
 *   if (row.kind === 'RECORD') handle(validateBar(row.record, DEFAULT_INPUT_LIMITS));
 * }
 * ```
 */
export async function* readCsvBars(
  path: string,
  options: { readonly maxLineLength?: number } = {},
): AsyncGenerator<CsvRow, void, undefined> {
  const maxLineLength = options.maxLineLength ?? 4096;
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let header: Header | undefined;
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      if (header === undefined) {
        header = parseCsvHeader(text, path);
        continue;
      }
      yield csvLineToRow(text, n, header, maxLineLength);
    }
  } catch (e) {
    if (e instanceof EngineError) throw e;
    throw new EngineError(
      'SOURCE_UNREADABLE',
      `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`,
      { path },
      { cause: e },
    );
  } finally {
    lines.close();
    stream.destroy();
  }
  if (header === undefined)
    throw new EngineError('INVALID_CSV_HEADER', `${path}: empty file, a header row is required`, { source: path });
}
