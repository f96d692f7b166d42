import type { RejectionCode } from '../vocabulary/reason-codes.js';

/** Why one record was refused: a code for machines, a message for people. */
export interface Rejection {
  /** Stable SCREAMING_SNAKE reason; counters are keyed by it. */
  readonly code: RejectionCode;
  /** What was wrong, for people (often naming the limit or the values involved). */
  readonly message: string;
  /** The field at fault, when there is one. */
  readonly field?: string;
}

/** The result of validating one record. */
export type Validated<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rejection: Rejection };

/** A successful validation. */
export function accept<T>(value: T): Validated<T> {
  return { ok: true, value };
}

/** A failed validation. */
export function reject<T>(code: RejectionCode, message: string, field?: string): Validated<T> {
  return { ok: false, rejection: field === undefined ? { code, message } : { code, message, field } };
}
