import { fileURLToPath } from 'node:url';
import type { Rejection } from '../validation/validated.js';
import { readCsvBars } from './csv-bars.js';
import { EngineError } from './errors.js';

/**
 * What `Engine.replay` reads: a CSV file (path or `file:` URL; columns
 * `timestamp,symbol,open,high,low,close,volume`, header required), or an iterable / async
 * iterable (e.g. an async generator) of raw bar records as `validateBar` takes them.
 */
export type BarSource = string | URL | Iterable<unknown> | AsyncIterable<unknown>;

/** One item of a source: a raw record to validate, or a line already refused. */
export type SourceItem =
  | { readonly kind: 'RAW'; readonly raw: unknown; readonly line: number | undefined }
  | { readonly kind: 'REFUSED'; readonly rejection: Rejection; readonly line: number };

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function isIterable(v: unknown): v is Iterable<unknown> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/**
 * The items of `source`, one at a time. Throws `INVALID_REPLAY_SOURCE` for anything that is
 * not a {@link BarSource}.
 *
 * @example
 * ```ts
 * for await (const item of sourceItems('bars.csv', 4096)) console.log(item.kind);
 * ```
 */
export async function* sourceItems(
  source: BarSource,
  maxLineLength: number,
): AsyncGenerator<SourceItem, void, undefined> {
  if (typeof source === 'string' || source instanceof URL) {
    const path = typeof source === 'string' ? source : fileURLToPath(source);
    for await (const row of readCsvBars(path, { maxLineLength })) {
      yield row.kind === 'RECORD'
        ? { kind: 'RAW', raw: row.record, line: row.line }
        : { kind: 'REFUSED', rejection: row.rejection, line: row.line };
    }
    return;
  }
  if (isAsyncIterable(source)) {
    for await (const raw of source) yield { kind: 'RAW', raw, line: undefined };
    return;
  }
  if (isIterable(source)) {
    for (const raw of source) yield { kind: 'RAW', raw, line: undefined };
    return;
  }
  throw new EngineError(
    'INVALID_REPLAY_SOURCE',
    'a replay source must be a CSV path, a file URL, an iterable or an async iterable',
    { type: typeof source },
  );
}
