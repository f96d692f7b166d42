/** One OHLCV bar. Timestamps are epoch milliseconds (UTC). */
export interface Bar {
  readonly timestamp: number;
  readonly symbol: string;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

/** Direction of an order or fill. */
export type OrderSide = 'BUY' | 'SELL';

/** Direction of a position. */
export type PositionSide = 'LONG' | 'SHORT';

/** The side of an order that closes (or protects) a position: SELL for a LONG, BUY for a SHORT. */
export function closingSide(side: PositionSide): OrderSide {
  return side === 'LONG' ? 'SELL' : 'BUY';
}

/** An execution reported by the host engine or broker. */
export interface Fill {
  /** Unique per execution; a repeated id is a duplicate report. */
  readonly fillId: string;
  readonly orderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  /** Executed quantity, > 0. */
  readonly quantity: number;
  readonly price: number;
  readonly timestamp: number;
}

/** An open position as the host's portfolio reports it. One position per symbol (netting). */
export interface Position {
  readonly symbol: string;
  readonly side: PositionSide;
  /** Absolute quantity, > 0. */
  readonly quantity: number;
  /** Average entry price. */
  readonly entryPrice: number;
  /** When the position was opened (epoch ms). */
  readonly openedAt: number;
}

/** The host's portfolio at one instant. */
export interface PortfolioSnapshot {
  readonly timestamp: number;
  /** Total account equity (cash + marked positions), > 0. */
  readonly equity: number;
  readonly positions: readonly Position[];
}
