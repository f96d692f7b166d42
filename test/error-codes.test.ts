/**
 * The throw sites that used to throw a plain Error, RangeError or TypeError (or leak a
 * cockatiel error) now carry a code from the one vocabulary. Each is reached here as a user
 * (or Bulwark's own code) reaches it.
 */
import { BrokenCircuitError } from 'cockatiel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BrokerOrderService } from '../src/broker/broker-order-service.js';
import { CliError } from '../src/cli/cli-error.js';
import { main } from '../src/cli/bulwark.js';
import { SlidingWindowRateLimiter } from '../src/egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../src/egress/venue-guard.js';
import { Engine } from '../src/engine/engine.js';
import type { PluginFailed } from '../src/engine/plugin.js';
import { BulwarkError, isBulwarkError } from '../src/errors.js';
import { BarMailbox } from '../src/plugin/bar-mailbox.js';

afterEach(() => vi.useRealTimers());

const order = {
  clientOrderId: 'o1',
  symbol: 'AAA',
  side: 'BUY',
  quantity: 1,
  type: 'MARKET',
  intent: 'ENTRY',
} as const;

describe('codes at the former plain-Error throw sites', () => {
  it('BarMailbox misuse is INVALID_STATE', async () => {
    const mailbox = new BarMailbox(4);
    let queued: unknown;
    try {
      void mailbox.queue([], () => {});
    } catch (e) {
      queued = e;
    }
    expect(isBulwarkError(queued, 'INVALID_STATE')).toBe(true);
    let release = (): void => {};
    const running = mailbox.run(
      () => new Promise<void>((resolve) => (release = resolve)),
      async () => {},
    );
    let twice: unknown;
    try {
      void mailbox.run(
        async () => {},
        async () => {},
      );
    } catch (e) {
      twice = e;
    }
    expect(isBulwarkError(twice, 'INVALID_STATE')).toBe(true);
    release();
    await running;
  });

  it('an order.status answer without an order is UNEXPECTED_ANSWER; -2013 is still "never accepted"', async () => {
    let answer: () => Promise<Readonly<Record<string, unknown>>> = () => Promise.resolve({});
    const service = new BrokerOrderService({
      egress: {} as never,
      journal: {} as never,
      broker: { request: () => answer() },
      onFill: () => {},
      now: () => 0,
    });
    const err = await service.orderStatus('AAA', 'x').catch((e: unknown) => e);
    expect(isBulwarkError(err, 'UNEXPECTED_ANSWER')).toBe(true);
    answer = () => Promise.reject(new BrokerRequestError('NOT_FOUND', 400, -2013, 'Order does not exist.'));
    await expect(service.orderStatus('AAA', 'x')).resolves.toBeUndefined();
  });

  it('a send function that throws a non-Error rejects with SEND_FAILED; an Error passes through unchanged', async () => {
    const limiter = new SlidingWindowRateLimiter({ limit: 10 });
    const thrown = await limiter
      .run(() => {
        throw 'not an error'; // eslint-disable-line @typescript-eslint/only-throw-error -- the robustness under test: a caller's send that throws a string
      })
      .catch((e: unknown) => e);
    expect(isBulwarkError(thrown, 'SEND_FAILED')).toBe(true);
    expect((thrown as BulwarkError).details).toEqual({ thrown: 'not an error' });
    const own = new TypeError('the caller’s own');
    await expect(
      limiter.run(() => {
        throw own;
      }),
    ).rejects.toBe(own);
  });

  it('a beforeOrder that returns a non-decision is reported to onPluginError as an INVALID_PLUGIN EngineError (a BigInt included)', async () => {
    const failures: PluginFailed[] = [];
    const engine = new Engine({ onPluginError: (e) => failures.push(e) });
    engine.use({ name: 'big', beforeOrder: () => 10n as never });
    expect(await engine.submitOrder(order)).toMatchObject({ allow: false, code: 'PLUGIN_ERROR' });
    expect(failures).toHaveLength(1);
    expect(isBulwarkError(failures[0]?.error, 'INVALID_PLUGIN')).toBe(true);
    expect((failures[0]?.error as BulwarkError).details).toEqual({ name: 'big' });
  });

  it('a normal request whose retries open the breaker rejects with VENUE_REDUCING, not cockatiel’s BrokenCircuitError', async () => {
    vi.useFakeTimers({ now: 0 });
    const venue = new VenueGuard({ maxAttempts: 5, initialDelayMs: 10, breakAfter: 2, halfOpenAfterMs: 60_000 });
    let calls = 0;
    const result = venue
      .run(false, () => {
        calls++;
        return Promise.reject(new BrokerRequestError('RETRY', 503, -1008, 'busy'));
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    const err = await result;
    expect(calls).toBe(2); // the third attempt met the open breaker
    expect(err).not.toBeInstanceOf(BrokenCircuitError);
    expect(isBulwarkError(err, 'VENUE_REDUCING')).toBe(true);
    expect(venue.state).toBe('REDUCING');
  });

  it('the CLI prints a CliError once as CODE: message', async () => {
    const lines: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
    const code = await main(['replay', '--speed', 'fast'], out);
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(/^USAGE: --speed must be a number/m);
    expect(lines.join('\n')).not.toMatch(/USAGE: USAGE/);
    expect(new CliError('NO_INPUT', 'x', 3)).toBeInstanceOf(BulwarkError);
  });
});
