/**
 * `bulwark/ccxt`: Bulwark's protective path on real venues through ccxt (an optional peer
 * dependency). This entry needs the `ccxt` package: without it, importing it fails with a
 * BulwarkError `CCXT_NOT_INSTALLED` that says `npm install ccxt`; `bulwark` itself never
 * needs it.
 *
 * So far: what a venue's errors mean for a protective order ({@link classifyVenueError}),
 * instrument filters from ccxt's markets and protective stops put on their grid
 * ({@link filtersFromMarket}, {@link venueStop}), and symbols by venue id or unified symbol
 * ({@link marketFor}), and the venue's announced rate limits as the limiter's windows
({@link venueRateWindows}). The simulated Binance spot API to try them offline is in
 * `bulwark/testing` (`startSimBinance`, `bulwark broker --dialect binance`).
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
