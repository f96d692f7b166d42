import { BulwarkError } from '../errors.js';

/**
 * Stable, SCREAMING_SNAKE codes of the errors the reference engine throws: the `engine` area
 * of Bulwark's one vocabulary (`BulwarkErrorCode`), plus `ENGINE_DISPOSED`.
 */
export type EngineErrorCode =
  | 'INVALID_ENGINE_OPTION' // an EngineOptions field is out of range or of the wrong type
  | 'INVALID_PLUGIN' // not an object, no name, a hook that is not a function, or a decision that is not one
  | 'DUPLICATE_PLUGIN' // the same plugin object, or another with the same name, is registered
  | 'INVALID_REPLAY_SOURCE' // not a path, URL, iterable or async iterable
  | 'INVALID_CSV_HEADER' // the first line is not a header naming every required column
  | 'SOURCE_UNREADABLE' // the CSV file could not be opened or read
  | 'REPLAY_IN_PROGRESS' // replay() called while another replay runs
  | 'ENGINE_DISPOSED'; // the engine was disposed

/**
 * The error the reference engine throws, a {@link BulwarkError}. `code` is stable; `details`
 * holds the inputs that caused it. Bad records and failing plugins are counted, never thrown:
 * this is only for misuse of the engine itself.
 *
 * @example
 * ```ts
 * try { await engine.replay('bars.csv'); }
 * catch (e) { if (isEngineError(e, 'INVALID_CSV_HEADER')) console.error(e.details); }
 * ```
 */
export class EngineError extends BulwarkError {
  /** Always `EngineError`. */
  override readonly name: string = 'EngineError';
  /** Stable reason code. */
  declare readonly code: EngineErrorCode;

  constructor(
    code: EngineErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }
}

/**
 * Type guard for {@link EngineError}, optionally of one code.
 *
 * @example
 * ```ts
 * if (isEngineError(err, 'REPLAY_IN_PROGRESS')) await previousReplay;
 * ```
 */
export function isEngineError(value: unknown, code?: EngineErrorCode): value is EngineError {
  return value instanceof EngineError && (code === undefined || value.code === code);
}
