/**
 * Stable, SCREAMING_SNAKE codes carried by every error Bulwark throws. Callers branch on the
 * code (or use {@link isBulwarkError}), never on message text.
 */
export type ErrorCode =
  | 'INVALID_SIZE'
  | 'INVALID_PERIOD'
  | 'INVALID_WINDOW'
  | 'INVALID_OPTION'
  | 'INVALID_CONFIG'
  | 'NOT_INITIALIZED'
  | 'VENUE_REDUCING'
  | 'INVALID_INPUT_TYPE'
  | 'LENGTH_MISMATCH'
  | 'INDEX_OUT_OF_RANGE'
  | 'NAN_VALUE'
  | 'LIMIT_EXCEEDED'
  | 'BANK_DISPOSED'
  | 'OUT_OF_MEMORY'
  | 'WASM_LOAD_FAILED'
  | 'COORDINATION_UNAVAILABLE'
  | 'CLIENT_CLOSED';

/**
 * The one error class Bulwark throws. `code` is stable across versions; `details` holds the
 * inputs that caused it, for logs.
 *
 * @example
 * ```ts
 * try { k.atrBank({ symbols: 0, period: 14 }); }
 * catch (e) { if (isBulwarkError(e, 'INVALID_SIZE')) console.log(e.details); }
 * ```
 */
export class BulwarkError extends Error {
  override readonly name = 'BulwarkError';
  /** Stable reason code. */
  readonly code: ErrorCode;
  /** The inputs that caused the error. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(`${code}: ${message}`);
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

/**
 * Type guard for {@link BulwarkError}, optionally of one code.
 *
 * @example
 * ```ts
 * if (isBulwarkError(err, 'LENGTH_MISMATCH')) retryWithFixedInput();
 * ```
 */
export function isBulwarkError(value: unknown, code?: ErrorCode): value is BulwarkError {
  return value instanceof BulwarkError && (code === undefined || value.code === code);
}
