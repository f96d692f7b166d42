import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { BulwarkError } from '../errors.js';
import type { TradingState } from '../vocabulary/trading-state.js';
import { isRetryable, type BrokerErrorAction } from './broker-errors.js';

/**
 * A broker's error answer, classified (see `classifyBrokerError`): a {@link BulwarkError} with
 * code `BROKER_ERROR`; the broker's own numeric error code is `brokerCode`.
 */
export class BrokerRequestError extends BulwarkError {
  override readonly name: string = 'BrokerRequestError';
  declare readonly code: 'BROKER_ERROR';
  constructor(
    readonly action: BrokerErrorAction,
    readonly status: number,
    /** The broker's numeric error code (e.g. -1013, -2013). */
    readonly brokerCode: number,
    message: string,
    readonly retryAfter?: number,
  ) {
    super('BROKER_ERROR', `${status} ${brokerCode}: ${message}`, { action, status, brokerCode, retryAfter });
  }
}

/** Failures that say the venue is unwell (not that the order is bad): they trip the breaker. */
function isVenueFailure(e: Error): boolean {
  if (!(e instanceof BrokerRequestError)) return true; // timeouts, lost connections
  return e.action === 'RETRY' || e.action === 'IN_DOUBT' || e.action === 'BANNED';
}

/** Options of {@link VenueGuard}. */
export interface VenueGuardOptions {
  /** Attempts per request, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** First backoff delay (ms), doubling with decorrelated jitter. Default 100. */
  readonly initialDelayMs?: number;
  /** Largest backoff delay (ms). Default 5 000. */
  readonly maxDelayMs?: number;
  /** Consecutive venue failures that open the breaker. Default 5. */
  readonly breakAfter?: number;
  /** How long the breaker stays open before a half-open probe (ms). Default 10 000. */
  readonly halfOpenAfterMs?: number;
  /** Told when the venue's state changes. */
  readonly onStateChange?: (state: TradingState) => void;
}

/**
 * Retries and a circuit breaker for one venue, on cockatiel 3. Only retryable errors (the
 * protocol's -1008 "busy, not executed", and 429 after its pause) are retried, with
 * exponential backoff and jitter; a rejection is never retried, and an unknown outcome
 * (-1007, a timeout) is not retried here either: the caller must ask `order.status` first.
 * Each attempt counts towards the breaker; venue failures (busy, unknown outcome, bans,
 * timeouts) open it after `breakAfter` in a row. While it is not closed the venue is
 * REDUCING: non-protective requests are refused at once with `VENUE_REDUCING`. Protective
 * requests are never held back by the breaker: when it admits them they go through it (the
 * half-open probe that decides whether it closes again is one of them); when it is open they
 * go out directly, under the same retries and the broker's rate limit, so a failing venue
 * slows protection down to its rate limit and backoff, never to one probe per half-open period.
 *
 * @example
 * ```ts
 * const venue = new VenueGuard({ onStateChange: (s) => log(s) });
 * await venue.run(true, () => client.place(params)); // protective
 * ```
 */
export class VenueGuard {
  readonly #breaker: CircuitBreakerPolicy;
  readonly #policy: IPolicy;
  readonly #retries: IPolicy;
  #state: TradingState = 'ACTIVE';

  constructor(options: VenueGuardOptions = {}) {
    const {
      maxAttempts = 5,
      initialDelayMs = 100,
      maxDelayMs = 5_000,
      breakAfter = 5,
      halfOpenAfterMs = 10_000,
      onStateChange,
    } = options;
    this.#breaker = circuitBreaker(handleWhen(isVenueFailure), {
      halfOpenAfter: halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(breakAfter),
    });
    const retries = retry(
      handleWhen((e) => e instanceof BrokerRequestError && isRetryable(e.action)),
      {
        maxAttempts: maxAttempts - 1,
        backoff: new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs }),
      },
    );
    this.#retries = retries;
    this.#policy = wrap(retries, this.#breaker);
    const set = (state: TradingState) => {
      if (state === this.#state) return;
      this.#state = state;
      onStateChange?.(state);
    };
    this.#breaker.onBreak(() => set('REDUCING'));
    this.#breaker.onReset(() => set('ACTIVE'));
  }

  /** ACTIVE while the breaker is closed; REDUCING while it is open or half-open. */
  get state(): TradingState {
    return this.#state;
  }

  /** The breaker's own state, for metrics. */
  get circuit(): 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'ISOLATED' {
    return (
      {
        [CircuitState.Closed]: 'CLOSED',
        [CircuitState.Open]: 'OPEN',
        [CircuitState.HalfOpen]: 'HALF_OPEN',
        [CircuitState.Isolated]: 'ISOLATED',
      } as const
    )[this.#breaker.state];
  }

  /** Runs one request's attempts under the retry policy and the venue's breaker. */
  run<T>(protective: boolean, attempt: () => Promise<T>): Promise<T> {
    if (!protective && this.#breaker.state !== CircuitState.Closed) {
      return Promise.reject(
        new BulwarkError('VENUE_REDUCING', 'the venue is REDUCING: only protective orders are sent'),
      );
    }
    if (!protective)
      return this.#policy
        .execute(() => attempt())
        .catch((e: unknown) => {
          // The breaker opened between the check above and the attempt: the same refusal.
          if (e instanceof BrokenCircuitError)
            throw new BulwarkError('VENUE_REDUCING', 'the venue is REDUCING: only protective orders are sent');
          throw e;
        });
    return this.#policy
      .execute(() => attempt())
      .catch((e: unknown) => {
        if (e instanceof BrokenCircuitError) return this.#retries.execute(() => attempt());
        throw e;
      });
  }
}
