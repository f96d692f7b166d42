/**
 * An independent, in-process model of ONE broker account that speaks the broker protocol
 * (shared/docs/broker-protocol.md, v1) at the frame level: plain JSON-able objects in and
 * out, no WebSocket. It is written from that document alone (nothing is imported from
 * src/), so that tests of the adapter compare it with the document rather than with itself.
 *
 * Deterministic and synchronous: the clock is injected, every fault is decided by a hook the
 * test sets, and every frame produced by a call has been delivered when the call returns.
 *
 * Where the document is silent, this model chooses:
 * - Rate limit: only requests after a successful logon are counted (401s are not); every
 *   counted request counts in the window, refused ones (429/418/any error) included.
 *   retryAfter is the first instant at which one more request fits if nothing else is sent.
 *   "Limited" is an unbroken run of over-limit requests; one arriving >= 2 s after the
 *   run's first 429 gets 418; the ban lasts `banMs` and refuses every request of the
 *   account (logon and queries included). -1021 is sent with status 400.
 * - Without `apiSecret`, logon checks nothing (not even the timestamp).
 * - Malformed (-1100): a missing, null or non-string parameter, a decimal not matching
 *   /^\d+(\.\d+)?$/, a bad client id, price/stopPrice missing for or sent with a type that
 *   does not take it, an unknown method. Invalid (-1013): a well-formed zero amount, an
 *   amend below the executed quantity, a MARKET order before any price.
 * - A client id is used up only by an accepted order: after a refusal it is still free.
 * - Orders are found by (symbol, client id): the right id with another symbol is unknown.
 * - A stop or limit already through the last price at placement or amend executes at once
 *   at the last price; a resting LIMIT crossed by `setPrice` fills at its limit price.
 *   IOC expires the rest of a LIMIT (EXPIRED); reduceOnly is echoed, not enforced;
 *   REJECTED is never produced (a refused order is an error reply, not an order).
 * - Reports: one per change (NEW on accept, each fill, each amend, CANCELED, EXPIRED),
 *   lastQty/lastPrice "0" when nothing executed, seq from 1, queued before the reply of
 *   the request that caused them. Amounts are echoed as the client sent them; computed
 *   ones (executedQty, cumQty, lastQty of a stop) are minimal decimal strings.
 *
 * A venue without an in-place amend (`amend: 'cancel-replace'`, after Binance spot's
 * `order/cancelReplace` in STOP_ON_FAILURE mode, from Binance's API documentation, not from
 * Bulwark's code): `order.amend` is an unknown method (-1100); `order.replace` takes the new
 * order's parameters (as order.place) plus `cancelOrigClientOrderId`, and counts as one
 * request. Malformed parameters refuse it before anything happens. Otherwise the cancel is
 * tried first: an unknown or final order refuses it with -2022 (400) and nothing is placed;
 * a cancelled order whose new order is then refused (a taken client id, -2010 in Binance's
 * answer) leaves the old order cancelled and answers -2021 (409, "partially failed"). Done,
 * the result is the new order object with the cancelled one under `cancelled`.
 */
import { createHmac } from 'node:crypto';

export type Side = 'BUY' | 'SELL';
export type OrderType = 'MARKET' | 'LIMIT' | 'STOP_MARKET';
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';

/** The order object of the protocol, exactly as sent on the wire. */
export type OrderObject = {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: Side;
  type: OrderType;
  status: OrderStatus;
  quantity: string;
  executedQty: string;
  price?: string;
  stopPrice?: string;
  reduceOnly: boolean;
  updateTime: number;
};

export type ReportData = {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: Side;
  status: OrderStatus;
  lastQty: string;
  lastPrice: string;
  cumQty: string;
  eventTime: number;
  seq: number;
};
export type ExecutionReport = { event: 'executionReport'; data: ReportData };
export type ErrorBody = { code: number; msg: string; retryAfter?: number };
export type OkResponse = { id: string; status: 200; result: Record<string, unknown> };
export type ErrorResponse = { id: string; status: number; error: ErrorBody };
export type ResponseFrame = OkResponse | ErrorResponse;
/** Everything the server sends to a client. */
export type ServerFrame = ResponseFrame | ExecutionReport;

/** What happens to one request (see the class documentation). */
export type Fault =
  | 'NONE'
  | 'LOSE_REQUEST'
  | 'LOSE_REPLY'
  | 'BUSY'
  | 'UNKNOWN_EXECUTED'
  | 'UNKNOWN_NOT_EXECUTED'
  | 'DISCONNECT_BEFORE'
  | 'DISCONNECT_AFTER'
  | 'REJECT'
  | 'DELAY_REPLY';
