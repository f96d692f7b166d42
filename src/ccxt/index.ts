/**
 * `bulwark/ccxt`: Bulwark's protective path on real venues through ccxt (an optional peer
 * dependency). This entry needs the `ccxt` package: without it, importing it fails with a
 * BulwarkError `CCXT_NOT_INSTALLED` that says `npm install ccxt`; `bulwark` itself never
 * needs it.
 *
 * {@link createCcxtBroker} wraps a ccxt exchange instance ({@link createVenueExchange} makes
 * one by id, on the venue's testnet or another origin) into the order egress's client: stops
 * as the market's stop type on its tick and lot grid, moved by cancel-replace, venue errors as
 * the protocol's outcomes, the venue's announced rate windows for Bulwark's limiter (ccxt's own
 * throttle off). The parts: what a venue's errors mean for a protective order
 * ({@link classifyVenueError}), instrument filters and stops on their grid
 * ({@link filtersFromMarket}, {@link venueStop}), symbols by venue id or unified symbol
 * ({@link marketFor}), announced limits as windows ({@link venueRateWindows}). The simulated
 * Binance spot API to try them offline is in `bulwark/testing` (`startSimBinance`,
 * `bulwark broker --dialect binance`).
 *
 * @packageDocumentation
 */
import { requireCcxt } from './require-ccxt.js';

await requireCcxt();

export { classifyVenueError, venueCodeOf, type VenueOutcome, type VenueOutcomeKind } from './venue-errors.js';
export {
  filtersFromMarket,
  marketFor,
  venueStop,
  type CcxtMarketLike,
  type InstrumentFilters,
  type StopOrderType,
  type VenueStop,
} from './instrument-filters.js';
export { venueRateWindows, type VenueRateLimit, type VenueRateWindows } from './venue-rate-limits.js';
export {
  createCcxtBroker,
  type CcxtBroker,
  type CcxtBrokerOptions,
  type CcxtExchangeLike,
  type CcxtOrderLike,
} from './ccxt-broker.js';
export { createVenueExchange, type VenueExchangeOptions } from './venue-exchange.js';
