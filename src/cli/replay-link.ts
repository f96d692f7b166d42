import type { BrokerQueries } from '../broker/broker-order-service.js';
import { WsBrokerClient } from '../broker/ws-broker-client.js';
import { createCcxtBroker } from '../ccxt/ccxt-broker.js';
import { createVenueExchange } from '../ccxt/venue-exchange.js';
import type { BrokerClient } from '../egress/order-egress.js';
import type { ExecutionReport } from '../egress/protocol.js';
import { BrokerRequestError } from '../egress/venue-guard.js';
import { isBulwarkError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { CliError, EXIT } from './cli-error.js';
import { connectOrFail, within } from './replay-timing.js';

/** A rate window of the broker's, as the limiter takes it. */
export interface RateWindow {
  readonly limit: number;
  readonly windowMs: number;
}

/** The replay's way to the broker: a protocol broker over WebSocket, or a venue through ccxt. */
export interface ReplayLink {
  /** The egress's client, and the reads the order service makes. */
  readonly client: BrokerClient & BrokerQueries;
  /** Requests sent and not yet answered. */
  readonly awaiting: number;
  /** Where it goes, for the summary. */
  readonly label: string;
  /** Connects (logs on, or loads the venue's markets); resolves with the order windows the broker announces. */
  connect(timeoutMs: number): Promise<readonly RateWindow[]>;
  /** Price and quantity steps per symbol the broker lists (none for a protocol broker, which rounds nothing). */
  instruments(): Promise<Record<string, { readonly tickSize: number; readonly lotSize: number }>>;
  close(): void;
}

/** What the replay hears from a protocol broker. */
export interface LinkListeners {
  readonly onReport: (report: ExecutionReport['data']) => void;
  readonly onReconcile: () => void;
}

/** A broker speaking Bulwark's protocol (shared/docs/broker-protocol.md) at `url`. */
export function brokerLink(
  url: string,
  credentials: { readonly apiKey: string; readonly apiSecret: string } | undefined,
  clock: Clock,
  listeners: LinkListeners,
): ReplayLink {
  let announced = 0;
  const client = new WsBrokerClient({
    url,
    ...credentials,
    clock,
    onRateLimit: (n) => (announced = n),
    onReport: listeners.onReport,
    onReconcile: listeners.onReconcile,
  });
  return {
    client,
    get awaiting() {
      return client.awaiting;
    },
    label: url,
    async connect(timeoutMs) {
      await connectOrFail(client, url, timeoutMs);
      return [{ limit: Math.max(announced, 1), windowMs: 1_000 }];
    },
    instruments: () => Promise.resolve({}),
    close: () => client.close(),
  };
}

/** Options of {@link venueLink}: `bulwark replay --venue ID [--venue-url URL] [--sandbox]`. */
export interface VenueLinkOptions {
  readonly id: string;
  readonly url?: string;
  readonly sandbox?: boolean;
  /** Default: BULWARK_API_KEY. */
  readonly apiKey?: string;
  /** Default: BULWARK_API_SECRET. */
  readonly apiSecret?: string;
  readonly now: () => number;
}

/** A real venue through ccxt (`--venue`): needs the optional peer ccxt. */
export async function venueLink(options: VenueLinkOptions): Promise<ReplayLink> {
  // Credentials as given, else from the environment (as the WebSocket client takes them).
  const env = (name: string) => (process.env[name] === '' ? undefined : process.env[name]);
  const apiKey = options.apiKey ?? env('BULWARK_API_KEY');
  const secret = options.apiSecret ?? env('BULWARK_API_SECRET');
  let exchange;
  try {
    exchange = await createVenueExchange(options.id, {
      ...(options.url === undefined ? {} : { url: options.url }),
      ...(options.sandbox === true ? { sandbox: true } : {}),
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(secret === undefined ? {} : { secret }),
    });
  } catch (e) {
    if (
      isBulwarkError(e, 'UNKNOWN_VENUE') ||
      isBulwarkError(e, 'CCXT_NOT_INSTALLED') ||
      isBulwarkError(e, 'INVALID_OPTION')
    )
      throw new CliError('USAGE', e.message, EXIT.USAGE);
    throw e;
  }
  const broker = createCcxtBroker(exchange, { now: options.now });
  const where = `${options.id}${options.sandbox === true ? ' testnet' : ''}${options.url === undefined ? '' : ` at ${options.url}`}`;
  return {
    client: broker,
    get awaiting() {
      return broker.inFlight;
    },
    label: `${where} (ccxt)`,
    async connect(timeoutMs) {
      const fail = (what: string) => new CliError('BROKER', `${where}: ${what}`, EXIT.BROKER);
      try {
        const windows = await within(broker.rateWindows(), timeoutMs, () => {
          throw fail(`no answer within ${timeoutMs} ms: is the venue reachable?`);
        });
        // A signed read proves the credentials before any order depends on them.
        await within(broker.request('openOrders.status', {}), timeoutMs, () => {
          throw fail(`no answer within ${timeoutMs} ms to a signed request`);
        });
        return windows;
      } catch (e) {
        if (e instanceof CliError) throw e;
        if (e instanceof BrokerRequestError && e.action === 'RELOGON')
          throw fail(`the venue refused the credentials (${e.message}): check BULWARK_API_KEY and BULWARK_API_SECRET`);
        throw fail(`unreachable or refusing (${e instanceof Error ? e.message : String(e)})`);
      }
    },
    instruments: () => broker.instruments(),
    close: () => undefined, // ccxt keeps no connection open between REST requests
  };
}