/** What happens to one execution report on one connection. */
export type ReportFault = 'NONE' | 'LOSE' | 'DUPLICATE' | 'HOLD';

/** One execution on the account: the broker's truth. */
export type Execution = {
  clientOrderId: string;
  orderId: number;
  symbol: string;
  side: Side;
  quantity: string;
  price: string;
  time: number;
  /** true for trades made outside the tested program (see `foreignExecution`). */
  foreign: boolean;
};

/** One frame received by the model, as logged for assertions (index = `n`). */
export type RequestRecord = {
  n: number;
  connection: number;
  time: number;
  id: unknown;
  method: unknown;
  params: unknown;
  fault: Fault;
};

/** A half-open window [from, to) that held more counted requests than allowed. */
export type RateWindow = { from: number; to: number; count: number; times: number[] };

export type BrokerModelOptions = {
  now: () => number;
  /** Announced at logon and enforced: order.place + order.amend + order.cancel per 1 s. */
  limit: number;
  /** If given (with apiSecret), logon must name this key. */
  apiKey?: string;
  /** If given, logon is verified (key, timestamp, HMAC-SHA256); if not, any logon succeeds. */
  apiSecret?: string;
  /** How long a 418 ban lasts, ms. The document does not say; default 60 000. */
  banMs?: number;
  /** 'cancel-replace': a venue without order.amend, with order.replace (see the header). Default 'native'. */
  amend?: 'native' | 'cancel-replace';
  faultFor?: BrokerModel['faultFor'];
  reportFaultFor?: BrokerModel['reportFaultFor'];
};

/** One client connection. `receive` is client → server; frames come back through `deliver`. */
export interface ModelConnection {
  /** A frame from the client. Ignored once the connection is closed (nothing arrives). */
  receive(frame: unknown): void;
  /** The client drops the connection (e.g. it was killed): no frames either way afterwards. */
  close(): void;
  readonly open: boolean;
  /** 0-based, in connect order; the `connection` of RequestRecord. */
  readonly index: number;
}

/** A test-side amount: a positive decimal string, or a number whose String() is one. */
export type DecimalLike = string | number;

const DECIMAL = /^\d+(\.\d+)?$/;
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,36}$/;
const COUNTED: ReadonlySet<string> = new Set(['order.place', 'order.amend', 'order.replace', 'order.cancel']);
const SIDES = ['BUY', 'SELL'] as const;
const TYPES = ['MARKET', 'LIMIT', 'STOP_MARKET'] as const;
const TIFS = ['GTC', 'IOC'] as const;
const WINDOW_MS = 1000;
const BAN_AFTER_LIMITED_MS = 2000;
const TIMESTAMP_TOLERANCE_MS = 5000;
const MAX_FRAME_BYTES = 64 * 1024;
const UNKNOWN_MSG = 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.';

const isWorking = (o: { status: OrderStatus }): boolean => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';

type OrderRec = Omit<OrderObject, 'price' | 'stopPrice'> & {
  price: string | undefined;
  stopPrice: string | undefined;
  timeInForce: 'GTC' | 'IOC';
  foreign: boolean;
};

type ConnState = {
  index: number;
  deliver: (frame: ServerFrame) => void;
  onClose: ((code: number) => void) | undefined;
  loggedOn: boolean;
  seq: number;
  /** the server has decided to drop it; the close is queued behind frames already sent. */
  closing: boolean;
  closed: boolean;
  held: ExecutionReport[];
};

type OutItem = { conn: ConnState; frame: ServerFrame } | { conn: ConnState; closeCode: number };

/** A refused request: becomes an error response. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    msg: string,
    readonly retryAfter?: number,
  ) {
    super(msg);
  }
}

/**
 * The model of one broker account.
 *
 * Request faults (`faultFor`, consulted once per well-formed request frame, n = its index
 * in `requests`): LOSE_REQUEST never arrives (not counted, not executed, no reply);
 * LOSE_REPLY executes, no reply; BUSY 503 -1008, not executed; UNKNOWN_EXECUTED executes,
 * then 503 -1007; UNKNOWN_NOT_EXECUTED 503 -1007, not executed; DISCONNECT_BEFORE arrives
 * (counted) but the connection drops before it executes; DISCONNECT_AFTER executes (its
 * reports are sent) then the connection drops before the reply; REJECT 400 -1013, not
 * executed; DELAY_REPLY executes, the reply is held until `flushDelayed()`.
 * A request refused by the rate limit or a ban is not executed whatever its fault; only
 * the reply faults (LOSE_REPLY, DELAY_REPLY, DISCONNECT_*) still apply to its 429/418.
 */
