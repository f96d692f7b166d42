import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderEgress, type BrokerClient } from '../../src/egress/order-egress.js';
import { SlidingWindowRateLimiter } from '../../src/egress/rate-limiter.js';
import { VenueGuard } from '../../src/egress/venue-guard.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { TradingState } from '../../src/vocabulary/trading-state.js';

afterEach(() => vi.useRealTimers());

/** A shared budget under test control: `tokens` orders left, and the coordinator's state. */
function budget() {
  const b = {
    tokens: 0,
    state: 'ACTIVE' as TradingState,
    asked: 0,
    async tryTakeOrders(n = 1): Promise<boolean> {
      b.asked++;
      if (b.tokens < n) return false;
      b.tokens -= n;
      return true;
    },
  };
  return b;
}

const stop = (i: number): ProtectiveCommand => ({
  kind: 'PLACE_STOP',
  clientOrderId: `s-${i}`,
  symbol: 'AAA',
  side: 'SELL',
  quantity: 1,
  stopPrice: 9,
});
const cancel = (i: number): ProtectiveCommand => ({ kind: 'CANCEL', clientOrderId: `c-${i}`, symbol: 'AAA' });

function setup(b: ReturnType<typeof budget>) {
  const sent: string[] = [];
  const client: BrokerClient = {
    async request(_method, params) {
      sent.push(String(params['newClientOrderId'] ?? params['origClientOrderId']));
      return {};
    },
  };
  const egress = new OrderEgress({
    client,
    limiter: new SlidingWindowRateLimiter({ limit: 1_000 }),
    venue: new VenueGuard(),
    sharedBudget: b,
    sharedBudgetRetryMs: 20,
    maxInFlight: 8,
  });
  return { egress, sent };
}

describe('OrderEgress with a budget shared across instances', () => {
  it('sends no request the shared budget did not grant; waits for more, then goes on', async () => {
    vi.useFakeTimers();
    const b = budget();
    b.tokens = 3;
    const { egress, sent } = setup(b);
    const results = [1, 2, 3, 4, 5].map((i) => egress.send(stop(i)));
    await vi.advanceTimersByTimeAsync(200);
    expect(sent).toHaveLength(3);
    expect(b.tokens).toBe(0);
    b.tokens = 2; // the bucket refills
    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toHaveLength(5);
    expect((await Promise.all(results)).every((r) => r.ok)).toBe(true);
  });

  it('while coordination fails (not ACTIVE), protective orders go on under the local limiter; others keep waiting for the budget', async () => {
    vi.useFakeTimers();
    const b = budget();
    const { egress, sent } = setup(b);
    const cancels = [1, 2].map((i) => egress.send(cancel(i))); // REDUCE lane: not protective
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([]);
    b.state = 'REDUCING';
    const stops = [1, 2].map((i) => egress.send(stop(i)));
    await vi.advanceTimersByTimeAsync(100);
    expect((await Promise.all(stops)).every((r) => r.ok)).toBe(true);
    expect(sent.filter((id) => id.startsWith('s-'))).toEqual(['s-1', 's-2']);
    expect(sent.filter((id) => id.startsWith('c-'))).toEqual([]); // still waiting
    b.tokens = 2;
    await vi.advanceTimersByTimeAsync(50);
    expect((await Promise.all(cancels)).every((r) => r.ok)).toBe(true);
  });
});
