/**
 * Every code a {@link BulwarkError} can carry, by the area that throws it. The README's
 * "Errors and codes" section lists the same codes under the same areas (a test checks both
 * ways). Codes are stable across versions: callers branch on them, never on message text.
 *
 * - `input`: a value or option the caller passed is invalid.
 * - `kernels`: the WebAssembly kernels: bad sizes, resource limits, memory, loading.
 * - `egress`: sending orders to a broker and the broker's answers.
 * - `engine`: the reference engine (`bulwark/engine`) misused.
 * - `coordination`: several instances on Redis.
 * - `cli`: the `bulwark` command; printed as `CODE: message`.
 * - `lifecycle`: a call at the wrong point in an object's life.
 */
export const BULWARK_ERROR_CODES_BY_AREA = Object.freeze({
  input: Object.freeze([
    'INVALID_OPTION', // an option or argument is out of range or of the wrong type
    'INVALID_CONFIG', // the risk plugin config is invalid (details.problems lists every problem)
    'INVALID_INPUT_TYPE', // a kernel input is not a Float64Array or an array of numbers
    'LENGTH_MISMATCH', // a kernel input has the wrong length
    'INDEX_OUT_OF_RANGE', // a slot, symbol index or pair outside the bank
    'NAN_VALUE', // NaN where a number is required
  ] as const),
  kernels: Object.freeze([
    'INVALID_SIZE', // a symbol / series / row count that is not an integer ≥ 1
    'INVALID_PERIOD', // an ATR period that is not an integer ≥ 1
    'INVALID_WINDOW', // a window that is not an integer in range
    'LIMIT_EXCEEDED', // over a documented limit (KernelLimits, maxBankBytes, a full table): nothing allocated
    'OUT_OF_MEMORY', // within the limits, but WebAssembly memory could not grow
    'WASM_LOAD_FAILED', // the .wasm module could not be read or instantiated
  ] as const),
  egress: Object.freeze([
    'BROKER_ERROR', // the broker answered with an error (a BrokerRequestError: action, status, brokerCode)
    'REQUEST_TIMEOUT', // no answer in time: the outcome is unknown
    'CONNECTION_LOST', // the connection dropped before the answer: the outcome is unknown
    'UNEXPECTED_ANSWER', // the broker's answer lacks what the request asks for
    'SEND_FAILED', // the request could not be written (the send function threw a non-Error)
    'NOT_CONNECTED', // not logged on, or the send buffer is full: nothing was sent
    'CLIENT_CLOSED', // the broker client was closed
    'EGRESS_CLOSED', // the order egress was closed
    'VENUE_REDUCING', // the venue's breaker is open: only protective orders are sent
    'CCXT_NOT_INSTALLED', // bulwark/ccxt was imported without the optional peer ccxt installed
    'UNKNOWN_VENUE', // no ccxt exchange has this id, or it has no sandbox (testnet) to switch to
  ] as const),
  engine: Object.freeze([
    'INVALID_ENGINE_OPTION', // an EngineOptions field is out of range or of the wrong type
    'INVALID_PLUGIN', // not an object, no name, a hook that is not a function, or an invalid decision
    'DUPLICATE_PLUGIN', // the same plugin object, or another with the same name, is registered
    'INVALID_REPLAY_SOURCE', // not a path, URL, iterable or async iterable
    'INVALID_CSV_HEADER', // the first line is not a header naming every required column
    'SOURCE_UNREADABLE', // the CSV file could not be opened or read
    'REPLAY_IN_PROGRESS', // replay() called while another replay runs
  ] as const),
  coordination: Object.freeze([
    'COORDINATION_UNAVAILABLE', // Redis did not answer, or answered what it should not
  ] as const),
  cli: Object.freeze([
    'USAGE', // unknown command or flag, missing or invalid value (exit 2)
    'NO_INPUT', // an input file cannot be read (exit 3)
    'BROKER', // the broker cannot be reached or refused the logon (exit 4)
    'FAILED', // anything else that failed while running (exit 1)
    'BAD_CONFIG', // the --config file is not valid JSON or not a valid risk configuration (exit 2)
    'NO_OUTPUT', // an output (report, log file, state dir) cannot be written (exit 7)
    'PORT_UNAVAILABLE', // a port to listen on is in use or not permitted (exit 8)
  ] as const),
  lifecycle: Object.freeze([
    'NOT_INITIALIZED', // used before its initialisation (onInit) completed
    'BANK_DISPOSED', // a kernel bank or anomaly detector used after dispose()
    'ENGINE_DISPOSED', // the engine was disposed
    'PLUGIN_DISPOSED', // the risk plugin used after onDispose()
    'INVALID_STATE', // a call not allowed in the object's current state
  ] as const),
});

/** An area of {@link BULWARK_ERROR_CODES_BY_AREA}. */
export type BulwarkErrorArea = keyof typeof BULWARK_ERROR_CODES_BY_AREA;

/**
 * Stable, SCREAMING_SNAKE codes carried by every error Bulwark throws or rejects with. This is
 * the one vocabulary of error codes: the engine's, the CLI's and the broker adapter's errors
 * are subclasses of {@link BulwarkError} with codes from it. See the README's "Errors and
 * codes" for what each means.
 */
export type BulwarkErrorCode = (typeof BULWARK_ERROR_CODES_BY_AREA)[BulwarkErrorArea][number];

/** @deprecated Use {@link BulwarkErrorCode}, the same type. */
export type ErrorCode = BulwarkErrorCode;

/** Every {@link BulwarkErrorCode}, area by area (see {@link BULWARK_ERROR_CODES_BY_AREA}). */
export const BULWARK_ERROR_CODES: readonly BulwarkErrorCode[] = Object.freeze(
  Object.values(BULWARK_ERROR_CODES_BY_AREA).flat(),
);

/**
 * The one error class Bulwark throws: everything it throws or rejects with is a BulwarkError
 * or a subclass (`EngineError`, `CliError`, `BrokerRequestError`). `code` is stable across
 * versions; `details` holds the inputs that caused it, for logs. The message starts with the
 * code. Errors Bulwark did not make pass through unchanged: those thrown by your own
 * callbacks, clients and plugins, and the file system's (Node's `code`, e.g. `EACCES`).
 *
 * @example
 * ```ts
 * try { k.atrBank({ symbols: 0, period: 14 }); }
 * catch (e) { if (isBulwarkError(e, 'INVALID_SIZE')) console.log(e.details); }
 * ```
 */
export class BulwarkError extends Error {
  override readonly name: string = 'BulwarkError';
  /** Stable reason code. */
  readonly code: BulwarkErrorCode;
  /** The inputs that caused the error. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: BulwarkErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

/**
 * Type guard for {@link BulwarkError} (subclasses included), optionally of one code.
 *
 * @example
 * ```ts
 * if (isBulwarkError(err, 'LENGTH_MISMATCH')) retryWithFixedInput();
 * ```
 */
export function isBulwarkError(value: unknown, code?: BulwarkErrorCode): value is BulwarkError {
  return value instanceof BulwarkError && (code === undefined || value.code === code);
}