export class BrokerModel {
  /** Decides each request's fault. Default: no faults. */
  faultFor: (method: string, params: Record<string, unknown>, n: number) => Fault = () => 'NONE';
  /** Decides each report's fault per connection; n counts report deliveries model-wide. */
  reportFaultFor: (report: ExecutionReport, n: number, connection: number) => ReportFault = () => 'NONE';
  /** The limit announced at logon and enforced. */
  readonly limit: number;

  readonly #now: () => number;
  readonly #apiKey: string | undefined;
  readonly #apiSecret: string | undefined;
  readonly #banMs: number;
  readonly #cancelReplace: boolean;
  readonly #conns: ConnState[] = [];
  /** by client order id; insertion order is orderId order. */
  readonly #orders = new Map<string, OrderRec>();
  readonly #lastPrice = new Map<string, string>();
  readonly #executions: Execution[] = [];
  readonly #receiveTimes: number[] = [];
  readonly #requests: RequestRecord[] = [];
  readonly #sentClientIds = new Set<string>();
  readonly #outbox: OutItem[] = [];
  readonly #delayed: { conn: ConnState; frame: ServerFrame }[] = [];
  #draining = false;
  #nextOrderId = 1;
  #reportCount = 0;
  #foreignCount = 0;
  #limitedSince: number | undefined;
  #bannedUntil = -Infinity;

  constructor(options: BrokerModelOptions) {
    if (!Number.isSafeInteger(options.limit) || options.limit < 1) throw new Error('limit must be a positive integer');
    this.#now = options.now;
    this.limit = options.limit;
    this.#apiKey = options.apiKey;
    this.#apiSecret = options.apiSecret;
    this.#banMs = options.banMs ?? 60_000;
    this.#cancelReplace = options.amend === 'cancel-replace';
    if (options.faultFor) this.faultFor = options.faultFor;
    if (options.reportFaultFor) this.reportFaultFor = options.reportFaultFor;
  }

  /**
   * Opens a connection. `deliver` receives every server frame (fresh objects). `onClose`
   * is called with a WebSocket close code when the SERVER drops the connection (1006 for a
   * fault, 1009 for a frame over 64 KiB, 1002 for a frame that is not a request), never
   * when the client calls `close()` (a killed client hears nothing).
   */
  connect(deliver: (frame: ServerFrame) => void, onClose?: (code: number) => void): ModelConnection {
    const conn: ConnState = {
      index: this.#conns.length,
      deliver,
      onClose,
      loggedOn: false,
      seq: 0,
      closing: false,
      closed: false,
      held: [],
    };
    this.#conns.push(conn);
    return {
      index: conn.index,
      get open() {
        return !conn.closed;
      },
      receive: (frame: unknown) => {
        this.#receive(conn, frame);
        this.#drain();
      },
      close: () => this.#forget(conn, true),
    };
  }

  /** Every execution on the account, in order (own and foreign). */
  get executions(): readonly Execution[] {
    return this.#executions;
  }
  /** The receive time of every counted request (place/amend/cancel after logon), refused ones included. */
  get receiveTimes(): readonly number[] {
    return this.#receiveTimes;
  }
  /** Every frame a client sent on an open connection, lost ones included, in order. */
  get requests(): readonly RequestRecord[] {
    return this.#requests;
  }

