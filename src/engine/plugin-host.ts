import { ALLOW, deny, type OrderDecision, type OrderRequest } from '../vocabulary/orders.js';
import { DENY_CODES } from '../vocabulary/reason-codes.js';
import type { Bar, Fill, PortfolioSnapshot } from '../vocabulary/market.js';
import type { PluginContext } from '../vocabulary/services.js';
import { EngineError } from './errors.js';
import type { EnginePlugin, HookName, PluginFailed } from './plugin.js';

/** Where one registered plugin is in its life. */
type RegistrationState =
  | { readonly phase: 'INITIALISING'; readonly ready: Promise<void> }
  | { readonly phase: 'ACTIVE' }
  | { readonly phase: 'DISPOSED' };

interface Registration {
  readonly plugin: EnginePlugin;
  state: RegistrationState;
}

/** Failures per plugin name and hook. */
export type PluginErrorCounts = Readonly<Record<string, Readonly<Partial<Record<HookName, number>>>>>;

const HOOKS_TO_CHECK = ['onInit', 'onBar', 'onBars', 'onFill', 'onPortfolio', 'beforeOrder', 'onDispose'] as const;
const MAX_NAME_LENGTH = 64;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function isDecision(v: unknown): v is OrderDecision {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as { allow?: unknown; code?: unknown; message?: unknown };
  if (d.allow === true) return true;
  return d.allow === false && (DENY_CODES as readonly unknown[]).includes(d.code) && typeof d.message === 'string';
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** JSON.stringify as it behaves: undefined for undefined, functions and symbols (its type says string). */
const stringify: (v: unknown) => string | undefined = JSON.stringify;

/** `v` for a message, never throwing (a BigInt, a cycle, a throwing toString). */
function shown(v: unknown): string {
  try {
    return stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}

function checkPlugin(plugin: unknown): asserts plugin is EnginePlugin {
  if (typeof plugin !== 'object' || plugin === null)
    throw new EngineError('INVALID_PLUGIN', 'a plugin must be an object');
  const p = plugin as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof p['name'] !== 'string' || p['name'].length === 0 || p['name'].length > MAX_NAME_LENGTH) {
    problems.push(`name must be a string of 1-${MAX_NAME_LENGTH} characters`);
  }
  for (const hook of HOOKS_TO_CHECK) {
    if (p[hook] !== undefined && typeof p[hook] !== 'function') problems.push(`${hook} must be a function`);
  }
  if (problems.length > 0) throw new EngineError('INVALID_PLUGIN', problems.join('; '), { name: p['name'], problems });
}

/**
 * Holds the plugins of one engine and calls their hooks: registration order, each awaited
 * before the next, every failure caught and counted per plugin and hook.
 *
 * @example
 * ```ts
 * const host = new PluginHost(ctx);
 * const off = host.add({ name: 'p', onBars: (bars) => console.log(bars.length) });
 * await host.bars(batch);
 * off();
 * ```
 */
export class PluginHost {
  readonly #ctx: PluginContext;
  readonly #onError: ((event: PluginFailed) => void) | undefined;
  #regs: Registration[] = [];
  readonly #errors = new Map<string, Map<HookName, number>>();
  readonly #disposals = new Set<Promise<void>>();
  #errorTotal = 0;

  constructor(ctx: PluginContext, onError?: (event: PluginFailed) => void) {
    this.#ctx = ctx;
    this.#onError = onError;
  }

  /** Registers `plugin`, starts its `onInit`, and returns its unregister function. */
  add(plugin: EnginePlugin): () => void {
    checkPlugin(plugin);
    for (const r of this.#regs) {
      if (r.plugin === plugin || r.plugin.name === plugin.name) {
        throw new EngineError('DUPLICATE_PLUGIN', `a plugin named '${plugin.name}' is already registered`, {
          name: plugin.name,
        });
      }
    }
    const reg: Registration = { plugin, state: { phase: 'ACTIVE' } };
    this.#regs.push(reg);
    if (plugin.onInit !== undefined) {
      const pending = this.#invoke(reg, 'onInit', () => plugin.onInit?.(this.#ctx));
      if (pending !== undefined) {
        reg.state = {
          phase: 'INITIALISING',
          ready: pending.then(() => {
            if (reg.state.phase === 'INITIALISING') reg.state = { phase: 'ACTIVE' };
          }),
        };
      }
    }
    return () => this.#remove(reg);
  }

  /** Names of the registered plugins, in registration order. */
  get names(): readonly string[] {
    return this.#regs.map((r) => r.plugin.name);
  }

  /** Calls `onBars` (or, without it, `onBar` per bar) of every plugin. */
  async bars(batch: readonly Bar[]): Promise<void> {
    for (const reg of this.#regs.slice()) {
      if (!(await this.#live(reg))) continue;
      const p = reg.plugin;
      if (p.onBars !== undefined) {
        const r = this.#invoke(reg, 'onBars', () => p.onBars?.(batch));
        if (r !== undefined) await r;
      } else if (p.onBar !== undefined) {
        for (const bar of batch) {
          if (reg.state.phase === 'DISPOSED') break;
          const r = this.#invoke(reg, 'onBar', () => p.onBar?.(bar));
          if (r !== undefined) await r;
        }
      }
    }
  }

  /** Calls every plugin's `onFill`. */
  async fill(fill: Fill): Promise<void> {
    for (const reg of this.#regs.slice()) {
      if (reg.plugin.onFill === undefined || !(await this.#live(reg))) continue;
      const r = this.#invoke(reg, 'onFill', () => reg.plugin.onFill?.(fill));
      if (r !== undefined) await r;
    }
  }

  /** Calls every plugin's `onPortfolio`. */
  async portfolio(snapshot: PortfolioSnapshot): Promise<void> {
    for (const reg of this.#regs.slice()) {
      if (reg.plugin.onPortfolio === undefined || !(await this.#live(reg))) continue;
      const r = this.#invoke(reg, 'onPortfolio', () => reg.plugin.onPortfolio?.(snapshot));
      if (r !== undefined) await r;
    }
  }

  /**
   * Asks every plugin's `beforeOrder` in turn; the first deny wins and later plugins are not
   * asked. A throw, a rejection or an answer that is not an {@link OrderDecision} is counted
   * and denies with `PLUGIN_ERROR`.
   */
  async beforeOrder(order: OrderRequest): Promise<OrderDecision> {
    for (const reg of this.#regs.slice()) {
      const plugin = reg.plugin;
      if (plugin.beforeOrder === undefined || !(await this.#live(reg))) continue;
      let decision: unknown;
      try {
        decision = plugin.beforeOrder(order);
        if (isThenable(decision)) decision = await decision;
      } catch (e) {
        this.#fail(reg, 'beforeOrder', e);
        return deny('PLUGIN_ERROR', `plugin '${reg.plugin.name}' failed in beforeOrder: ${describe(e)}`);
      }
      if (!isDecision(decision)) {
        this.#fail(
          reg,
          'beforeOrder',
          new EngineError('INVALID_PLUGIN', `beforeOrder returned ${shown(decision)}, not an OrderDecision`, {
            name: reg.plugin.name,
          }),
        );
        return deny('PLUGIN_ERROR', `plugin '${reg.plugin.name}' returned an invalid decision from beforeOrder`);
      }
      if (!decision.allow) return deny(decision.code, decision.message);
    }
    return ALLOW;
  }

  /** Unregisters every plugin (registration order) and waits for all their `onDispose`. */
  async disposeAll(): Promise<void> {
    for (const reg of this.#regs.slice()) this.#remove(reg);
    await this.settled();
  }

  /** Resolves when every `onDispose` started so far has settled. */
  async settled(): Promise<void> {
    while (this.#disposals.size > 0) await Promise.all([...this.#disposals]);
  }

  /** Failures so far per plugin name and hook (kept after a plugin is unregistered). */
  errors(): PluginErrorCounts {
    const out: Record<string, Readonly<Partial<Record<HookName, number>>>> = {};
    for (const [name, hooks] of this.#errors) out[name] = Object.freeze(Object.fromEntries(hooks));
    return Object.freeze(out);
  }

  /** All failures so far. */
  get errorTotal(): number {
    return this.#errorTotal;
  }

  #remove(reg: Registration): void {
    const prev = reg.state;
    if (prev.phase === 'DISPOSED') return;
    reg.state = { phase: 'DISPOSED' };
    this.#regs = this.#regs.filter((r) => r !== reg);
    if (reg.plugin.onDispose === undefined) return;
    const run = (): void | Promise<void> => this.#invoke(reg, 'onDispose', () => reg.plugin.onDispose?.());
    const pending = prev.phase === 'INITIALISING' ? prev.ready.then(run) : run();
    if (pending === undefined) return;
    const tracked = pending.then(() => {
      this.#disposals.delete(tracked);
    });
    this.#disposals.add(tracked);
  }

  // True when the plugin may get hooks: waits for a pending onInit first.
  async #live(reg: Registration): Promise<boolean> {
    const s = reg.state;
    if (s.phase === 'INITIALISING') await s.ready;
    return reg.state.phase !== 'DISPOSED';
  }

  // Runs one hook; returns a promise only when the hook returned one. Never throws.
  #invoke(reg: Registration, hook: HookName, call: () => unknown): Promise<void> | undefined {
    try {
      const r = call();
      if (isThenable(r)) {
        return Promise.resolve(r).then(
          () => undefined,
          (e: unknown) => this.#fail(reg, hook, e),
        );
      }
    } catch (e) {
      this.#fail(reg, hook, e);
    }
    return undefined;
  }

  #fail(reg: Registration, hook: HookName, error: unknown): void {
    const name = reg.plugin.name;
    let hooks = this.#errors.get(name);
    if (hooks === undefined) this.#errors.set(name, (hooks = new Map<HookName, number>()));
    hooks.set(hook, (hooks.get(hook) ?? 0) + 1);
    this.#errorTotal++;
    try {
      this.#onError?.(Object.freeze({ plugin: name, hook, error }));
    } catch {
      // A failing listener must not take the engine down; the failure is already counted.
    }
  }
}
