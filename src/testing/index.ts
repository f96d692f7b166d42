/**
 * `bulwark/testing`: what a user needs to try Bulwark without a venue, and to test an
 * integration deterministically: the simulated broker (the broker protocol over WebSocket,
 * with fault injection), a simulated Binance spot REST API (the subset ccxt uses to protect
positions), the demo day's data and strategy, and a virtual clock.
 *
 * Fixtures, not production code: nothing in the other entry points depends on them.
 *
 * @packageDocumentation
 */
export { startSimBroker, type SimBroker, type SimBrokerOptions, type SimFaults } from './sim-broker.js';
export type { SimBook, SimOrder, SimExecution } from './sim-book.js';
export {
  startSimBinance,
  type SimBinance,
  type SimBinanceFaults,
  type SimBinanceOptions,
  type SimBinanceSymbol,
} from './sim-binance.js';
export { VirtualClock } from '../util/clock.js';
export { createDemoStrategy, type DemoStrategyOptions } from './demo-strategy.js';
export {
  DEMO_SEED,
  DEMO_START,
  DEMO_START_ISO,
  DEMO_MINUTES,
  DEMO_SYMBOLS,
  DEMO_CRASH,
  DEMO_BAD_TICK,
  DEMO_INVALID_ROW,
  DEMO_STALE,
  DEMO_EXPECTED,
  DEMO_CSV_PATH,
  demoCsvLines,
  writeDemoCsv,
} from './generate-demo-data.js';
