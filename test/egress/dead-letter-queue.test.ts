import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadLetterQueue, type DeadLetter } from '../../src/egress/dead-letter-queue.js';

const letter = (id: string, code = '-1013'): DeadLetter => ({
  command: { kind: 'PLACE_STOP', clientOrderId: id, symbol: 'AAA', side: 'SELL', quantity: 1, stopPrice: 9 },
  code,
  attempts: 3,
  firstAttemptAt: 1,
  deadAt: 2,
});

async function tempPath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'bulwark-dlq-')), 'dlq.jsonl');
}

describe('DeadLetterQueue', () => {
  it('is durable: entries added (and fsync’d) are there after reopening', async () => {
    const path = await tempPath();
    const dlq = await DeadLetterQueue.open(path);
    expect(await dlq.add(letter('a'))).toBe('ADDED');
    expect(await dlq.add(letter('b', 'RETRIES_EXHAUSTED'))).toBe('ADDED');
    await dlq.close();
    const again = await DeadLetterQueue.open(path);
    expect(again.list().map((e) => [e.command.clientOrderId, e.code])).toEqual([
      ['a', '-1013'],
      ['b', 'RETRIES_EXHAUSTED'],
    ]);
    await again.close();
  });

  it('skips a torn last line from a crash mid-write, and counts it', async () => {
    const path = await tempPath();
    const dlq = await DeadLetterQueue.open(path);
    await dlq.add(letter('a'));
    await dlq.close();
    await appendFile(path, '{"command":{"kind":"PLACE_STOP","clientOr');
    const again = await DeadLetterQueue.open(path);
    expect(again.size).toBe(1);
    expect(again.corrupt).toBe(1);
    await again.close();
  });

  it('is bounded: beyond maxEntries an entry is refused with DLQ_FULL and onFull fires', async () => {
    const full: number[] = [];
    const dlq = await DeadLetterQueue.open(await tempPath(), { maxEntries: 2, onFull: (n) => full.push(n) });
    await dlq.add(letter('a'));
    await dlq.add(letter('b'));
    expect(await dlq.add(letter('c'))).toBe('DLQ_FULL');
    expect(full).toEqual([2]);
    expect(dlq.size).toBe(2);
    await dlq.close();
  });

  it('remove rewrites the file atomically and later appends still land', async () => {
    const path = await tempPath();
    const dlq = await DeadLetterQueue.open(path);
    for (const id of ['a', 'b', 'c']) await dlq.add(letter(id));
    expect(await dlq.remove(['b', 'zzz'])).toBe(1);
    await dlq.add(letter('d'));
    await dlq.close();
    const text = await readFile(path, 'utf8');
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as DeadLetter).command.clientOrderId),
    ).toEqual(['a', 'c', 'd']);
  });

  it('concurrent adds are all written, in order', async () => {
    const path = await tempPath();
    const dlq = await DeadLetterQueue.open(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => dlq.add(letter(`x${i}`))));
    await dlq.close();
    const again = await DeadLetterQueue.open(path);
    expect(again.list().map((e) => e.command.clientOrderId)).toEqual(Array.from({ length: 50 }, (_, i) => `x${i}`));
    await again.close();
  });

  it('remove with a kind removes only that command of a client id (a stop’s PLACE and AMEND share it)', async () => {
    const path = await tempPath();
    const q = await DeadLetterQueue.open(path);
    await q.add(letter('s-1'));
    await q.add({
      ...letter('s-1'),
      command: { kind: 'AMEND_STOP', clientOrderId: 's-1', symbol: 'AAA', stopPrice: 9.5, version: 2 },
    });
    expect(await q.remove(['s-1'], 'AMEND_STOP')).toBe(1);
    expect(q.list().map((d) => d.command.kind)).toEqual(['PLACE_STOP']);
    await q.close();
    const again = await DeadLetterQueue.open(path);
    expect(again.list().map((d) => d.command.kind)).toEqual(['PLACE_STOP']);
    await again.close();
  });
});
