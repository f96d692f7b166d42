/**
 * Instrument filters from markets as the real ccxt package parses Binance's exchangeInfo, and
 * protective stops put on their grid (checked against hand-computed values).
 */
import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { filtersFromMarket, marketFor, venueStop, type CcxtMarketLike } from '../../src/ccxt/instrument-filters.js';

const binance = new ccxt.binance();
// parseMarket reads the margin pair lists loadMarkets fetches first; offline they are empty.
binance.options['crossMarginPairsData'] = [];
binance.options['isolatedMarginPairsData'] = [];

/** A Binance spot symbol from exchangeInfo (the fields ccxt reads). */
function spotSymbol(
  symbol: string,
  base: string,
  quote: string,
  tick: string,
  step: string,
  minQty: string,
  minNotional: string,
  orderTypes: string[],
) {
  return {
    symbol,
    status: 'TRADING',
    baseAsset: base,
    baseAssetPrecision: 8,
    quoteAsset: quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    orderTypes,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: tick, maxPrice: '1000000.00000000', tickSize: tick },
      { filterType: 'LOT_SIZE', minQty, maxQty: '9000.00000000', stepSize: step },
      {
        filterType: 'NOTIONAL',
        minNotional,
        applyMinToMarket: true,
        maxNotional: '9000000.00000000',
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
    ],
    permissions: ['SPOT'],
    permissionSets: [['SPOT']],
  };
}

const ALL_TYPES = [
  'LIMIT',
  'LIMIT_MAKER',
  'MARKET',
  'STOP_LOSS',
  'STOP_LOSS_LIMIT',
  'TAKE_PROFIT',
  'TAKE_PROFIT_LIMIT',
];
const btc = binance.parseMarket(
  spotSymbol('BTCUSDT', 'BTC', 'USDT', '0.01000000', '0.00001000', '0.00001000', '5.00000000', ALL_TYPES),
) as CcxtMarketLike;
const eth = binance.parseMarket(
  spotSymbol('ETHBTC', 'ETH', 'BTC', '0.00001000', '0.00010000', '0.00010000', '0.00010000', [
    'LIMIT',
    'LIMIT_MAKER',
    'MARKET',
    'STOP_LOSS_LIMIT',
    'TAKE_PROFIT_LIMIT',
  ]),
) as CcxtMarketLike;

describe('filtersFromMarket', () => {
  it('reads tick, lot, minimums and the stop type from ccxt’s parse of Binance spot markets', () => {
    expect(filtersFromMarket(btc, binance.precisionMode)).toEqual({
      symbol: 'BTC/USDT',
      id: 'BTCUSDT',
      tickSize: 0.01,
      lotStep: 0.00001,
      minQuantity: 0.00001,
      minNotional: 5,
      stopOrderType: 'STOP_LOSS',
      reduceOnly: false, // spot rejects reduceOnly (-1104)
    });
    expect(filtersFromMarket(eth, binance.precisionMode)).toMatchObject({
      tickSize: 0.00001,
      lotStep: 0.0001,
      stopOrderType: 'STOP_LOSS_LIMIT',
    });
  });

  it('derivatives stop with STOP_MARKET and reduceOnly; decimal-places precision becomes a step; no grid is refused', () => {
    const perp: CcxtMarketLike = {
      id: 'BTCUSDT',
      symbol: 'BTC/USDT:USDT',
      swap: true,
      precision: { price: 0.1, amount: 0.001 },
      limits: { amount: { min: 0.001 }, cost: { min: 100 } },
    };
    expect(filtersFromMarket(perp, ccxt.TICK_SIZE)).toMatchObject({
      stopOrderType: 'STOP_MARKET',
      reduceOnly: true,
      minNotional: 100,
    });
    const decimal: CcxtMarketLike = {
      id: 'X',
      symbol: 'X/Y',
      spot: true,
      precision: { price: 2, amount: 3 },
      limits: {},
    };
    expect(filtersFromMarket(decimal, ccxt.DECIMAL_PLACES)).toMatchObject({
      tickSize: 0.01,
      lotStep: 0.001,
      minQuantity: 0,
      minNotional: 0,
    });
    expect(() => filtersFromMarket(decimal, ccxt.SIGNIFICANT_DIGITS)).toThrow(/INVALID_OPTION/);
    expect(() => filtersFromMarket({ ...decimal, precision: {} }, ccxt.TICK_SIZE)).toThrow(/INVALID_OPTION/);
  });
});

describe('venueStop', () => {
  const f = filtersFromMarket(btc, binance.precisionMode);

  it('rounds the stop price only towards the tighter side and the quantity down to the lot', () => {
    expect(venueStop({ side: 'SELL', quantity: 0.123456, stopPrice: 61_234.561 }, f)).toEqual({
      ok: true,
      type: 'STOP_LOSS',
      stopPrice: 61_234.57, // a long's stop goes up
      quantity: 0.12345,
      reduceOnly: false,
    });
    expect(venueStop({ side: 'BUY', quantity: 0.5, stopPrice: 61_234.569 }, f)).toMatchObject({ stopPrice: 61_234.56 }); // a short's goes down
    expect(venueStop({ side: 'SELL', quantity: 0.5, stopPrice: 61_234.56 }, f)).toMatchObject({ stopPrice: 61_234.56 }); // on the grid: unchanged
  });

  it('below the minimum quantity or notional it is not sendable, with a code (reported, never sent to be refused)', () => {
    expect(venueStop({ side: 'SELL', quantity: 0.000009, stopPrice: 60_000 }, f)).toMatchObject({
      ok: false,
      code: 'BELOW_MIN_QUANTITY',
    });
    expect(venueStop({ side: 'SELL', quantity: 0.00008, stopPrice: 60_000 }, f)).toMatchObject({
      ok: false,
      code: 'BELOW_MIN_NOTIONAL',
    }); // 4.8 < 5
    expect(venueStop({ side: 'SELL', quantity: 0.00009, stopPrice: 60_000 }, f)).toMatchObject({
      ok: true,
      quantity: 0.00009,
    }); // 5.4
  });

  it('a stop-limit market gets a limit beyond the stop, away from the market, on the tick grid', () => {
    const g = filtersFromMarket(eth, binance.precisionMode);
    expect(venueStop({ side: 'SELL', quantity: 1, stopPrice: 0.05 }, g, 0.01)).toEqual({
      ok: true,
      type: 'STOP_LOSS_LIMIT',
      stopPrice: 0.05,
      quantity: 1,
      limitPrice: 0.0495,
      reduceOnly: false,
    });
    expect(venueStop({ side: 'BUY', quantity: 1, stopPrice: 0.05 }, g, 0.01)).toMatchObject({ limitPrice: 0.0505 });
  });
});

describe('marketFor', () => {
  it('accepts the venue’s id or ccxt’s unified symbol, and nothing else', () => {
    const markets = { 'BTC/USDT': btc, 'ETH/BTC': eth };
    expect(marketFor(markets, 'BTC/USDT')?.id).toBe('BTCUSDT');
    expect(marketFor(markets, 'BTCUSDT')?.symbol).toBe('BTC/USDT');
    expect(marketFor(markets, 'ETHBTC')?.symbol).toBe('ETH/BTC');
    expect(marketFor(markets, 'DOGEUSDT')).toBeUndefined();
  });
});
