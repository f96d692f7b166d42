/** FNV-1a over UTF-16 code units, then murmur3's finaliser so close inputs spread evenly. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rendezvous (highest-random-weight) hashing: the owner of `symbol` is the member with the
 * highest hash of (member, symbol), ties to the smaller id. Every instance that sees the same
 * members computes the same owner without talking to the others; when a member leaves, only
 * its symbols move (spread evenly over the rest), and when one joins it takes about 1/n of
 * each other's. Undefined when there are no members.
 *
 * @example
 * ```ts
 * rendezvousOwner('AAPL', ['a', 'b', 'c']); // one of them, the same everywhere
 * ```
 */
export function rendezvousOwner(symbol: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const weight = hash32(`${member}\u0000${symbol}`);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * The owner of every symbol under {@link rendezvousOwner}.
 *
 * @example
 * ```ts
 * const owners = assignSymbols(['AAPL', 'MSFT'], ['a', 'b']); // Map { 'AAPL' => 'b', ... }
 * ```
 */
export function assignSymbols(symbols: readonly string[], members: readonly string[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const symbol of symbols) {
    const owner = rendezvousOwner(symbol, members);
    if (owner !== undefined) owners.set(symbol, owner);
  }
  return owners;
}
