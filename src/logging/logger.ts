import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * The logging surface Bulwark uses: pino's (object first, message second). Any pino logger
 * (or a child of the host's) fits; so does anything with the same four methods and level check.
 */
export interface RiskLogger {
  /** True when records at `level` are written; Bulwark checks it before building a record. */
  isLevelEnabled(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
  /** Writes one record at debug level: the fields of `obj` and the message `msg`. */
  debug(obj: object, msg: string): void;
  /** Writes one record at info level: the fields of `obj` and the message `msg`. */
  info(obj: object, msg: string): void;
  /** Writes one record at warn level: the fields of `obj` and the message `msg`. */
  warn(obj: object, msg: string): void;
  /** Writes one record at error level: the fields of `obj` and the message `msg`. */
  error(obj: object, msg: string): void;
}

/** The field names that carry credentials or signatures. */
const CREDENTIAL_KEYS = ['apiKey', 'apiSecret', 'secret', 'signature', 'password', 'authorization'] as const;

/** How deep below the record's top level {@link REDACTED_PATHS} reach (`a.b.c.secret` is depth 3). */
export const REDACTION_DEPTH = 3;

/**
 * Paths pino removes from every record: each credential or signature field
 * (`apiKey`, `apiSecret`, `secret`, `signature`, `password`, `authorization`) at the top level
 * and nested up to {@link REDACTION_DEPTH} objects deep (ws options, logon params, errors
 * carrying a request, their headers). Their values never reach the output. Deeper nesting is
 * not searched: pino compiles each path, and a record carrying credentials deeper than that
 * is a bug of whoever logs it.
 */
export const REDACTED_PATHS: readonly string[] = Object.freeze(
  Array.from({ length: REDACTION_DEPTH + 1 }, (_, depth) =>
    CREDENTIAL_KEYS.map((key) => `${'*.'.repeat(depth)}${key}`),
  ).flat(),
);

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Default `info`. */
  readonly level?: LoggerOptions['level'];
  /** Default stdout (pino's own fast destination). */
  readonly destination?: DestinationStream;
  /** Fields on every record, e.g. `{ instance: 'a' }`. */
  readonly base?: Record<string, unknown>;
}

/**
 * A pino logger for Bulwark: JSON lines, ISO time, `component: 'bulwark'`, credentials and
 * signatures redacted ({@link REDACTED_PATHS}). Disabled levels cost a no-op call: pino
 * formats nothing below its level.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info' });
 * const plugin = createRiskPlugin({ logger });
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: { component: 'bulwark', ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination === undefined ? pino(opts) : pino(opts, options.destination);
}
