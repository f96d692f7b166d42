/**
 * `createVenueExchange` (what `--venue`, `--venue-url` and `--sandbox` build) and
 * `bulwark dlq replay --venue`: the dead letters asked about at a ccxt venue, re-sent only
 * when the venue provably never had them, judged by the simulated Binance's record.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createVenueExchange } from '../../src/ccxt/venue-exchange.js';
import { DeadLetterQueue } from '../../src/egress/dead-letter-queue.js';
import { isBulwarkError } from '../../src/errors.js';
import { startSimBinance } from '../../src/testing/sim-binance.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import { cli } from '../cli/run-cli.js';

const saved = { key: process.env['BULWARK_API_KEY'], secret: process.env['BULWARK_API_SECRET'] };
afterEach(() => {
  if (saved.key === undefined) delete process.env['BULWARK_API_KEY'];
  else process.env['BULWARK_API_KEY'] = saved.key;
  if (saved.secret === undefined) delete process.env['BULWARK_API_SECRET'];
  else process.env['BULWARK_API_SECRET'] = saved.secret;
});

const urlsOf = (e: unknown) => (e as { urls: { api: Record<string, unknown> } }).urls.api;

describe('createVenueExchange', () => {
  it('sandbox: the venue’s testnet hosts; url: every REST URL at another origin, paths kept; an unknown id: UNKNOWN_VENUE', async () => {
    const testnet = urlsOf(await createVenueExchange('binance', { sandbox: true }));
    expect(testnet['public']).toBe('https://testnet.binance.vision/api/v3');
    const moved = urlsOf(await createVenueExchange('binance', { url: 'http://127.0.0.1:9000' }));
    expect(moved['public']).toBe('http://127.0.0.1:9000/api/v3');
    expect(moved['private']).toBe('http://127.0.0.1:9000/api/v3');
    expect(
      Object.values(moved).filter((u) => typeof u === 'string' && !u.startsWith('http://127.0.0.1:9000/')),
    ).toEqual([]);
    const e = await createVenueExchange('nosuchvenue').catch((x: unknown) => x);
    expect(isBulwarkError(e, 'UNKNOWN_VENUE')).toBe(true);
  });
});

describe('bulwark dlq replay --venue', () => {
  it('asks the venue about each dead letter: one it never had is re-sent and accepted; one it has is removed, not re-sent', async () => {
    const venue = await startSimBinance({ apiKey: 'k', apiSecret: 's' });
    process.env['BULWARK_API_KEY'] = 'k';
    process.env['BULWARK_API_SECRET'] = 's';
    try {
      venue.feedPrice('BTCUSDT', 62_000);
      const stop = (id: string, stopPrice: number): ProtectiveCommand => ({
        kind: 'PLACE_STOP',
        clientOrderId: id,
        symbol: 'BTCUSDT',
        side: 'SELL',
        quantity: 0.01,
        stopPrice,
      });
      const dir = await mkdtemp(join(tmpdir(), 'bulwark-dlq-venue-'));
      const dlq = await DeadLetterQueue.open(join(dir, 'dlq.jsonl'));
      const t = Date.now();
      await dlq.add({ command: stop('bw-done', 60_000), code: 'IN_DOUBT', attempts: 3, firstAttemptAt: t, deadAt: t });
      await dlq.add({
        command: stop('bw-lost', 60_500),
        code: 'RETRIES_EXHAUSTED',
        attempts: 5,
        firstAttemptAt: t,
        deadAt: t,
      });
      await dlq.close();
      const first = await cli('dlq', 'replay', '--venue', 'binance', '--venue-url', venue.url, '--state-dir', dir);
      // Before: neither is at the venue, so both are re-sent.
      expect(first.code, first.err).toBe(0);
      expect(
        venue
          .open()
          .map((o) => [o.clientOrderId, o.stopPrice])
          .sort(),
      ).toEqual([
        ['bw-done', 60_000],
        ['bw-lost', 60_500],
      ]);
      // Dead-lettered again (say, a later in-doubt outcome): the venue has it now, so it is removed, not re-sent.
      const again = await DeadLetterQueue.open(join(dir, 'dlq.jsonl'));
      await again.add({
        command: stop('bw-done', 60_000),
        code: 'IN_DOUBT',
        attempts: 1,
        firstAttemptAt: t,
        deadAt: t,
      });
      await again.close();
      const second = await cli('dlq', 'replay', '--venue', 'binance', '--venue-url', venue.url, '--state-dir', dir);
      expect([second.code, second.out]).toEqual([
        0,
        expect.stringMatching(/bw-done\s+executed at the broker: removed/),
      ]);
      expect(venue.orderTimes).toHaveLength(2); // each id placed once
      const left = await DeadLetterQueue.open(join(dir, 'dlq.jsonl'));
      expect(left.size).toBe(0);
      await left.close();
    } finally {
      await venue.close();
    }
  });
});
