/**
 * Drawdown thresholds (fractions of the peak) with hysteresis:
 * ACTIVE → (warnAt: warning only) → REDUCING at `reduceAt` → HALTED at `haltAt`; back to
 * ACTIVE only after drawdown has stayed at or below `resumeBelow` for `cooldownMs`, or on a
 * manual reset.
 */
export interface DrawdownLadder {
  /** Rolling window in equity points for the drawdown that drives the ladder; 0 = since inception. Default 0. */
  readonly window: number;
  /** Default 0.05. */
  readonly warnAt: number;
  /** Default 0.10. */
  readonly reduceAt: number;
  /** Default 0.15. */
  readonly haltAt: number;
  /** Default 0.04. */
  readonly resumeBelow: number;
  /** Default 30 minutes. */
  readonly cooldownMs: number;
  /** Close every position on HALTED. Default false (entries are always cancelled). */
  readonly flattenOnHalt: boolean;
  /** Timeout of each call to the host's portfolio and order services. Default 5 s. */
  readonly serviceTimeoutMs: number;
  /** Calls to host services in flight at once (bulkhead). Default 4. */
  readonly maxConcurrentCalls: number;
  /** Calls waiting for the bulkhead before new ones are refused. Default 16. */
  readonly maxQueuedCalls: number;
}

/** Defaults of {@link DrawdownLadder}. */
export const DEFAULT_LADDER: DrawdownLadder = Object.freeze({
  window: 0,
  warnAt: 0.05,
  reduceAt: 0.1,
  haltAt: 0.15,
  resumeBelow: 0.04,
  cooldownMs: 30 * 60_000,
  flattenOnHalt: false,
  serviceTimeoutMs: 5_000,
  maxConcurrentCalls: 4,
  maxQueuedCalls: 16,
});

/** Every problem with a ladder, as messages (empty when valid). */
export function ladderProblems(l: DrawdownLadder, prefix = 'drawdown'): string[] {
  const p: string[] = [];
  const frac = (k: keyof DrawdownLadder) => {
    const v = l[k];
    if (typeof v !== 'number' || !(v >= 0 && v < 1))
      p.push(`${prefix}.${k} must be a fraction in [0, 1), got ${String(v)}`);
  };
  const int = (k: keyof DrawdownLadder, min: number) => {
    const v = l[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      p.push(`${prefix}.${k} must be an integer ≥ ${min}, got ${String(v)}`);
  };
  (['warnAt', 'reduceAt', 'haltAt', 'resumeBelow'] as const).forEach(frac);
  int('window', 0);
  int('cooldownMs', 0);
  int('serviceTimeoutMs', 1);
  int('maxConcurrentCalls', 1);
  int('maxQueuedCalls', 0);
  if (typeof l.flattenOnHalt !== 'boolean') p.push(`${prefix}.flattenOnHalt must be a boolean`);
  if (p.length === 0 && !(l.resumeBelow < l.warnAt && l.warnAt <= l.reduceAt && l.reduceAt < l.haltAt)) {
    p.push(`${prefix} thresholds must satisfy resumeBelow < warnAt ≤ reduceAt < haltAt`);
  }
  return p;
}
