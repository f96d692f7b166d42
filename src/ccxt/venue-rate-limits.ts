/** A rate limit as Binance's `exchangeInfo.rateLimits` lists it. */
export interface VenueRateLimit {
  /** `ORDERS` (new orders), `REQUEST_WEIGHT` or `RAW_REQUESTS`. */
  readonly rateLimitType: string;
  /** `SECOND`, `MINUTE`, `HOUR` or `DAY`. */
  readonly interval: string;
  /** How many intervals one window spans (10 with SECOND: a 10 s window). */
  readonly intervalNum: number;
  /** What the venue admits in one window. */
  readonly limit: number;
}

/** Windows for Bulwark's limiter, from what the venue announces. */
export interface VenueRateWindows {
  /** New-order windows (ORDERS): every one is honoured at once (`SlidingWindowRateLimiter` `windows`). */
  readonly orders: readonly { readonly limit: number; readonly windowMs: number }[];
  /** Request weight per window (REQUEST_WEIGHT), for reads and cancels. */
  readonly weight: readonly { readonly limit: number; readonly windowMs: number }[];
}

const UNIT_MS: Readonly<Record<string, number>> = { SECOND: 1_000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

/**
 * The venue's announced limits as sliding windows, shortest first; entries it cannot read
 * (an unknown interval, a non-positive number) are left out rather than guessed.
 *
 * @example
 * ```ts
 * const info = await exchange.publicGetExchangeInfo();
 * const { orders } = venueRateWindows(info.rateLimits);
 * const limiter = new SlidingWindowRateLimiter({ ...orders[0], windows: orders.slice(1) });
 * ```
 */
export function venueRateWindows(rateLimits: unknown): VenueRateWindows {
  const orders: { limit: number; windowMs: number }[] = [];
  const weight: { limit: number; windowMs: number }[] = [];
  for (const r of Array.isArray(rateLimits) ? (rateLimits as unknown[]) : []) {
    if (typeof r !== 'object' || r === null) continue;
    const { rateLimitType, interval, intervalNum, limit } = r as Partial<Record<keyof VenueRateLimit, unknown>>;
    const unit = typeof interval === 'string' ? UNIT_MS[interval] : undefined;
    const n = Number(intervalNum);
    const l = Number(limit);
    if (unit === undefined || !Number.isInteger(n) || n < 1 || !Number.isInteger(l) || l < 1) continue;
    const window = { limit: l, windowMs: unit * n };
    if (rateLimitType === 'ORDERS') orders.push(window);
    else if (rateLimitType === 'REQUEST_WEIGHT') weight.push(window);
  }
  const byLength = (a: { windowMs: number }, b: { windowMs: number }) => a.windowMs - b.windowMs;
  return { orders: orders.sort(byLength), weight: weight.sort(byLength) };
}
