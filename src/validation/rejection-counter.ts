import { CodeCounter } from '../util/code-counter.js';
import type { RejectionCode } from '../vocabulary/reason-codes.js';

/**
 * Counts rejected records by reason code (a {@link CodeCounter} over the rejection codes).
 *
 * @example
 * ```ts
 * const c = new RejectionCounter();
 * c.add('NON_FINITE_VALUE');
 * c.toJSON(); // { NON_FINITE_VALUE: 1 }
 * ```
 */
export class RejectionCounter extends CodeCounter<RejectionCode> {}
