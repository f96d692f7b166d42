import { z } from 'zod';
import type { ObservedOrder } from '../vocabulary/services.js';

/**
 * Schemas of everything a broker may send (`shared/docs/broker-protocol.md`, v1). Inbound
 * frames are parsed and validated here before anything acts on them; a frame that fails is
 * counted and dropped with a code, never half-applied.
 */

const decimal = z.string().regex(/^\d+(\.\d+)?$/);
const clientOrderId = z.string().regex(/^[A-Za-z0-9._:-]{1,36}$/);
const orderStatus = z.enum(['NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);

/** Order statuses after which nothing more happens to the order (no fill, amend or cancel acts on it). */
export const FINAL_ORDER_STATUSES: ReadonlySet<string> = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);

/** Status of an order at the broker (`broker-protocol.md`). */
export type BrokerOrderState = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';

/** An order as the broker reports it (`result` of `order.*` and `openOrders.status`). */
export interface BrokerOrder {
  /** The instrument. */
  readonly symbol: string;
  /** The broker's id of the order. */
  readonly orderId: number;
  /** The id the client gave the order (Bulwark's are `bw-…`). */
  readonly clientOrderId: string;
  /** Buy or sell. */
  readonly side: 'BUY' | 'SELL';
  /** Order type. */
  readonly type: 'MARKET' | 'LIMIT' | 'STOP_MARKET';
  /** Where the order is in its life. */
  readonly status: BrokerOrderState;
  /** Ordered quantity, a decimal string. */
  readonly quantity: string;
  /** Quantity executed so far, a decimal string. */
  readonly executedQty: string;
  /** Limit price (LIMIT orders), a decimal string. */
  readonly price?: string | undefined;
  /** Trigger price (STOP_MARKET orders), a decimal string. */
  readonly stopPrice?: string | undefined;
  /** Whether the order may only reduce a position. */
  readonly reduceOnly: boolean;
  /** Broker time of the last change, ms since the epoch. */
  readonly updateTime: number;
}

/** A pushed execution report: one (partial) execution of an order. */
export interface ExecutionReport {
  /** Always `executionReport`. */
  readonly event: 'executionReport';
  /** The execution. */
  readonly data: {
    /** The instrument. */
    readonly symbol: string;
    /** The broker's id of the order. */
    readonly orderId: number;
    /** The client's id of the order. */
    readonly clientOrderId: string;
    /** Buy or sell. */
    readonly side: 'BUY' | 'SELL';
    /** The order's status after this execution. */
    readonly status: BrokerOrderState;
    /** Quantity of this execution, a decimal string. */
    readonly lastQty: string;
    /** Price of this execution, a decimal string. */
    readonly lastPrice: string;
    /** Quantity executed so far, a decimal string. */
    readonly cumQty: string;
    /** Broker time of the execution, ms since the epoch. */
    readonly eventTime: number;
    /** Sequence number of the report on this connection (a gap means reports were lost). */
    readonly seq: number;
  };
}

/** An order as the broker reports it. */
export const brokerOrderSchema: z.ZodType<BrokerOrder> = z.object({
  symbol: z.string().min(1).max(32),
  orderId: z.number().int(),
  clientOrderId,
  side: z.enum(['BUY', 'SELL']),
  type: z.enum(['MARKET', 'LIMIT', 'STOP_MARKET']),
  status: orderStatus,
  quantity: decimal,
  executedQty: decimal,
  price: decimal.optional(),
  stopPrice: decimal.optional(),
  reduceOnly: z.boolean(),
  updateTime: z.number().int().nonnegative(),
});

/** A successful response: the result's shape depends on the method. */
export const successSchema = z.object({
  id: z.string().min(1).max(64),
  status: z.literal(200),
  result: z.record(z.string(), z.unknown()),
});

/** An error response. */
export const errorSchema = z.object({
  id: z.string().min(1).max(64),
  status: z.number().int().min(400).max(599),
  error: z.object({
    code: z.number().int(),
    msg: z.string().max(1_024),
    retryAfter: z.number().int().nonnegative().optional(),
  }),
});

/** A pushed execution report. */
export const executionReportSchema: z.ZodType<ExecutionReport> = z.object({
  event: z.literal('executionReport'),
  data: z.object({
    symbol: z.string().min(1).max(32),
    orderId: z.number().int(),
    clientOrderId,
    side: z.enum(['BUY', 'SELL']),
    status: orderStatus,
    lastQty: decimal,
    lastPrice: decimal,
    cumQty: decimal,
    eventTime: z.number().int().nonnegative(),
    seq: z.number().int().nonnegative(),
  }),
});

export type BrokerSuccess = z.infer<typeof successSchema>;
export type BrokerErrorResponse = z.infer<typeof errorSchema>;

/** A validated inbound frame. */
export type InboundMessage =
  | { readonly kind: 'RESPONSE'; readonly message: BrokerSuccess }
  | { readonly kind: 'ERROR'; readonly message: BrokerErrorResponse }
  | { readonly kind: 'EXECUTION_REPORT'; readonly message: ExecutionReport };

/** Why an inbound frame was dropped. */
export type InboundRejection = 'FRAME_TOO_LARGE' | 'MALFORMED_FRAME' | 'UNKNOWN_MESSAGE' | 'INVALID_MESSAGE';

/** Default largest inbound frame: the protocol's 64 KiB. */
export const MAX_FRAME_BYTES = 64 * 1024;

/**
 * Parses and validates one inbound text frame.
 *
 * @example
 * ```ts
 * const r = parseInbound(text);
 * if (!r.ok) counters.add(r.code); else if (r.value.kind === 'EXECUTION_REPORT') onReport(r.value.message);
 * ```
 */
export function parseInbound(
  text: string,
  maxBytes = MAX_FRAME_BYTES,
):
  | { readonly ok: true; readonly value: InboundMessage }
  | { readonly ok: false; readonly code: InboundRejection; readonly detail: string } {
  // Not text at all (a binary frame's Buffer, undefined): malformed, not "too large".
  if (typeof text !== 'string')
    return { ok: false, code: 'MALFORMED_FRAME', detail: `not a text frame (${typeof text})` };
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    return { ok: false, code: 'FRAME_TOO_LARGE', detail: `over ${maxBytes} bytes` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: 'MALFORMED_FRAME', detail: e instanceof Error ? e.message : 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, code: 'MALFORMED_FRAME', detail: 'not a JSON object' };
  const rec = raw as Record<string, unknown>;
  const [kind, schema] =
    'event' in rec
      ? (['EXECUTION_REPORT', executionReportSchema] as const)
      : 'error' in rec
        ? (['ERROR', errorSchema] as const)
        : 'result' in rec
          ? (['RESPONSE', successSchema] as const)
          : ([undefined, undefined] as const);
  if (kind === undefined) return { ok: false, code: 'UNKNOWN_MESSAGE', detail: 'neither a response nor an event' };
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      code: 'INVALID_MESSAGE',
      detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  return { ok: true, value: { kind, message: parsed.data } as InboundMessage };
}

/**
 * The order in a broker's answer (an order object of the protocol), in the host's vocabulary;
 * undefined when the answer is not an order object.
 *
 * @example
 * ```ts
 * const order = observedOrderOf(await client.request('order.status', { symbol, origClientOrderId }));
 * ```
 */
export function observedOrderOf(result: Readonly<Record<string, unknown>>): ObservedOrder | undefined {
  const parsed = brokerOrderSchema.safeParse(result);
  if (!parsed.success) return undefined;
  const o = parsed.data;
  const stop = o.type === 'STOP_MARKET';
  const price = stop ? o.stopPrice : o.price;
  return Object.freeze({
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type === 'STOP_MARKET' ? 'STOP' : o.type,
    quantity: Number(o.quantity),
    executedQty: Number(o.executedQty),
    ...(price === undefined ? {} : { price: Number(price) }),
    status: o.status,
  });
}
