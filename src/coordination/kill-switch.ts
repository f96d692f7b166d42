import type { Redis } from 'ioredis';
import { BulwarkError } from '../errors.js';
import { DEFAULT_PREFIX } from './keys.js';
import { LuaScript, coordinationError, replyArray, replyNumber } from './lua-script.js';
import { positiveIntegerProblem } from '../util/option-checks.js';

/**
 * KEYS[1]: the flag, KEYS[2]: its version counter. Stamps the status (JSON in ARGV[1]) with the
 * next version, persists it and PUBLISHes it on ARGV[2], atomically. Returns {text, receivers}.
 * The version is raised to Redis's clock in ms when lower, so it keeps increasing even after
 * Redis loses its data.
 */
const SET_AND_PUBLISH = new LuaScript(
  'kill.set',
  `local version = redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
local floor = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if version < floor then
  version = floor
  redis.call('SET', KEYS[2], string.format('%.0f', version))
end
local status = cjson.decode(ARGV[1])
status['version'] = version
local text = cjson.encode(status)
redis.call('SET', KEYS[1], text)
return {text, redis.call('PUBLISH', ARGV[2], text)}`,
);

/** The kill switch is engaged: every instance must be HALTED. */
export interface KillSwitchEngaged {
  /** Always true: every instance must be HALTED. */
  readonly engaged: true;
  /** Why, as given to {@link KillSwitch.engage}. */
  readonly reason: string;
  /** Who engaged it (an instance id or operator name). */
  readonly by: string;
  /** Epoch ms when it was engaged (the engaging process's clock). */
  readonly at: number;
  /** Increases with every engage and release: a status older than one already seen is stale. */
  readonly version: number;
}

/** The kill switch is released. */
export interface KillSwitchReleased {
  /** Always false: instances may trade. */
  readonly engaged: false;
  /** Who released it (an instance id or operator name); empty when the switch was never thrown. */
  readonly by: string;
  /** Epoch ms when it was released (the releasing process's clock); 0 when the switch was never thrown. */
  readonly at: number;
  /** 0 when the switch was never thrown. */
  readonly version: number;
}

/** The kill switch's state, as persisted and as published. */
export type KillSwitchStatus = KillSwitchEngaged | KillSwitchReleased;

/** Options of {@link KillSwitch}. */
export interface KillSwitchOptions {
  /** Key prefix (and channel prefix). Default `bulwark:`. */
  readonly prefix?: string;
  /** Longest reason accepted (characters). Default 500. */
  readonly maxReasonLength?: number;
}

/**
 * Parses a persisted or published status; undefined if it is not one.
 *
 * @example
 * ```ts
 * parseKillSwitchStatus('{"engaged":false,"by":"ops","at":0,"version":3}'); // { engaged: false, ... }
 * ```
 */
export function parseKillSwitchStatus(text: string): KillSwitchStatus | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { by, at, version, engaged, reason } = v;
  if (typeof by !== 'string' || typeof at !== 'number' || typeof version !== 'number' || !Number.isSafeInteger(version))
    return undefined;
  if (engaged === false) return { engaged: false, by, at, version };
  if (engaged === true && typeof reason === 'string') return { engaged: true, reason, by, at, version };
  return undefined;
}

/**
 * A kill switch shared by every instance: a persisted flag (read at start, so an instance
 * started after the switch was thrown starts HALTED) plus a pub/sub message (so running
 * instances hear at once). Pub/sub delivers at most once — a subscriber disconnected at that
 * moment misses it — so {@link subscribe} re-reads the flag whenever its connection comes back,
 * and the coordinator also reads it on every tick.
 *
 * @example
 * ```ts
 * const kill = new KillSwitch(redis);
 * const stop = await kill.subscribe(subscriberConnection, (s) => { if (s.engaged) halt(s.reason); });
 * await kill.engage('runaway strategy', 'ops@desk');
 * ```
 */
export class KillSwitch {
  /** The persisted flag's key. */
  readonly key: string;
  /** The pub/sub channel. */
  readonly channel: string;
  readonly #redis: Redis;
  readonly #maxReasonLength: number;
  readonly #versionKey: string;

