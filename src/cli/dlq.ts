import { join } from 'node:path';
import { DeadLetterQueue, type DeadLetter } from '../egress/dead-letter-queue.js';
import { OrderEgress, type BrokerClient } from '../egress/order-egress.js';
import { OrderJournal } from '../egress/order-journal.js';
import { SlidingWindowRateLimiter } from '../egress/rate-limiter.js';
import { BrokerRequestError, VenueGuard } from '../egress/venue-guard.js';
import type { ProtectiveCommand } from '../vocabulary/orders.js';
import { SYSTEM_CLOCK } from '../util/clock.js';
import { brokerLink, venueLink } from './replay-link.js';

/** `bulwark dlq list`: one line per dead letter, oldest first. */
export async function listDeadLetters(
  stateDir: string,
  print: (line: string) => void = console.log,
): Promise<readonly DeadLetter[]> {
  const dlq = await DeadLetterQueue.open(join(stateDir, 'dlq.jsonl'));
  try {
    const entries = dlq.list();
    print(
      `${entries.length} dead letter(s) in ${dlq.path}${dlq.corrupt > 0 ? ` (${dlq.corrupt} unreadable line(s) skipped)` : ''}`,
    );
    for (const e of entries) {
      const c = e.command;
      const what =
        c.kind === 'PLACE_STOP' || c.kind === 'AMEND_STOP' || c.kind === 'REPLACE_STOP'
          ? `${c.kind} stop ${c.stopPrice}`
          : c.kind;
      print(
        `  ${new Date(e.deadAt).toISOString()}  ${c.clientOrderId}  ${c.symbol}  ${what}  code ${e.code}  attempts ${e.attempts}`,
      );
    }
    return entries;
  } finally {
    await dlq.close();
  }
}

/** What reconciliation proved about one dead letter. */
export type DeadLetterVerdict = 'NEVER_EXECUTED' | 'EXECUTED' | 'UNKNOWN';

/**
 * Whether the broker provably never carried out `command`, asked by its client order id:
 * a placement the broker has never heard of (-2013); a cancel of an order still working; an
 * amend whose order still carries another stop price. EXECUTED when the broker's record shows
 * it happened; UNKNOWN when the broker cannot say (the entry stays).
 */
export async function verdictOf(
  client: Pick<BrokerClient, 'request'>,
  command: ProtectiveCommand,
): Promise<DeadLetterVerdict> {
  let order: Readonly<Record<string, unknown>>;
  try {
    order = await client.request('order.status', { symbol: command.symbol, origClientOrderId: command.clientOrderId });
  } catch (e) {
    if (e instanceof BrokerRequestError && e.action === 'NOT_FOUND') {
      return command.kind === 'PLACE_STOP' || command.kind === 'REPLACE_STOP' || command.kind === 'CLOSE_POSITION'
        ? 'NEVER_EXECUTED'
        : 'UNKNOWN';
    }
    return 'UNKNOWN';
  }
  switch (command.kind) {
    case 'PLACE_STOP':
    case 'REPLACE_STOP': // the new id exists: the replace was carried out
    case 'CLOSE_POSITION':
      return 'EXECUTED';
    case 'CANCEL':
      return order['status'] === 'CANCELED' ? 'EXECUTED' : order['status'] === 'NEW' ? 'NEVER_EXECUTED' : 'UNKNOWN';
    case 'AMEND_STOP':
      if (Number(order['stopPrice']) === command.stopPrice) return 'EXECUTED';
      return order['status'] === 'NEW' ? 'NEVER_EXECUTED' : 'UNKNOWN';
  }
}

/** Options of {@link replayDeadLetters}. */
export interface DlqReplayOptions {
  readonly stateDir: string;
  /** `ws://host:port` of a broker speaking the protocol; or `venue`. */
  readonly broker?: string;
  /** A real venue through ccxt (as `bulwark replay --venue`). */
  readonly venue?: { readonly id: string; readonly url?: string; readonly sandbox?: boolean };
  readonly apiKey?: string;
  readonly apiSecret?: string;
  readonly print?: (line: string) => void;
}

/**
 * `bulwark dlq replay`: asks the broker about each dead letter and re-sends, with its own
 * client order id, only what the broker provably never carried out; an entry the broker shows
 * executed is removed as resolved; one it cannot say about stays. A re-sent entry leaves the
 * queue only when the broker accepts it (refused again, it stays).
 */
export async function replayDeadLetters(
  options: DlqReplayOptions,
): Promise<{ readonly resent: number; readonly executed: number; readonly kept: number }> {
  const print = options.print ?? ((line: string) => console.log(line));
  const credentials =
    options.apiKey === undefined || options.apiSecret === undefined
      ? undefined
      : { apiKey: options.apiKey, apiSecret: options.apiSecret };
  const link =
    options.venue === undefined
      ? brokerLink(options.broker ?? '', credentials, SYSTEM_CLOCK, { onReport: () => {}, onReconcile: () => {} })
      : await venueLink({
          ...options.venue,
          ...(credentials === undefined ? {} : credentials),
          now: Date.now,
        });
  const dlq = await DeadLetterQueue.open(join(options.stateDir, 'dlq.jsonl'));
  const journal = await OrderJournal.open(join(options.stateDir, 'journal.jsonl'));
  const client = link.client;
  const tally = { resent: 0, executed: 0, kept: 0 };
  try {
    const [first = { limit: 1, windowMs: 1_000 }, ...more] = await link.connect(10_000);
    const limiter = new SlidingWindowRateLimiter({ ...first, windows: more, safety: 0.9 });
    const egress = new OrderEgress({ client, limiter, venue: new VenueGuard(), journal });
    for (const entry of dlq.list()) {
      const c = entry.command;
      await limiter.acquire();
      const verdict = await verdictOf(client, c);
      if (verdict === 'EXECUTED') {
        tally.executed++;
        await dlq.remove([c.clientOrderId], c.kind);
        print(`  ${c.clientOrderId}  executed at the broker: removed`);
      } else if (verdict === 'NEVER_EXECUTED') {
        const result = await egress.send(c);
        if (result.ok) {
          tally.resent++;
          await dlq.remove([c.clientOrderId], c.kind);
          print(`  ${c.clientOrderId}  never executed: re-sent, accepted`);
        } else {
          tally.kept++;
          print(`  ${c.clientOrderId}  never executed: re-sent, refused again (${result.code}); kept`);
        }
      } else {
        tally.kept++;
        print(`  ${c.clientOrderId}  outcome unknown: kept`);
      }
    }
    egress.close();
    print(`dlq replay: ${tally.resent} re-sent, ${tally.executed} found executed, ${tally.kept} kept`);
    return tally;
  } finally {
    link.close();
    await journal.close();
    await dlq.close();
  }
}
