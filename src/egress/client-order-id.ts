import { randomBytes } from 'node:crypto';
import { BulwarkError } from '../errors.js';

/** What the broker protocol accepts as a client order id: 1..36 of [A-Za-z0-9._:-]. */
export const CLIENT_ORDER_ID = /^[A-Za-z0-9._:-]{1,36}$/;

/**
 * Makes client order ids that are unique, at most 36 characters of `[A-Za-z0-9._:-]`, and
 * never reused after a restart: each factory has a session tag (its start time in base 36
 * plus 32 random bits), then a counter. An intent keeps its id across retries: ask for an id
 * once per intent, not per attempt.
 *
 * @example
 * ```ts
 * const ids = new ClientOrderIdFactory('bw');
 * ids.next(); // e.g. 'bw-mj3k2x9a01f0q3z7-1'
 * ```
 */
export class ClientOrderIdFactory {
  readonly prefix: string;
  readonly session: string;
  #sequence = 0;

  constructor(
    prefix = 'bw',
    now: () => number = Date.now,
    random: () => number = () => randomBytes(4).readUInt32BE(0),
  ) {
    if (!/^[A-Za-z0-9]{1,8}$/.test(prefix)) {
      throw new BulwarkError('INVALID_OPTION', 'client order id prefix must be 1-8 characters of [A-Za-z0-9]', {
        prefix,
      });
    }
    this.prefix = prefix;
    this.session = `${Math.trunc(now()).toString(36)}${random().toString(36).padStart(7, '0')}`;
  }

  /** A new id: at most 8 + 1 + 15 + 1 + 11 = 36 characters (prefix, session, counter). */
  next(): string {
    const id = `${this.prefix}-${this.session}-${(++this.#sequence).toString(36)}`;
    if (!CLIENT_ORDER_ID.test(id)) {
      throw new BulwarkError('LIMIT_EXCEEDED', `client order id ${id} is longer than 36 characters`, { id });
    }
    return id;
  }
}
