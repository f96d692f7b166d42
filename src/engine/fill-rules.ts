import type { Bar, OrderSide } from '../vocabulary/market.js';

/** The terms of an order that decide whether and where a bar fills it. */
export interface FillTerms {
  readonly side: OrderSide;
  readonly type: 'MARKET' | 'LIMIT' | 'STOP';
  /** Limit price for LIMIT, trigger price for STOP; unused for MARKET. */
  readonly price: number | undefined;
}

/**
 * Where `bar` fills an order that was working before the bar began, or undefined when it does
 * not. Nothing is known about the path inside a bar, so:
 * - MARKET: at the open.
 * - STOP: a SELL stop triggers when low ≤ stop, a BUY stop when high ≥ stop; it fills at the
 *   stop, or at the open when the bar opened through it (a gap: the open is the first price).
 * - LIMIT: a BUY limit fills when low ≤ limit, a SELL limit when high ≥ limit; at the limit,
 *   or at the open when the bar opened better than it.
 *
 * @example
 * ```ts
 * fillPrice({ side: 'SELL', type: 'STOP', price: 95 }, { ...bar, open: 100, low: 94 }); // 95
 * fillPrice({ side: 'SELL', type: 'STOP', price: 95 }, { ...bar, open: 90, low: 88 });  // 90 (gap)
 * ```
 */
export function fillPrice(order: FillTerms, bar: Bar): number | undefined {
  const { side, type, price } = order;
  if (type === 'MARKET') return bar.open;
  if (price === undefined) return undefined;
  if (type === 'STOP') {
    if (side === 'SELL') return bar.low <= price ? Math.min(bar.open, price) : undefined;
    return bar.high >= price ? Math.max(bar.open, price) : undefined;
  }
  if (side === 'BUY') return bar.low <= price ? Math.min(bar.open, price) : undefined;
  return bar.high >= price ? Math.max(bar.open, price) : undefined;
}
