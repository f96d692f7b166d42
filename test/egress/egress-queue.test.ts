import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EgressQueue, type EgressItem } from '../../src/egress/egress-queue.js';

const place = (id: string): EgressItem => ({ kind: 'PLACE', clientOrderId: id });
const amend = (id: string, version: number) => ({ kind: 'AMEND_STOP', clientOrderId: id, version });

describe('EgressQueue', () => {
  it('serves PROTECTIVE before REDUCE before NORMAL, first in first out within a lane', () => {
    const q = new EgressQueue<EgressItem>();
    q.enqueue('NORMAL', place('n1'));
    q.enqueue('REDUCE', place('r1'));
    q.enqueue('NORMAL', place('n2'));
    q.enqueue('PROTECTIVE', place('p1'));
    q.enqueue('PROTECTIVE', place('p2'));
    const order: string[] = [];
    for (let x = q.dequeue(); x !== undefined; x = q.dequeue()) order.push(x.item.clientOrderId);
    expect(order).toEqual(['p1', 'p2', 'r1', 'n1', 'n2']);
    expect(q.size()).toBe(0);
  });

  it('refuses NORMAL and REDUCE beyond capacity with EGRESS_QUEUE_FULL, but never a PROTECTIVE item', () => {
    const q = new EgressQueue<EgressItem>({ capacity: 3 });
    for (let i = 0; i < 3; i++) expect(q.enqueue('NORMAL', place(`n${i}`)).ok).toBe(true);
    expect(q.enqueue('NORMAL', place('n3'))).toEqual({ ok: false, code: 'EGRESS_QUEUE_FULL' });
    expect(q.enqueue('REDUCE', place('r0'))).toEqual({ ok: false, code: 'EGRESS_QUEUE_FULL' });
    for (let i = 0; i < 1_000; i++) expect(q.enqueue('PROTECTIVE', place(`p${i}`)).ok).toBe(true);
    expect(q.size('PROTECTIVE')).toBe(1_000);
    expect(q.refused).toBe(2);
    expect(q.dequeue()?.lane).toBe('PROTECTIVE');
  });

  it('coalesces amends per order: a newer version replaces the queued one in place, an older one is dropped', () => {
    const q = new EgressQueue<EgressItem>();
    q.enqueue('PROTECTIVE', amend('s1', 3));
    q.enqueue('PROTECTIVE', place('other'));
    expect(q.enqueue('PROTECTIVE', amend('s1', 5))).toEqual({ ok: true, coalesced: true });
    expect(q.enqueue('PROTECTIVE', amend('s1', 4))).toEqual({ ok: true, coalesced: true });
    expect(q.size()).toBe(2);
    expect(q.dequeue()?.item).toEqual(amend('s1', 5)); // kept its place in line
    expect(q.dequeue()?.item.clientOrderId).toBe('other');
    q.enqueue('PROTECTIVE', amend('s1', 6)); // after the last one left: queued anew
    expect(q.dequeue()?.item).toEqual(amend('s1', 6));
    expect(q.coalesced).toBe(2);
  });

  it('matches a naive model over long random sequences, compaction included (property)', () => {
    type Op = { op: 'enq'; lane: 'PROTECTIVE' | 'REDUCE' | 'NORMAL'; item: EgressItem } | { op: 'deq' };
    const itemArb = fc.oneof(
      fc.integer({ min: 0, max: 100_000 }).map((n) => place(`p${n}`)),
      fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 50 })).map(([id, v]) => amend(`s${id}`, v)),
    );
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          op: fc.constant('enq' as const),
          lane: fc.constantFrom('PROTECTIVE' as const, 'REDUCE' as const, 'NORMAL' as const),
          item: itemArb,
        }),
      },
      { weight: 2, arbitrary: fc.constant({ op: 'deq' as const }) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1_000, maxLength: 6_000 }), (ops) => {
        const q = new EgressQueue<EgressItem>({ capacity: 2_000 });
        const model: Record<string, EgressItem[]> = { PROTECTIVE: [], REDUCE: [], NORMAL: [] };
        for (const o of ops) {
          if (o.op === 'deq') {
            const lane = (['PROTECTIVE', 'REDUCE', 'NORMAL'] as const).find(
              (l) => (model[l] as EgressItem[]).length > 0,
            );
            const want = lane === undefined ? undefined : { lane, item: (model[lane] as EgressItem[]).shift() };
            expect(q.dequeue()).toEqual(want);
            continue;
          }
          const { lane, item } = o;
          const queuedAmend =
            item.kind === 'AMEND_STOP'
              ? Object.values(model)
                  .flat()
                  .find((x) => x.kind === 'AMEND_STOP' && x.clientOrderId === item.clientOrderId)
              : undefined;
          let want: unknown;
          if (queuedAmend !== undefined) {
            if ((item.version ?? 0) > (queuedAmend.version ?? 0)) {
              for (const l of Object.values(model)) {
                const i = l.indexOf(queuedAmend);
                if (i >= 0) l[i] = item;
              }
            }
            want = { ok: true, coalesced: true };
          } else if (
            lane !== 'PROTECTIVE' &&
            (model.REDUCE as EgressItem[]).length + (model.NORMAL as EgressItem[]).length >= 2_000
          ) {
            want = { ok: false, code: 'EGRESS_QUEUE_FULL' };
          } else {
            (model[lane] as EgressItem[]).push(item);
            want = { ok: true, coalesced: false };
          }
          expect(q.enqueue(lane, item)).toEqual(want);
        }
      }),
      { seed: 3, numRuns: 40 },
    );
  });

  it('re-indexes queued amends when a long lane is compacted', () => {
    const q = new EgressQueue<EgressItem>({ capacity: 10_000 });
    for (let i = 0; i < 3_000; i++) q.enqueue('NORMAL', i === 2_500 ? amend('late', 1) : place(`n${i}`));
    for (let i = 0; i < 2_000; i++) q.dequeue(); // compaction happens on the way (head ≥ 1 024, half consumed)
    expect(q.enqueue('NORMAL', amend('late', 2))).toEqual({ ok: true, coalesced: true });
    const rest: EgressItem[] = [];
    for (let x = q.dequeue(); x !== undefined; x = q.dequeue()) rest.push(x.item);
    expect(rest).toHaveLength(1_000);
    expect(rest[500]).toEqual(amend('late', 2)); // replaced in place, after compaction
    expect(rest[0]?.clientOrderId).toBe('n2000');
  });
});