  constructor(redis: Redis, options: KillSwitchOptions = {}) {
    const { prefix = DEFAULT_PREFIX, maxReasonLength = 500 } = options;
    const problem = positiveIntegerProblem('maxReasonLength', maxReasonLength);
    if (problem !== undefined) throw new BulwarkError('INVALID_OPTION', problem);
    this.#redis = redis;
    this.key = `${prefix}kill-switch`;
    this.#versionKey = `${prefix}kill-switch:version`;
    this.channel = `${prefix}kill-switch`;
    this.#maxReasonLength = maxReasonLength;
  }

  /** Engages the switch for every instance: persists the flag and publishes it. Returns the status and how many subscribers heard it. */
  async engage(reason: string, by: string): Promise<{ status: KillSwitchEngaged; receivers: number }> {
    if (reason.length === 0 || reason.length > this.#maxReasonLength) {
      throw new BulwarkError(
        'INVALID_OPTION',
        `reason must be 1 to ${String(this.#maxReasonLength)} characters, got ${String(reason.length)}`,
      );
    }
    const { status, receivers } = await this.#set({ engaged: true, reason, by, at: Date.now() });
    if (!status.engaged) throw coordinationError(SET_AND_PUBLISH.name, 'engage stored a released status');
    return { status, receivers };
  }

  /** Releases the switch: persists and publishes the release (a newer version than the engage). */
  async release(by: string): Promise<KillSwitchReleased> {
    const { status } = await this.#set({ engaged: false, by, at: Date.now() });
    if (status.engaged) throw coordinationError(SET_AND_PUBLISH.name, 'release stored an engaged status');
    return status;
  }

  async #set(status: Record<string, unknown>): Promise<{ status: KillSwitchStatus; receivers: number }> {
    const [text, receivers] = replyArray(
      await SET_AND_PUBLISH.run(this.#redis, [this.key, this.#versionKey], [JSON.stringify(status), this.channel]),
      SET_AND_PUBLISH.name,
    );
    const stored = typeof text === 'string' ? parseKillSwitchStatus(text) : undefined;
    if (stored === undefined) throw coordinationError(SET_AND_PUBLISH.name, `unexpected reply ${JSON.stringify(text)}`);
    return { status: stored, receivers: replyNumber(receivers, SET_AND_PUBLISH.name) };
  }

  /** The persisted status (released when no flag is set). */
  async read(): Promise<KillSwitchStatus> {
    let text: string | null;
    try {
      text = await this.#redis.get(this.key);
    } catch (e) {
      throw coordinationError('kill.read', e);
    }
    if (text === null) return { engaged: false, by: '', at: 0, version: 0 };
    // An unreadable flag is treated as engaged: failing safe.
    return (
      parseKillSwitchStatus(text) ?? {
        engaged: true,
        reason: `unreadable kill-switch flag ${JSON.stringify(text.slice(0, 80))}`,
        by: '',
        at: 0,
        version: Number.MAX_SAFE_INTEGER,
      }
    );
  }

  /** Whether the persisted flag is set. */
  async isEngaged(): Promise<boolean> {
    return (await this.read()).engaged;
  }

  /**
   * Calls `listener` with every status published, and with the persisted status each time the
   * subscriber connection becomes ready again. `subscriber` must be a connection of its own
   * (Redis puts it in subscriber mode), connected or connecting. Returns an unsubscribe.
   */
  async subscribe(subscriber: Redis, listener: (status: KillSwitchStatus) => void): Promise<() => Promise<void>> {
    const onMessage = (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const status = parseKillSwitchStatus(message);
      // An unreadable message is ignored here; the flag, read on every coordinator tick, decides.
      if (status !== undefined) listener(status);
    };
    const onReady = () => {
      this.read().then(listener, () => {
        // Redis is unreachable again: the coordinator's next tick reads the flag.
      });
    };
    subscriber.on('message', onMessage);
    subscriber.on('ready', onReady);
    try {
      await subscriber.subscribe(this.channel);
    } catch (e) {
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      throw coordinationError('kill.subscribe', e);
    }
    return async () => {
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      try {
        await subscriber.unsubscribe(this.channel);
      } catch {
        // Disconnected: nothing to unsubscribe from.
      }
    };
  }
}
