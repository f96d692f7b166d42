/**
 * Sets `key` in `map` as its newest entry, then drops the oldest entries beyond `max`: a
 * memory of the recent past with a fixed bound (insertion order is the map's own).
 *
 * @example
 * ```ts
 * const seen = new Map<string, number>();
 * rememberIn(seen, 'bw-1', 5, 100_000);
 * ```
 */
export function rememberIn<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key); // re-inserted last
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}

/** Adds `key` to `set` as its newest member, then drops the oldest beyond `max` (see {@link rememberIn}). */
export function addTo<K>(set: Set<K>, key: K, max: number): void {
  set.delete(key);
  set.add(key);
  while (set.size > max) set.delete(set.values().next().value as K);
}
