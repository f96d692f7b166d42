import { BulwarkError } from '../errors.js';

/** Exit codes of the `bulwark` command, for scripts. */
export const EXIT = Object.freeze({
  OK: 0,
  /** Something failed while running (see the message). */
  FAILURE: 1,
  /** Bad command line: unknown command or flag, missing or invalid value. */
  USAGE: 2,
  /** An input file cannot be read. */
  NO_INPUT: 3,
  /** The broker cannot be reached or refused the credentials. */
  BROKER: 4,
  /** Benchmarks or checks ran and a target or check failed. */
  CHECK_FAILED: 5,
  /**
   * The replay ended (or was stopped) with protective stops not converged at the broker by
   * the drain deadline: they are printed and journaled as pending, and restored first at the
   * next start.
   */
  UNCONVERGED: 6,
  /** An output (report, log file, state dir) cannot be written: found before the replay starts. */
  NO_OUTPUT: 7,
  /** A port to listen on (`--port`, `--metrics-port`) is in use or not permitted. */
  PORT_UNAVAILABLE: 8,
});

/** The codes of {@link CliError}: the `cli` area of Bulwark's error codes. */
export type CliErrorCode = 'USAGE' | 'NO_INPUT' | 'BROKER' | 'FAILED' | 'BAD_CONFIG' | 'NO_OUTPUT' | 'PORT_UNAVAILABLE';

/**
 * An error the CLI reports as `CODE: message` (saying what to do) with its exit code; a
 * {@link BulwarkError}, so its message already starts with the code.
 */
export class CliError extends BulwarkError {
  override readonly name: string = 'CliError';
  declare readonly code: CliErrorCode;

  constructor(
    code: CliErrorCode,
    message: string,
    readonly exitCode: number,
  ) {
    super(code, message, { exitCode });
  }
}
