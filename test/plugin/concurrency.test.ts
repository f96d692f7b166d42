import { describe, expect, it } from 'vitest';
import { CommandCoalescer } from '../../src/concurrency/command-coalescer.js';
import { KeyedLock } from '../../src/concurrency/keyed-lock.js';
import type { CommandResult, OrderSink, ProtectiveCommand } from '../../src/vocabulary/orders.js';

/** A sink whose sends complete only when the test releases them, in any order it likes. */
class ManualSink implements OrderSink {
  readonly sent: ProtectiveCommand[] = [];
  readonly #waiting: Array<(r: CommandResult) => void> = [];
  send(command: ProtectiveCommand): Promise<CommandResult> {
    this.sent.push(command);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  get inFlight(): number {
    return this.#waiting.length;
  }
  release(ok = true): void {
    const r = this.#waiting.shift();
    const id = this.sent[this.sent.length - 1]?.clientOrderId ?? '';
    r?.(ok ? { ok: true, clientOrderId: id } : { ok: false, clientOrderId: id, code: 'REJECTED', message: 'no' });
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('KeyedLock', () => {
  it('is empty after 10^5 distinct keys are each used once', async () => {
    const locks = new KeyedLock<number>();
    const work: Promise<number>[] = [];
    for (let i = 0; i < 100_000; i++) work.push(locks.run(i, () => i));
    expect(locks.size).toBe(100_000); // all in use at once
    await Promise.all(work);
    expect(locks.size).toBe(0);
  });

  it('serialises work on one key and lets other keys run meanwhile', async () => {
    const locks = new KeyedLock<string>();
    const log: string[] = [];
    let releaseA!: () => void;
    const a1 = locks.run('A', () => new Promise<void>((r) => (releaseA = () => (log.push('A1 done'), r()))));
    const a2 = locks.run('A', () => void log.push('A2'));
    const b = locks.run('B', () => void log.push('B'));
    await b;
    expect(log).toEqual(['B']); // B did not wait for A
    releaseA();
    await Promise.all([a1, a2]);
    expect(log).toEqual(['B', 'A1 done', 'A2']);
    expect(locks.size).toBe(0);
  });

  it('releases the key when the work throws', async () => {
    const locks = new KeyedLock<string>();
    await expect(locks.run('X', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(locks.isLocked('X')).toBe(false);
    expect(await locks.run('X', () => 42)).toBe(42);
  });
});

describe('CommandCoalescer', () => {
  const amend = (v: number): ProtectiveCommand => ({
    kind: 'AMEND_STOP',
    clientOrderId: 's1',
    symbol: 'AAA',
    stopPrice: 100 + v,
    version: v,
  });

  it('keeps at most one command in flight per position and replaces a queued amend with a newer one', async () => {
    const sink = new ManualSink();
    const c = new CommandCoalescer(sink);
    void c.submit('AAA', amend(1));
    await flush(); // amend 1 is now in flight
    void c.submit('AAA', amend(2));
    void c.submit('AAA', amend(3));
    await flush();
    expect(sink.inFlight).toBe(1);
    expect(sink.sent.map((x) => (x as { version: number }).version)).toEqual([1]);
    sink.release();
    await flush();
    expect(sink.sent.map((x) => (x as { version: number }).version)).toEqual([1, 3]); // 2 was coalesced away
    sink.release();
    await c.idle();
    expect(c.stats).toEqual({ sent: 2, failed: 0, superseded: 0, coalesced: 1 });
    expect(c.busy).toBe(0);
  });

  it('counts an amend or cancel refused because its order already executed (ORDER_CLOSED) as superseded, not failed', async () => {
    const answers: Record<string, CommandResult> = {
      AMEND_STOP: { ok: false, clientOrderId: 's1', code: 'ORDER_CLOSED', message: 'the order already filled' },
      CANCEL: { ok: false, clientOrderId: 's1', code: 'ORDER_CLOSED', message: 'the order already filled' },
      PLACE_STOP: { ok: false, clientOrderId: 's1', code: 'ORDER_CLOSED', message: 'a placement is not superseded' },
    };
    const results: (string | undefined)[] = [];
    const c = new CommandCoalescer(
      { send: (command) => Promise.resolve(answers[command.kind] ?? { ok: true, clientOrderId: 's1' }) },
      undefined,
      (_command, ok, code) => results.push(ok ? 'ok' : code),
    );
    await c.submit('AAA', amend(1));
    await c.submit('AAA', { kind: 'CANCEL', clientOrderId: 's1', symbol: 'AAA' });
    await c.submit('AAA', {
      kind: 'PLACE_STOP',
      clientOrderId: 's2',
      symbol: 'AAA',
      side: 'SELL',
      quantity: 1,
      stopPrice: 99,
    });
    await c.submit('AAA', { kind: 'CLOSE_POSITION', clientOrderId: 'c1', symbol: 'AAA', side: 'SELL', quantity: 1 });
    expect(c.stats).toEqual({ sent: 1, failed: 1, superseded: 2, coalesced: 0 });
    expect(results).toEqual(['ORDER_CLOSED', 'ORDER_CLOSED', 'ORDER_CLOSED', 'ok']); // the callback still hears the code
  });

  it('never lets an older amend replace a newer queued one', async () => {
    const sink = new ManualSink();
    const c = new CommandCoalescer(sink);
    void c.submit('AAA', amend(1));
    await flush();
    void c.submit('AAA', amend(5));
    void c.submit('AAA', amend(4)); // stale: arrives late
    await flush();
    sink.release();
    await flush();
    sink.release();
    await c.idle();
    expect(sink.sent.map((x) => (x as { version: number }).version)).toEqual([1, 5]);
  });

  it('amends queued before the first send starts collapse to the newest', async () => {
    const sink = new ManualSink();
    const c = new CommandCoalescer(sink);
    void c.submit('AAA', amend(1));
    void c.submit('AAA', amend(2));
    await flush();
    sink.release();
    await c.idle();
    expect(sink.sent.map((x) => (x as { version: number }).version)).toEqual([2]);
  });

  it('different positions are sent independently', async () => {
    const sink = new ManualSink();
    const c = new CommandCoalescer(sink);
    void c.submit('AAA', amend(1));
    void c.submit('BBB', { ...amend(1), symbol: 'BBB' });
    await flush();
    expect(sink.inFlight).toBe(2);
    sink.release();
    sink.release();
    await c.idle();
  });

  it('queues non-amend commands in order and reports failures', async () => {
    const sink = new ManualSink();
    const results: Array<[string, boolean]> = [];
    const c = new CommandCoalescer(sink, undefined, (cmd, ok) => results.push([cmd.kind, ok]));
    void c.submit('AAA', {
      kind: 'PLACE_STOP',
      clientOrderId: 's1',
      symbol: 'AAA',
      side: 'SELL',
      quantity: 1,
      stopPrice: 90,
    });
    void c.submit('AAA', amend(2));
    void c.submit('AAA', { kind: 'CANCEL', clientOrderId: 's1', symbol: 'AAA' });
    await flush();
    sink.release(false);
    await flush();
    sink.release();
    await flush();
    sink.release();
    await c.idle();
    expect(sink.sent.map((x) => x.kind)).toEqual(['PLACE_STOP', 'AMEND_STOP', 'CANCEL']);
    expect(results).toEqual([
      ['PLACE_STOP', false],
      ['AMEND_STOP', true],
      ['CANCEL', true],
    ]);
  });

  it('a command submitted while the lane is finishing is still sent', async () => {
    const sink: OrderSink = { send: (cmd) => Promise.resolve({ ok: true, clientOrderId: cmd.clientOrderId }) };
    const sent: number[] = [];
    const c = new CommandCoalescer(sink, undefined, (cmd) => sent.push((cmd as { version: number }).version));
    const first = c.submit('AAA', amend(1));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    void c.submit('AAA', amend(2));
    await first;
    await c.idle();
    expect(sent).toEqual([1, 2]);
  });
});
