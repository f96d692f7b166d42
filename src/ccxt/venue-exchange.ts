import { BulwarkError } from '../errors.js';
import type { CcxtExchangeLike } from './ccxt-broker.js';
import { requireCcxt } from './require-ccxt.js';

/** Options of {@link createVenueExchange}. */
export interface VenueExchangeOptions {
  /** The API key (sent as the venue asks, e.g. Binance's `X-MBX-APIKEY`). */
  readonly apiKey?: string;
  /** The secret requests are signed with. */
  readonly secret?: string;
  /**
   * Another origin for the venue's REST API (a local simulator, a proxy), e.g.
   * `http://127.0.0.1:9000`: every URL in ccxt's `urls.api` keeps its path and takes this
   * scheme, host and port.
   */
  readonly url?: string;
  /** The venue's testnet (ccxt's `setSandboxMode(true)`); `UNKNOWN_VENUE` when it has none. */
  readonly sandbox?: boolean;
}

/** A ccxt exchange class, as the module exports it. */
type ExchangeClass = new (config: Record<string, unknown>) => CcxtExchangeLike & {
  urls: Record<string, unknown>;
  setSandboxMode(on: boolean): void;
};

/** `value` with every URL string's origin replaced by `origin` (paths kept), recursively. */
function reorigin(value: unknown, origin: URL): unknown {
  if (typeof value === 'string') {
    if (!/^(https?|wss?):\/\//.test(value)) return value;
    const u = new URL(value);
    return `${origin.protocol}//${origin.host}${u.pathname.replace(/\/$/, '')}${u.search}`;
  }
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reorigin(v, origin)]));
}

/**
 * A ccxt exchange instance by id (`binance`, `kraken`, …), ready for {@link createCcxtBroker}:
 * spot markets, markets loaded without the currency and margin endpoints (so a simulator or a
 * testnet that has only the spot API will do), on the venue's testnet with `sandbox`, or at
 * another origin with `url`. It throws `CCXT_NOT_INSTALLED` without ccxt and `UNKNOWN_VENUE`
 * for an id ccxt does not have.
 *
 * @example
 * ```ts
 * const exchange = await createVenueExchange('binance', { apiKey, secret, sandbox: true });
 * const broker = createCcxtBroker(exchange);
 * ```
 */
export async function createVenueExchange(id: string, options: VenueExchangeOptions = {}): Promise<CcxtExchangeLike> {
  // The module's `exchanges` maps every exchange id to its class.
  const ccxt = (await requireCcxt()) as { exchanges?: Readonly<Record<string, unknown>> };
  const Exchange =
    /^[a-z0-9]+$/.test(id) && ccxt.exchanges !== undefined && Object.hasOwn(ccxt.exchanges, id)
      ? ccxt.exchanges[id]
      : undefined;
  if (typeof Exchange !== 'function')
    throw new BulwarkError('UNKNOWN_VENUE', `ccxt has no exchange "${id}" (see ccxt.exchanges)`, { venue: id });
  const exchange = new (Exchange as ExchangeClass)({
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.secret === undefined ? {} : { secret: options.secret }),
    enableRateLimit: false,
    options: { defaultType: 'spot', fetchCurrencies: false, fetchMargins: false, fetchMarkets: { types: ['spot'] } },
  });
  if (options.sandbox === true) {
    try {
      exchange.setSandboxMode(true);
    } catch (e) {
      throw new BulwarkError('UNKNOWN_VENUE', `${id} has no sandbox (testnet) in ccxt`, {
        venue: id,
        cause: e instanceof Error ? e.message : String(e),
      });
    }
  }
  if (options.url !== undefined) {
    let origin: URL;
    try {
      origin = new URL(options.url);
    } catch {
      throw new BulwarkError('INVALID_OPTION', `url must be an http(s) URL, got "${options.url}"`, {
        url: options.url,
      });
    }
    exchange.urls['api'] = reorigin(exchange.urls['api'], origin);
  }
  return exchange;
}
