/** One OHLCV bar. Timestamps are epoch milliseconds (UTC). */
export interface Bar {
  /** The bar's time in epoch ms (UTC); validation also accepts an ISO-8601 string and converts it. */
  readonly timestamp: number;
  /** Instrument: 1 to `maxSymbolLength` characters of [A-Za-z0-9._:/-], starting alphanumeric. */
  readonly symbol: string;
  /** First price of the bar, > 0. */
  readonly open: number;
  /** Highest price of the bar, ≥ open, close and low (`INCONSISTENT_OHLC` otherwise). */
  readonly high: number;
  /** Lowest price of the bar, > 0 and ≤ open and close. */
  readonly low: number;
  /** Last price of the bar, > 0; the engine marks positions at it. */
  readonly close: number;
  /** Quantity traded during the bar, ≥ 0 (`NEGATIVE_VOLUME` otherwise). */
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
  /** Client order id of the order that executed; Bulwark matches it against the stops it placed. */
  readonly orderId: string;
  /** Instrument of the execution. */
  readonly symbol: string;
  /** BUY adds to a long or reduces a short; SELL does the opposite. */
  readonly side: OrderSide;
  /** Executed quantity, > 0. */
  readonly quantity: number;
  /** Execution price, > 0. */
  readonly price: number;
  /** When the execution happened, in epoch ms. */
  readonly timestamp: number;
}

/** An open position as the host's portfolio reports it. One position per symbol (netting). */
export interface Position {
  /** Instrument of the position; at most one position per symbol. */
  readonly symbol: string;
  /** LONG or SHORT. */
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
  /** When the snapshot was taken, in epoch ms. */
  readonly timestamp: number;
  /** Total account equity (cash + marked positions), > 0. */
  readonly equity: number;
  /** Every open position, at most one per symbol (`DUPLICATE_POSITION` otherwise). */
  readonly positions: readonly Position[];
}
