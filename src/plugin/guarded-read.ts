/**
 * `raw[key]` when it is a string; undefined when it is not, or when reading it throws (a
 * hostile getter or proxy trap). For naming what an invalid record was about.
 *
 * @example
 * ```ts
 * readString(order, 'clientOrderId') ?? ''; // '' for null, a number, or a throwing getter
 * ```
 */
export function readString(raw: unknown, key: string): string | undefined {
  try {
    const readable = (typeof raw === 'object' && raw !== null) || typeof raw === 'function';
    const v: unknown = readable ? Reflect.get(raw, key) : undefined;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