  /** Working orders (NEW, PARTIALLY_FILLED), by orderId, optionally of one symbol. */
  liveOrders(symbol?: string): OrderObject[] {
    return [...this.#orders.values()]
      .filter((o) => isWorking(o) && (symbol === undefined || o.symbol === symbol))
      .map(toObject);
  }

  /** The order the broker accepted under this client id, or undefined. */
  order(clientOrderId: string): OrderObject | undefined {
    const rec = this.#orders.get(clientOrderId);
    return rec && toObject(rec);
  }

  /**
   * Sets the last price and matches the symbol's working orders, oldest first: a SELL
   * stop triggers when price <= stopPrice, a BUY stop when price >= stopPrice, and fills
   * its remaining quantity at `price`; a resting LIMIT crossed by `price` fills at its
   * limit price.
   */
  setPrice(symbol: string, price: DecimalLike): void {
    const p = decimalArg(price, 'price');
    const t = this.#now();
    this.#lastPrice.set(symbol, p);
    for (const rec of [...this.#orders.values()]) if (rec.symbol === symbol) this.#match(rec, true, t);
    this.#drain();
  }

  /** Executes `qty` (0 < qty <= remaining) of a working order at `price`. */
  partialFill(clientOrderId: string, qty: DecimalLike, price: DecimalLike): void {
    const rec = this.#orders.get(clientOrderId);
    if (!rec || !isWorking(rec)) throw new Error(`partialFill: ${clientOrderId} is not a working order`);
    const q = decimalArg(qty, 'qty');
    if (cmp(q, sub(rec.quantity, rec.executedQty)) > 0)
      throw new Error(`partialFill: ${q} exceeds the remaining quantity`);
    this.#fill(rec, q, decimalArg(price, 'price'), this.#now());
    this.#drain();
  }

  /**
   * A trade on the account by someone else: a FILLED order under a client id the tested
   * program never sent (generated as `manual-<n>` unless given), recorded with
   * `foreign: true` and reported to every logged-on connection.
   */
  foreignExecution(
    symbol: string,
    side: Side,
    qty: DecimalLike,
    price: DecimalLike,
    clientOrderId?: string,
  ): OrderObject {
    let cid = clientOrderId;
    if (cid !== undefined && this.#orders.has(cid)) throw new Error(`foreignExecution: ${cid} is already used`);
    while (cid === undefined || this.#orders.has(cid) || this.#sentClientIds.has(cid))
      cid = `manual-${++this.#foreignCount}`;
    const t = this.#now();
    const q = decimalArg(qty, 'qty');
    const rec: OrderRec = {
      symbol,
      orderId: this.#nextOrderId++,
      clientOrderId: cid,
      side,
      type: 'MARKET',
      status: 'NEW',
      quantity: q,
      executedQty: '0',
      price: undefined,
      stopPrice: undefined,
      reduceOnly: false,
      updateTime: t,
      timeInForce: 'GTC',
      foreign: true,
    };
    this.#orders.set(cid, rec);
    this.#fill(rec, q, decimalArg(price, 'price'), t);
    this.#drain();
    return toObject(rec);
  }

  /**
   * Sends the replies held by DELAY_REPLY (oldest first, or newest first with 'lifo') to
   * connections still open, then any reports still held by HOLD. Returns how many replies.
   */
  flushDelayed(order: 'fifo' | 'lifo' = 'fifo'): number {
    const items = this.#delayed.splice(0);
    if (order === 'lifo') items.reverse();
    for (const { conn, frame } of items) this.#send(conn, frame);
    for (const conn of this.#conns) for (const report of conn.held.splice(0)) this.#send(conn, report);
    this.#drain();
    return items.length;
  }

  /** The most receive times in any half-open window [t, t + windowMs). */
  maxInAnyWindow(windowMs = WINDOW_MS): number {
    return Math.max(0, ...this.#windows(windowMs).map((w) => w.count));
  }

  /** The windows [t, t + windowMs), t a receive time, holding more than `limit` requests. */
  violations(limit: number, windowMs = WINDOW_MS): RateWindow[] {
    return this.#windows(windowMs).filter((w) => w.count > limit);
  }

  // ---- frames in

  #receive(conn: ConnState, frame: unknown): void {
    if (conn.closing || conn.closed) return;
    const time = this.#now();
    let text: string | undefined;
    try {
      text = JSON.stringify(frame);
    } catch {
      text = undefined;
    }
    const wire: unknown = text === undefined ? undefined : JSON.parse(text);
    const req: Record<string, unknown> = isRecord(wire) ? wire : {};
    const { id, method, params } = req;
    const wellFormed = typeof id === 'string' && id.length >= 1 && id.length <= 64 && typeof method === 'string';
    const n = this.#requests.length;
    const fault = wellFormed ? this.faultFor(method, structuredClone(isRecord(params) ? params : {}), n) : 'NONE';
    this.#requests.push({ n, connection: conn.index, time, id, method, params, fault });
    if (isRecord(params) && typeof params['newClientOrderId'] === 'string')
      this.#sentClientIds.add(params['newClientOrderId']);
    if (fault === 'LOSE_REQUEST') return;
    if (text !== undefined && Buffer.byteLength(text, 'utf8') > MAX_FRAME_BYTES) return this.#drop(conn, 1009);
    if (!wellFormed) return this.#drop(conn, 1002);
    this.#handle(conn, id, method, params, fault, time);
  }

  #handle(conn: ConnState, id: string, method: string, params: unknown, fault: Fault, t: number): void {
    const refusal = this.#admit(conn, method, t);
    if (fault === 'DISCONNECT_BEFORE') return this.#drop(conn, 1006);
    let reply: ResponseFrame;
    if (refusal) reply = errorFrame(id, refusal);
    else if (fault === 'BUSY')
      reply = errorFrame(id, new Refusal(503, -1008, 'Server is currently overloaded; try again later.'));
    else if (fault === 'UNKNOWN_NOT_EXECUTED') reply = errorFrame(id, new Refusal(503, -1007, UNKNOWN_MSG));
    else if (fault === 'REJECT') reply = errorFrame(id, new Refusal(400, -1013, 'Filter failure.'));
    else {
      reply = this.#execute(conn, id, method, params, t);
      if (fault === 'UNKNOWN_EXECUTED') reply = errorFrame(id, new Refusal(503, -1007, UNKNOWN_MSG));
    }
    if (fault === 'LOSE_REPLY') return;
    if (fault === 'DISCONNECT_AFTER') return this.#drop(conn, 1006);
    if (fault === 'DELAY_REPLY') {
      this.#delayed.push({ conn, frame: reply });
      return;
    }
    this.#send(conn, reply);
  }

  /**
   * Counts the request and applies a ban or the rate limit: the count at t is the number
   * of counted receive times in (t - 1 s, t], this one and refused ones included. Over the
   * limit: 429 with retryAfter = the first instant at which one more request would fit;
   * over it again >= 2 s after the first 429 of an unbroken run of refusals: 418, banned.
   * A ban refuses every request of the account (including logon and queries).
   */
  #admit(conn: ConnState, method: string, t: number): Refusal | undefined {
    const counted = conn.loggedOn && COUNTED.has(method);
    if (counted) {
      const last = this.#receiveTimes[this.#receiveTimes.length - 1];
      if (last !== undefined && t < last) throw new Error(`BrokerModel: the clock went backwards (${t} < ${last})`);
      this.#receiveTimes.push(t);
    }
    if (t < this.#bannedUntil) return banned(this.#bannedUntil);
    if (!counted) return undefined;
    const inWindow: number[] = [];
    for (let i = this.#receiveTimes.length - 1; i >= 0 && this.#receiveTimes[i]! > t - WINDOW_MS; i--) {
      inWindow.unshift(this.#receiveTimes[i]!);
    }
    if (inWindow.length <= this.limit) {
      this.#limitedSince = undefined;
      return undefined;
    }
    this.#limitedSince ??= t;
    if (t - this.#limitedSince >= BAN_AFTER_LIMITED_MS) {
      this.#limitedSince = undefined;
      this.#bannedUntil = t + this.#banMs;
      return banned(this.#bannedUntil);
    }
    const retryAfter = inWindow[inWindow.length - this.limit]! + WINDOW_MS;
    return new Refusal(
      429,
      -1015,
      `Too many new orders; current limit is ${this.limit} orders per SECOND.`,
      retryAfter,
    );
  }

  #execute(conn: ConnState, id: string, method: string, params: unknown, t: number): ResponseFrame {
    try {
      if (method !== 'session.logon' && !conn.loggedOn)
        throw new Refusal(401, -1002, 'Not logged on: session.logon first.');
      if (params !== undefined && !isRecord(params)) throw malformed('params');
      const p = params ?? {};
      return { id, status: 200, result: this.#dispatch(conn, method, p, t) };
    } catch (e) {
      if (e instanceof Refusal) return errorFrame(id, e);
      throw e;
    }
  }

  #dispatch(conn: ConnState, method: string, p: Record<string, unknown>, t: number): Record<string, unknown> {
    switch (method) {
      case 'session.logon':
        return this.#logon(conn, p, t);
      case 'order.place':
        return this.#place(p, t);
      case 'order.amend':
        if (this.#cancelReplace) throw new Refusal(400, -1100, `Unknown method '${method}'.`);
        return this.#amend(p, t);
      case 'order.replace':
        if (!this.#cancelReplace) throw new Refusal(400, -1100, `Unknown method '${method}'.`);
        return this.#replace(p, t);
      case 'order.cancel': {
        const rec = this.#find(p, -2011, 'Cancel rejected: unknown or final order.');
        this.#transition(rec, 'CANCELED', t);
        return toObject(rec);
      }
      case 'order.status':
        return toObject(this.#find(p, -2013, 'Order does not exist.'));
      case 'openOrders.status':
        return { orders: this.liveOrders(optString(p, 'symbol')) };
      case 'ping':
        return {};
      default:
        throw new Refusal(400, -1100, `Unknown method '${method}'.`);
    }
  }

  // ---- methods

  #logon(conn: ConnState, p: Record<string, unknown>, t: number): Record<string, unknown> {
    if (this.#apiSecret !== undefined) {
      const apiKey = reqString(p, 'apiKey');
      const timestamp = p['timestamp'];
      const signature = reqString(p, 'signature');
      if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) throw malformed('timestamp');
      if (this.#apiKey !== undefined && apiKey !== this.#apiKey) throw new Refusal(401, -1022, 'Invalid API key.');
      if (Math.abs(timestamp - t) > TIMESTAMP_TOLERANCE_MS) {
        throw new Refusal(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
      }
      const expected = createHmac('sha256', this.#apiSecret)
        .update(`apiKey=${apiKey}&timestamp=${timestamp}`)
        .digest('hex');
      if (signature.toLowerCase() !== expected)
        throw new Refusal(401, -1022, 'Signature for this request is not valid.');
    }
    conn.loggedOn = true;
    return {
      serverTime: t,
      rateLimits: [{ rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 1, limit: this.limit }],
    };
  }

  #place(p: Record<string, unknown>, t: number): Record<string, unknown> {
    const symbol = reqString(p, 'symbol');
    const side = reqEnum(p, 'side', SIDES);
    const type = reqEnum(p, 'type', TYPES);
    const quantity = reqDecimal(p, 'quantity');
    const price = optDecimal(p, 'price');
    const stopPrice = optDecimal(p, 'stopPrice');
    const timeInForce = p['timeInForce'] === undefined ? 'GTC' : reqEnum(p, 'timeInForce', TIFS);
    const reduceOnly = optBool(p, 'reduceOnly') ?? false;
    const cid = p['newClientOrderId'];
    if (typeof cid !== 'string' || !CLIENT_ID.test(cid)) throw malformed('newClientOrderId');
    onlyFor(type === 'LIMIT', 'price', price);
    onlyFor(type === 'STOP_MARKET', 'stopPrice', stopPrice);
    if (this.#orders.has(cid)) throw new Refusal(400, -2010, 'Duplicate order sent.');
    positive({ quantity, price, stopPrice });
    if (type === 'MARKET' && !this.#lastPrice.has(symbol))
      throw new Refusal(400, -1013, `No market price for ${symbol}.`);
    const rec: OrderRec = {
      symbol,
      orderId: this.#nextOrderId++,
      clientOrderId: cid,
      side,
      type,
      status: 'NEW',
      quantity,
      executedQty: '0',
      price,
      stopPrice,
      reduceOnly,
      updateTime: t,
      timeInForce,
      foreign: false,
    };
    this.#orders.set(cid, rec);
    this.#report(rec, '0', '0', t);
    this.#match(rec, false, t);
    if (type === 'LIMIT' && timeInForce === 'IOC' && isWorking(rec)) this.#transition(rec, 'EXPIRED', t);
    return toObject(rec);
  }

  #replace(p: Record<string, unknown>, t: number): Record<string, unknown> {
    // Malformed parameters are refused before anything happens.
    reqString(p, 'symbol');
    const type = reqEnum(p, 'type', TYPES);
    reqEnum(p, 'side', SIDES);
    const quantity = reqDecimal(p, 'quantity');
    onlyFor(type === 'LIMIT', 'price', optDecimal(p, 'price'));
    onlyFor(type === 'STOP_MARKET', 'stopPrice', optDecimal(p, 'stopPrice'));
    const cid = p['newClientOrderId'];
    if (typeof cid !== 'string' || !CLIENT_ID.test(cid)) throw malformed('newClientOrderId');
    positive({ quantity, price: optDecimal(p, 'price'), stopPrice: optDecimal(p, 'stopPrice') });
    const old = this.#orders.get(reqString(p, 'cancelOrigClientOrderId'));
    if (!old || old.symbol !== p['symbol'] || !isWorking(old))
      throw new Refusal(400, -2022, 'Order cancel-replace failed.');
    this.#transition(old, 'CANCELED', t);
    let placed: Record<string, unknown>;
    try {
      placed = this.#place(p, t);
    } catch (e) {
      if (e instanceof Refusal) throw new Refusal(409, -2021, `Order cancel-replace partially failed: ${e.message}`);
      throw e;
    }
    return { ...placed, cancelled: toObject(old) };
  }

  #amend(p: Record<string, unknown>, t: number): Record<string, unknown> {
    const quantity = optDecimal(p, 'quantity');
    const price = optDecimal(p, 'price');
    const stopPrice = optDecimal(p, 'stopPrice');
    if (quantity === undefined && price === undefined && stopPrice === undefined) {
      throw new Refusal(400, -1100, 'One of quantity, price, stopPrice is required.');
    }
    const rec = this.#find(p, -2011, 'Amend rejected: unknown or final order.');
    if (price !== undefined && rec.type !== 'LIMIT') throw notRequired('price');
    if (stopPrice !== undefined && rec.type !== 'STOP_MARKET') throw notRequired('stopPrice');
    positive({ quantity, price, stopPrice });
    if (quantity !== undefined && cmp(quantity, rec.executedQty) < 0) {
      throw new Refusal(400, -1013, `quantity ${quantity} is below the executed quantity ${rec.executedQty}.`);
    }
    if (quantity !== undefined) rec.quantity = quantity;
    if (price !== undefined) rec.price = price;
    if (stopPrice !== undefined) rec.stopPrice = stopPrice;
    // Nothing left to execute: the order is complete.
    this.#transition(rec, cmp(rec.executedQty, rec.quantity) === 0 ? 'FILLED' : rec.status, t);
    this.#match(rec, false, t);
    return toObject(rec);
  }

  /**
   * The order named by symbol + origClientOrderId. For -2013 (status) any accepted order;
   * for -2011 (cancel, amend) only a working one.
   */
  #find(p: Record<string, unknown>, code: -2011 | -2013, msg: string): OrderRec {
    const symbol = reqString(p, 'symbol');
    const rec = this.#orders.get(reqString(p, 'origClientOrderId'));
    if (!rec || rec.symbol !== symbol || (code === -2011 && !isWorking(rec))) throw new Refusal(400, code, msg);
    return rec;
  }

  // ---- matching and reports

  /** Executes what the last price allows; on placement/amend a marketable order takes the last price. */
  #match(rec: OrderRec, resting: boolean, t: number): void {
    const last = this.#lastPrice.get(rec.symbol);
    if (last === undefined || !isWorking(rec)) return;
    const sell = rec.side === 'SELL';
    let at: string | undefined;
    if (rec.type === 'MARKET') at = last;
    else if (rec.type === 'STOP_MARKET') {
      const c = cmp(last, rec.stopPrice!);
      if (sell ? c <= 0 : c >= 0) at = last;
    } else {
      const c = cmp(last, rec.price!);
      if (sell ? c >= 0 : c <= 0) at = resting ? rec.price! : last;
    }
    if (at !== undefined) this.#fill(rec, sub(rec.quantity, rec.executedQty), at, t);
  }

  #fill(rec: OrderRec, qty: string, price: string, t: number): void {
    rec.executedQty = add(rec.executedQty, qty);
    rec.status = cmp(rec.executedQty, rec.quantity) >= 0 ? 'FILLED' : 'PARTIALLY_FILLED';
    rec.updateTime = t;
    const { clientOrderId, orderId, symbol, side, foreign } = rec;
    this.#executions.push({ clientOrderId, orderId, symbol, side, quantity: qty, price, time: t, foreign });
    this.#report(rec, qty, price, t);
  }

  #transition(rec: OrderRec, status: OrderStatus, t: number): void {
    rec.status = status;
    rec.updateTime = t;
    this.#report(rec, '0', '0', t);
  }

  /** One executionReport per logged-on open connection, each with its own seq. */
  #report(rec: OrderRec, lastQty: string, lastPrice: string, t: number): void {
    const { symbol, orderId, clientOrderId, side, status, executedQty: cumQty } = rec;
    for (const conn of this.#conns) {
      if (!conn.loggedOn || conn.closing || conn.closed) continue;
      const data = {
        symbol,
        orderId,
        clientOrderId,
        side,
        status,
        lastQty,
        lastPrice,
        cumQty,
        eventTime: t,
        seq: ++conn.seq,
      };
      const frame: ExecutionReport = { event: 'executionReport', data };
      const fault = this.reportFaultFor(structuredClone(frame), this.#reportCount++, conn.index);
      if (fault === 'LOSE') continue;
      if (fault === 'HOLD') {
        conn.held.push(frame);
        continue;
      }
      this.#send(conn, frame);
      if (fault === 'DUPLICATE') this.#send(conn, frame);
      for (const held of conn.held.splice(0)) this.#send(conn, held);
    }
  }

  // ---- frames out

  #send(conn: ConnState, frame: ServerFrame): void {
    this.#outbox.push({ conn, frame });
  }

  /** The server drops the connection, after the frames already sent to it. */
  #drop(conn: ConnState, closeCode: number): void {
    this.#forget(conn, false);
    this.#outbox.push({ conn, closeCode });
  }

  /** Stops everything to and from the connection; `now` closes it at once (client side). */
  #forget(conn: ConnState, now: boolean): void {
    conn.closing = true;
    if (now) conn.closed = true;
    conn.held.length = 0;
    for (let i = this.#delayed.length - 1; i >= 0; i--) if (this.#delayed[i]!.conn === conn) this.#delayed.splice(i, 1);
  }

  /** Delivers queued frames in order; frames caused by the client's reactions queue behind. */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let item = this.#outbox.shift(); item; item = this.#outbox.shift()) {
        const { conn } = item;
        if (conn.closed) continue;
        if ('frame' in item) conn.deliver(JSON.parse(JSON.stringify(item.frame)) as ServerFrame);
        else {
          conn.closed = true;
          conn.onClose?.(item.closeCode);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #windows(windowMs: number): RateWindow[] {
    const ts = [...this.#receiveTimes].sort((a, b) => a - b);
    const out: RateWindow[] = [];
    for (let i = 0, j = 0; i < ts.length; i++) {
      while (j < ts.length && ts[j]! < ts[i]! + windowMs) j++;
      if (i === 0 || ts[i] !== ts[i - 1])
        out.push({ from: ts[i]!, to: ts[i]! + windowMs, count: j - i, times: ts.slice(i, j) });
    }
    return out;
  }
}

// ---- helpers

function toObject(rec: OrderRec): OrderObject {
  const { symbol, orderId, clientOrderId, side, type, status, quantity, executedQty, reduceOnly, updateTime } = rec;
  const o: OrderObject = {
    symbol,
    orderId,
    clientOrderId,
    side,
    type,
    status,
    quantity,
    executedQty,
    reduceOnly,
    updateTime,
  };
  if (rec.price !== undefined) o.price = rec.price;
  if (rec.stopPrice !== undefined) o.stopPrice = rec.stopPrice;
  return o;
}

function errorFrame(id: string, r: Refusal): ErrorResponse {
  const error: ErrorBody = { code: r.code, msg: r.message };
  if (r.retryAfter !== undefined) error.retryAfter = r.retryAfter;
  return { id, status: r.status, error };
}

function banned(until: number): Refusal {
  return new Refusal(418, -1003, `Way too many requests; banned until ${until}.`, until);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function malformed(name: string): Refusal {
  return new Refusal(400, -1100, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
}

function reqString(p: Record<string, unknown>, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || v === '') throw malformed(name);
  return v;
}

function optString(p: Record<string, unknown>, name: string): string | undefined {
  return p[name] === undefined ? undefined : reqString(p, name);
}

function reqEnum<T extends string>(p: Record<string, unknown>, name: string, allowed: readonly T[]): T {
  const v = p[name];
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw malformed(name);
  return found;
}

function reqDecimal(p: Record<string, unknown>, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || !DECIMAL.test(v)) throw malformed(name);
  return v;
}

function optDecimal(p: Record<string, unknown>, name: string): string | undefined {
  return p[name] === undefined ? undefined : reqDecimal(p, name);
}

function optBool(p: Record<string, unknown>, name: string): boolean | undefined {
  const v = p[name];
  if (v !== undefined && typeof v !== 'boolean') throw malformed(name);
  return v;
}

/** A price parameter must be sent for its order type and only for it (-1100 both ways). */
function onlyFor(applies: boolean, name: string, value: string | undefined): void {
  if (applies && value === undefined) throw malformed(name);
  if (!applies && value !== undefined) throw notRequired(name);
}

function notRequired(name: string): Refusal {
  return new Refusal(400, -1100, `Parameter '${name}' sent when not required.`);
}

/** Well-formed but zero amounts are invalid values (-1013), not malformed ones. */
function positive(values: Record<string, string | undefined>): void {
  for (const [name, v] of Object.entries(values)) {
    if (v !== undefined && cmp(v, '0') === 0) throw new Refusal(400, -1013, `Invalid ${name}: must be positive.`);
  }
}

/** A test-side amount: a decimal string, or a number whose String() is one. */
function decimalArg(v: DecimalLike, name: string): string {
  const s = typeof v === 'number' ? String(v) : v;
  if (!DECIMAL.test(s) || cmp(s, '0') === 0) throw new Error(`${name} must be a positive decimal, got ${s}`);
  return s;
}

// Exact decimal arithmetic on decimal strings (no floating point: 0.1 + 0.2 is 0.3).

function scaled(a: string, b: string): [bigint, bigint, number] {
  const [ai = '0', af = ''] = a.split('.');
  const [bi = '0', bf = ''] = b.split('.');
  const scale = Math.max(af.length, bf.length);
  return [BigInt(ai + af.padEnd(scale, '0')), BigInt(bi + bf.padEnd(scale, '0')), scale];
}

function cmp(a: string, b: string): number {
  const [x, y] = scaled(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function add(a: string, b: string): string {
  const [x, y, s] = scaled(a, b);
  return format(x + y, s);
}

function sub(a: string, b: string): string {
  const [x, y, s] = scaled(a, b);
  return format(x - y, s);
}

function format(n: bigint, scale: number): string {
  const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return (n < 0n ? '-' : '') + int + (frac ? `.${frac}` : '');
}
