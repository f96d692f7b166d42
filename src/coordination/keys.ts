/** Default prefix of every key and channel Bulwark uses in Redis. */
export const DEFAULT_PREFIX = 'bulwark:';

/** Instance ids and lock owners: no `|` (it separates owner and token in a lock's value). */
export const OWNER_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Monotonic milliseconds (never jumps with the wall clock); lease deadlines use it. */
export function monotonicNow(): number {
  return performance.now();
}

/** Wall-clock epoch ms of a {@link monotonicNow} reading, for events and logs. */
export function epochOf(monotonicMs: number): number {
  return performance.timeOrigin + monotonicMs;
}

/** Redis key of the lock `name`: its value is `owner|token`, with a PX expiry. */
export function lockKey(prefix: string, name: string): string {
  return `${prefix}lock:${name}`;
}

/** Redis key of the fencing-token counter of lock `name` (never expires). */
export function tokenKey(prefix: string, name: string): string {
  return `${prefix}token:${name}`;
}

/** Redis key of the fence (highest token seen, and the value written) of `resource`. */
export function fenceKey(prefix: string, resource: string): string {
  return `${prefix}fence:${resource}`;
}

/** Lock name and fenced resource of one symbol's position. */
export function symbolResource(symbol: string): string {
  return `symbol:${symbol}`;
}

/** Redis key recording when this Redis first served a lock under the prefix (restart grace). */
export function epochKey(prefix: string): string {
  return `${prefix}epoch`;
}
