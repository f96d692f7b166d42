/**
 * Why an input record (bar, fill, portfolio snapshot, order) was rejected. Stable
 * SCREAMING_SNAKE codes; counters are keyed by them.
 */
export const REJECTION_CODES = Object.freeze([
  'MALFORMED_RECORD', // not an object, or a field of the wrong type
  'MISSING_FIELD',
  'INVALID_SYMBOL', // empty, too long, or outside [A-Za-z0-9._:/-]
  'INVALID_TIMESTAMP', // not a finite epoch-ms number or parseable ISO-8601 string
  'NON_MONOTONIC_TIMESTAMP', // not after the last accepted timestamp for the same symbol
  'NON_FINITE_VALUE', // NaN or ±Infinity
  'NON_POSITIVE_PRICE',
  'INCONSISTENT_OHLC', // not low ≤ open, close ≤ high
  'NEGATIVE_VOLUME',
  'INVALID_QUANTITY', // not a finite positive number
  'INVALID_SIDE', // a side that is not BUY / SELL (fills, orders) or LONG / SHORT (positions)
  'INVALID_TYPE', // an order type that is not MARKET, LIMIT or STOP
  'INVALID_INTENT', // an order intent that is not ENTRY, EXIT or PROTECTIVE
  'VALUE_OUT_OF_RANGE', // above a configured maximum (price, quantity)
  'SYMBOL_LIMIT', // a new symbol beyond maxSymbols
  'POSITION_LIMIT', // a new position beyond maxPositions
  'QUEUE_FULL', // a bounded inbound queue is full (never for fills)
  'BATCH_LIMIT', // bars beyond limits.maxBatchBars in one onBars call
  'DUPLICATE_POSITION',
] as const);

/** A reason an input record was rejected. */
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** Why `beforeOrder` denied an order. */
export const DENY_CODES = Object.freeze([
  'TRADING_HALTED', // state HALTED: only exits and protective orders pass
  'REDUCING_NEW_EXPOSURE', // state REDUCING: the order would add exposure
  'SYMBOL_QUARANTINED', // an anomaly quarantined the symbol
  'INVALID_ORDER', // the order itself failed validation
  'POSITION_LIMIT',
  'NOT_OWNER', // several instances: another one manages this symbol
  'PLUGIN_ERROR', // a plugin threw: the engine fails closed
  'ORDER_NOTIONAL_LIMIT', // preTrade.maxOrderNotional: |quantity × price| of the order
  'POSITION_NOTIONAL_LIMIT', // preTrade.maxPositionNotional / positionNotionalBySymbol: the position after it
  'GROUP_NOTIONAL_LIMIT', // preTrade.maxGroupNotional: a group's gross after it
  'GROSS_EXPOSURE_LIMIT', // preTrade.maxGrossExposure: Σ |position notional| after it
  'NET_EXPOSURE_LIMIT', // preTrade.maxNetExposure: |Σ signed position notional| after it
  'OPEN_POSITIONS_LIMIT', // preTrade.maxOpenPositions: a new position beyond it
  'PRICE_BAND', // preTrade.priceBandPercent: a limit/stop price too far from the last close
  'DAILY_ORDER_LIMIT', // preTrade.maxOrdersPerDay: entries this session day
  'DAILY_LOSS_LIMIT', // protections.dailyLossLimit: the session's loss reached it; entries halted until the next
  'STOPLOSS_GUARD', // protections.stoplossGuard: too many stop-outs in the window; entries locked
  'COOLDOWN', // protections.cooldownAfterExitMs: the symbol was stopped out too recently
] as const);

/** A reason an order was denied. */
export type DenyCode = (typeof DENY_CODES)[number];
