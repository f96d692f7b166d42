/**
 * The problem with option `name` when `value` is not a positive safe integer, in the one
 * wording every option check uses; undefined when it is fine. For validators that collect
 * every problem before throwing one `INVALID_OPTION`.
 *
 * @example
 * ```ts
 * const p = positiveIntegerProblem('windowMs', windowMs);
 * if (p !== undefined) problems.push(p);
 * ```
 */
export function positiveIntegerProblem(name: string, value: unknown): string | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1
    ? undefined
    : `${name} must be a positive integer, got ${String(value)}`;
}
