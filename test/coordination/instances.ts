/**
 * Runs trading instances (instance.ts) as child processes, so SIGKILL and SIGSTOP/SIGCONT are
 * real, and waits on what they print — never on a sleep: every wait names what it waits for
 * and has a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assignSymbols } from '../../src/coordination/rendezvous.js';

const SCRIPT = fileURLToPath(new URL('./instance.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One JSON line an instance printed, with the time the test received it. */
export interface Line {
  readonly id: string;
  readonly ev: string;
  readonly t: number;
  readonly [key: string]: unknown;
}

/** An ownership interval of one symbol by one instance (epoch ms). */
export interface Interval {
  readonly id: string;
  readonly symbol: string;
  readonly token: number;
  readonly from: number;
  readonly to: number;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export class Instance {
  readonly lines: Line[] = [];
  readonly child: ChildProcess;
  /** Epoch ms of a SIGKILL (the end of every ownership it had). */
  killedAt: number | undefined;
  exited = false;
  #onLine: Array<() => void> = [];
  #stderr = '';

  constructor(
    readonly id: string,
    config: Record<string, unknown>,
    onAnyLine: () => void,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify({ ...config, instanceId: id })], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(this.child);
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (text.trim().length === 0) continue;
        try {
          this.lines.push(JSON.parse(text) as Line);
        } catch {
          this.#stderr += `(stdout) ${text}\n`;
        }
      }
      for (const f of this.#onLine) f();
      onAnyLine();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-4_000);
    });
    this.child.once('exit', () => {
      children.delete(this.child);
      this.exited = true;
      for (const f of this.#onLine) f();
      onAnyLine();
    });
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  kill(): void {
    this.child.kill('SIGKILL');
    this.killedAt = Date.now();
  }

  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** Lines that are coordinator events of `kind`. */
  events(kind: string): Line[] {
    return this.lines.filter((l) => l.ev === 'event' && l['kind'] === kind);
  }

  /** Symbols this instance owns according to its own events. */
  owned(): Set<string> {
    const owned = new Set<string>();
    for (const l of this.lines) {
      if (l.ev !== 'event') continue;
      if (l['kind'] === 'LEASE_ACQUIRED') owned.add(l['symbol'] as string);
      if (l['kind'] === 'LEASE_LOST') owned.delete(l['symbol'] as string);
    }
    return owned;
  }

  /** The state it last reported. */
  state(): string | undefined {
    const changes = this.events('STATE_CHANGED');
    return changes.at(-1)?.['to'] as string | undefined;
  }

  /** The first line from index `from` on that satisfies `pred`. */
  waitFor(pred: (l: Line) => boolean, timeoutMs: number, what: string, from = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.slice(from).find(pred);
        if (hit !== undefined) return finish(() => resolve(hit));
        if (this.exited && this.killedAt === undefined)
          return finish(() => reject(new Error(`${this.id} exited while waiting for ${what}\n${this.describe()}`)));
      };
      const timer = setTimeout(
        () =>
          finish(() => reject(new Error(`${this.id}: no ${what} within ${String(timeoutMs)} ms\n${this.describe()}`))),
        timeoutMs,
      );
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.#onLine = this.#onLine.filter((x) => x !== check);
        f();
      };
      this.#onLine.push(check);
      check();
    });
  }

  describe(): string {
    return `${this.lines
      .slice(-15)
      .map((l) => JSON.stringify(l))
      .join('\n')}\n${this.#stderr}`;
  }
}

/** A group of instances sharing one Redis and prefix. */
export class Group {
  readonly instances: Instance[] = [];
  #waiters: Array<() => void> = [];

  constructor(
    readonly symbols: readonly string[],
    readonly config: Record<string, unknown>,
  ) {}

  spawn(id: string): Instance {
    const instance = new Instance(id, { ...this.config, symbols: this.symbols }, () => {
      for (const w of this.#waiters) w();
    });
    this.instances.push(instance);
    return instance;
  }

  get(id: string): Instance {
    const found = this.instances.find((i) => i.id === id);
    if (found === undefined) throw new Error(`no instance ${id}`);
    return found;
  }

  /** Instances not killed. */
  live(): Instance[] {
    return this.instances.filter((i) => i.killedAt === undefined && !i.exited);
  }

  /** Resolves when `check()` holds, re-checked on every line any instance prints. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = () => {
        if (check()) finish(resolve);
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `not ${what} within ${String(timeoutMs)} ms\n${this.instances.map((i) => `--- ${i.id}\n${i.describe()}`).join('\n')}`,
              ),
            ),
          ),
        timeoutMs,
      );
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== test);
        f();
      };
      this.#waiters.push(test);
      test();
    });
  }

  /**
   * Whether ownership, as the instances report it, is exactly the rendezvous assignment over
   * the live instances: every symbol owned by its one assigned instance, nothing else owned.
   */
  settled(): boolean {
    const live = this.live();
    const expected = assignSymbols(
      this.symbols,
      live.map((i) => i.id),
    );
    for (const instance of live) {
      const owned = instance.owned();
      const want = this.symbols.filter((s) => expected.get(s) === instance.id);
      if (owned.size !== want.length || !want.every((s) => owned.has(s))) return false;
    }
    return true;
  }

  /** Every ownership interval so far; an open one ends now (or at its instance's SIGKILL). */
  intervals(): Interval[] {
    const out: Interval[] = [];
    for (const instance of this.instances) {
      const open = new Map<string, { token: number; from: number }>();
      for (const l of instance.lines) {
        if (l.ev !== 'event') continue;
        const symbol = l['symbol'] as string;
        if (l['kind'] === 'LEASE_ACQUIRED')
          open.set(symbol, { token: l['token'] as number, from: l['timestamp'] as number });
        if (l['kind'] === 'LEASE_LOST') {
          const o = open.get(symbol);
          if (o !== undefined)
            out.push({ id: instance.id, symbol, token: o.token, from: o.from, to: l['heldUntil'] as number });
          open.delete(symbol);
        }
      }
      const end = instance.killedAt ?? Date.now();
      for (const [symbol, o] of open) out.push({ id: instance.id, symbol, token: o.token, from: o.from, to: end });
    }
    return out;
  }

  /** Pairs of intervals in which two instances owned one symbol at the same time. */
  overlaps(): Array<[Interval, Interval]> {
    const bad: Array<[Interval, Interval]> = [];
    const all = this.intervals();
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const a = all[i] as Interval;
        const b = all[j] as Interval;
        if (a.symbol === b.symbol && a.id !== b.id && a.from < b.to && b.from < a.to) bad.push([a, b]);
      }
    }
    return bad;
  }

  /** SIGKILLs every child still running. */
  killAll(): void {
    for (const i of this.instances) if (!i.exited) i.child.kill('SIGKILL');
  }
}
