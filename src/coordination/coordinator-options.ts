import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '../errors.js';
import { DEFAULT_PREFIX, OWNER_PATTERN } from './keys.js';

/** Options of {@link RedisCoordinator}; every one but `url` has a finite default. */
export interface RedisCoordinatorOptions {
  /** `redis://host:port[/db]`. */
  readonly url: string;
  /** Unique among live instances. Default `<host>-<pid>-<random>`. */
  readonly instanceId?: string;
  /** Symbols to be managed across all instances. Default none (see `setSymbols`). */
  readonly symbols?: readonly string[];
  /** Prefix of every key and channel: instances sharing it coordinate. Default `bulwark:`. */
  readonly prefix?: string;
  /** Lease of a symbol (ms): a dead instance's symbols move within about this long. Default 10 000. */
  readonly leaseMs?: number;
  /** Time between renewals / heartbeats / claims (ms); at most leaseMs / 2. Default ⌊leaseMs / 3⌋. */
  readonly renewIntervalMs?: number;
  /** A lease is owned locally until leaseMs − safetyMarginMs after its renewal was sent (ms). Default max(5, ⌈2 % of leaseMs⌉). */
  readonly safetyMarginMs?: number;
  /** After Redis comes back without its data, no lease is granted for this long (ms); ≥ leaseMs. Default leaseMs. */
  readonly restartGraceMs?: number;
  /** A Redis command fails after this long (ms). Default min(1 000, ⌊leaseMs / 4⌋). */
  readonly commandTimeoutMs?: number;
  /** Connecting fails after this long (ms). Default 2 000. */
  readonly connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts (ms). Default 1 000. */
  readonly reconnectMaxDelayMs?: number;
  /** Leases per script call (bounds how long one call occupies Redis). Default 500. */
  readonly batchSize?: number;
  /** Most symbols accepted. Default 10 000. */
  readonly maxSymbols?: number;
  /** The order budget shared by all instances: a token bucket. Default capacity 10, 10 per second. */
  readonly orderBudget?: { readonly capacity?: number; readonly refillPerSecond?: number; readonly name?: string };
}

/** {@link RedisCoordinatorOptions} with every default filled in, frozen. */
export interface ResolvedCoordinatorOptions {
  /** Redis URL, `redis://` or `rediss://`. */
  readonly url: string;
  /** This instance's id, unique among live instances. */
  readonly instanceId: string;
  /** Symbols managed across all instances, at most `maxSymbols`, each 1 to 64 characters. */
  readonly symbols: readonly string[];
  /** Prefix of every key and channel, 1 to 64 characters. */
  readonly prefix: string;
  /** Lease of a symbol in ms, ≥ 50. */
  readonly leaseMs: number;
  /** Time between renewals, heartbeats and claims in ms, at most `leaseMs / 2`. */
  readonly renewIntervalMs: number;
  /** A lease counts as owned until `leaseMs − safetyMarginMs` after its renewal was sent (ms). */
  readonly safetyMarginMs: number;
  /** Ms without granting leases after Redis comes back without its data; 0 or ≥ `leaseMs`. */
  readonly restartGraceMs: number;
  /** Ms after which a Redis command fails; `renewIntervalMs + commandTimeoutMs + safetyMarginMs < leaseMs`. */
  readonly commandTimeoutMs: number;
  /** Ms after which connecting fails. */
  readonly connectTimeoutMs: number;
  /** Longest pause between reconnection attempts, in ms. */
  readonly reconnectMaxDelayMs: number;
  /** Leases per script call. */
  readonly batchSize: number;
  /** Most symbols accepted. */
  readonly maxSymbols: number;
  /** The order budget shared by all instances (a token bucket in Redis); `name` is part of its key. */
  readonly orderBudget: { readonly capacity: number; readonly refillPerSecond: number; readonly name: string };
}

function defaultInstanceId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 60) || 'host';
  return `${host}-${String(process.pid)}-${randomBytes(4).toString('hex')}`;
}

/** Checks symbols: non-empty strings of at most 64 characters, no duplicates, at most `max`. */
export function symbolProblems(symbols: readonly string[], max: number): string[] {
  const problems: string[] = [];
  if (symbols.length > max) problems.push(`${String(symbols.length)} symbols, more than maxSymbols ${String(max)}`);
  const bad = symbols.filter((s) => typeof s !== 'string' || s.length === 0 || s.length > 64);
  if (bad.length > 0)
    problems.push(
      `symbols must be 1 to 64 characters: ${bad
        .slice(0, 5)
        .map((s) => JSON.stringify(s))
        .join(', ')}`,
    );
  if (new Set(symbols).size !== symbols.length) problems.push('symbols must not repeat');
  return problems;
}

