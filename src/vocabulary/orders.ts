import type { DenyCode } from './reason-codes.js';
import type { OrderSide } from './market.js';
import type { ObservedOrder } from './services.js';

/** What an order is for; decides what each trading state lets through. */
export type OrderIntent =
  | 'ENTRY' // opens or adds to a position
  | 'EXIT' // closes or reduces a position
  | 'PROTECTIVE'; // a stop or a flattening order placed to limit loss

/** An order the host engine (or a strategy inside it) asks to send; checked by `beforeOrder`. */
export interface OrderRequest {
  /** The sender's id for the order, 1 to 64 characters; unique per order. */
  readonly clientOrderId: string;
  /** Instrument to trade. */
  readonly symbol: string;
  /** BUY or SELL. */
  readonly side: OrderSide;
  /** Quantity to trade, a finite number > 0 (`INVALID_QUANTITY` otherwise). */
  readonly quantity: number;
  /** MARKET, LIMIT or STOP; LIMIT and STOP need `price` (`MISSING_FIELD` without one). */
  readonly type: 'MARKET' | 'LIMIT' | 'STOP';
  /** Limit price for LIMIT, trigger price for STOP. */
  readonly price?: number;
  /** True when the order may only reduce an existing position. */
  readonly reduceOnly?: boolean;
  /** What the sender says the order is for; the risk plugin judges exits by the position, not by this. */
  readonly intent: OrderIntent;
}

/** The answer of a pre-trade check. */
export type OrderDecision =
  { readonly allow: true } | { readonly allow: false; readonly code: DenyCode; readonly message: string };

/** Shared, frozen "allow" decision. */
export const ALLOW: OrderDecision = Object.freeze({ allow: true });

/** A deny decision with its code. */
export function deny(code: DenyCode, message: string): OrderDecision {
  return Object.freeze({ allow: false, code, message });
}

/**
 * Commands Bulwark sends to protect positions. Imperative names (NautilusTrader's habit);
 * every command carries a client order id that is stable across retries of the same intent.
 */
export type ProtectiveCommand =
  | {
      readonly kind: 'PLACE_STOP';
      readonly clientOrderId: string;
      readonly symbol: string;
      /** SELL protects a long, BUY protects a short. */
      readonly side: OrderSide;
      readonly quantity: number;
      readonly stopPrice: number;
    }
  | {
      readonly kind: 'AMEND_STOP';
      /** The client order id of the live stop being amended. */
      readonly clientOrderId: string;
      readonly symbol: string;
      readonly stopPrice: number;
      /** The order's new total quantity (executed part included); omitted: unchanged. */
      readonly quantity?: number;
      /** Monotonic per position: a lower version never overwrites a higher one. */
      readonly version: number;
    }
  | {
      /**
       * Cancel-replace, for venues without an in-place amend (Binance spot): one request
       * cancels the live stop `replaces` and, only if that cancel succeeded, places a new stop
       * under a new client order id. The trailing stop becomes a chain of client ids.
       */
      readonly kind: 'REPLACE_STOP';
      /** The new stop's client order id (never the id it replaces). */
      readonly clientOrderId: string;
      /** The client order id of the live stop cancelled by the same request. */
      readonly replaces: string;
      readonly symbol: string;
      /** SELL protects a long, BUY protects a short. */
      readonly side: OrderSide;
      readonly quantity: number;
      readonly stopPrice: number;
    }
  | { readonly kind: 'CANCEL'; readonly clientOrderId: string; readonly symbol: string }
  | {
      readonly kind: 'CLOSE_POSITION';
      readonly clientOrderId: string;
      readonly symbol: string;
      readonly side: OrderSide;
      readonly quantity: number;
    };

/** The broker's answer to a command. */
export type CommandResult =
  | {
      readonly ok: true;
      readonly clientOrderId: string;
      /** The order as the broker showed it after the command, when it answered with one. */
      readonly order?: ObservedOrder;
      /** For a REPLACE_STOP: the cancelled order as the broker showed it, when it answered with it. */
      readonly replaced?: ObservedOrder;
    }
  | { readonly ok: false; readonly clientOrderId: string; readonly code: string; readonly message: string };

/**
 * Where Bulwark's protective commands go. The reference engine supplies a simple in-process
 * sink; the resilient egress (queue, rate limit, retries, breaker, dead-letter queue) is
 * another implementation of this same interface.
 */
export interface OrderSink {
  /**
   * Sends one command and resolves with the answer; a refusal resolves `ok: false` with a code.
   * A rejected promise leaves the command's outcome unknown.
   */
  send(command: ProtectiveCommand): Promise<CommandResult>;
}
