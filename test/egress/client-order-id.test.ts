import { describe, expect, it } from 'vitest';
import { CLIENT_ORDER_ID, ClientOrderIdFactory } from '../../src/egress/client-order-id.js';
import { isBulwarkError } from '../../src/index.js';

describe('ClientOrderIdFactory', () => {
  it('makes 10^5 distinct ids of at most 36 characters of [A-Za-z0-9._:-]', () => {
    const ids = new ClientOrderIdFactory('bulwark1');
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = ids.next();
      expect(CLIENT_ORDER_ID.test(id)).toBe(true);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
  });

  it('a restart (a new factory, even in the same millisecond) never reuses an id', () => {
    const now = () => 1_764_150_000_000;
    let r = 7;
    const a = new ClientOrderIdFactory('bw', now, () => r++);
    const b = new ClientOrderIdFactory('bw', now, () => r++);
    expect(a.next()).not.toBe(b.next());
    expect(a.session).not.toBe(b.session);
  });

  it('stays within 36 characters at the longest prefix, clock and counter', () => {
    const ids = new ClientOrderIdFactory(
      'ABCDEFGH',
      () => 8.64e15,
      () => 2 ** 32 - 1,
    );
    expect(ids.next().length).toBeLessThanOrEqual(36);
  });

  it('refuses a prefix that could break the format', () => {
    for (const prefix of ['', 'toolongprefix', 'a-b', 'ü']) {
      try {
        new ClientOrderIdFactory(prefix);
        expect.unreachable();
      } catch (e) {
        expect(isBulwarkError(e, 'INVALID_OPTION')).toBe(true);
      }
    }
  });
});