/**
 * Fills in the defaults and validates everything, reporting every problem at once
 * (`INVALID_OPTION`). The timing constraints keep leases safe: a renewal sent on schedule must
 * be answered (or time out) before the lease's local deadline.
 *
 * @example
 * ```ts
 * resolveCoordinatorOptions({ url: 'redis://127.0.0.1:6379', leaseMs: 3_000 }).renewIntervalMs; // 1000
 * ```
 */
export function resolveCoordinatorOptions(options: RedisCoordinatorOptions): ResolvedCoordinatorOptions {
  const leaseMs = options.leaseMs ?? 10_000;
  const renewIntervalMs = options.renewIntervalMs ?? Math.floor(leaseMs / 3);
  const resolved: ResolvedCoordinatorOptions = {
    url: options.url,
    instanceId: options.instanceId ?? defaultInstanceId(),
    symbols: Object.freeze([...(options.symbols ?? [])]),
    prefix: options.prefix ?? DEFAULT_PREFIX,
    leaseMs,
    renewIntervalMs,
    safetyMarginMs: options.safetyMarginMs ?? Math.max(5, Math.ceil(leaseMs * 0.02)),
    restartGraceMs: options.restartGraceMs ?? leaseMs,
    commandTimeoutMs: options.commandTimeoutMs ?? Math.min(1_000, Math.floor(leaseMs / 4)),
    connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
    reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? 1_000,
    batchSize: options.batchSize ?? 500,
    maxSymbols: options.maxSymbols ?? 10_000,
    orderBudget: Object.freeze({
      capacity: options.orderBudget?.capacity ?? 10,
      refillPerSecond: options.orderBudget?.refillPerSecond ?? 10,
      name: options.orderBudget?.name ?? 'orders',
    }),
  };
  const r = resolved;
  const problems: string[] = [];
  const int = (name: string, value: number, min: number) => {
    if (!Number.isSafeInteger(value) || value < min)
      problems.push(`${name} must be an integer ≥ ${String(min)}, got ${String(value)}`);
  };
  if (!/^rediss?:\/\//.test(r.url))
    problems.push(`url must start with redis:// or rediss://, got ${JSON.stringify(r.url)}`);
  if (!OWNER_PATTERN.test(r.instanceId))
    problems.push(`instanceId must match ${String(OWNER_PATTERN)}, got ${JSON.stringify(r.instanceId)}`);
  if (r.prefix.length === 0 || r.prefix.length > 64) problems.push('prefix must be 1 to 64 characters');
  int('leaseMs', r.leaseMs, 50);
  int('renewIntervalMs', r.renewIntervalMs, 10);
  int('safetyMarginMs', r.safetyMarginMs, 0);
  int('restartGraceMs', r.restartGraceMs, 0);
  int('commandTimeoutMs', r.commandTimeoutMs, 1);
  int('connectTimeoutMs', r.connectTimeoutMs, 1);
  int('reconnectMaxDelayMs', r.reconnectMaxDelayMs, 1);
  int('batchSize', r.batchSize, 1);
  int('maxSymbols', r.maxSymbols, 1);
  int('orderBudget.capacity', r.orderBudget.capacity, 1);
  if (!(Number.isFinite(r.orderBudget.refillPerSecond) && r.orderBudget.refillPerSecond >= 1e-6)) {
    problems.push(
      `orderBudget.refillPerSecond must be a number ≥ 0.000001, got ${String(r.orderBudget.refillPerSecond)}`,
    );
  }
  if (r.renewIntervalMs > r.leaseMs / 2)
    problems.push(
      `renewIntervalMs (${String(r.renewIntervalMs)}) must be at most leaseMs / 2 (${String(r.leaseMs / 2)})`,
    );
  if (r.renewIntervalMs + r.commandTimeoutMs + r.safetyMarginMs >= r.leaseMs) {
    problems.push(
      `renewIntervalMs + commandTimeoutMs + safetyMarginMs (${String(r.renewIntervalMs + r.commandTimeoutMs + r.safetyMarginMs)}) must be below leaseMs (${String(r.leaseMs)}): a renewal must be answered before the lease runs out`,
    );
  }
  if (r.restartGraceMs !== 0 && r.restartGraceMs < r.leaseMs)
    problems.push(`restartGraceMs must be 0 or ≥ leaseMs (${String(r.leaseMs)}), got ${String(r.restartGraceMs)}`);
  problems.push(...symbolProblems(r.symbols, Number.isSafeInteger(r.maxSymbols) ? r.maxSymbols : 10_000));
  if (problems.length > 0) throw new BulwarkError('INVALID_OPTION', problems.join('; '), { problems });
  return Object.freeze(resolved);
}
