/** The options `O` with the keys given defaults made required (and never undefined). */
export type WithDefaults<O, K extends keyof O> = O & { readonly [P in K]-?: Exclude<O[P], undefined> };

/**
 * `options` with each key of `defaults` that the caller left out (or set to `undefined`)
 * filled in: a module resolves its options once, in one place, instead of repeating
 * `?? <number>` wherever an option is read.
 *
 * @example
 * ```ts
 * const DEFAULTS = { requestTimeoutMs: 5_000 } as const;
 * this.#o = withDefaults(options, DEFAULTS); // this.#o.requestTimeoutMs: number
 * ```
 */
export function withDefaults<O extends object, K extends keyof O>(
  options: O,
  defaults: { readonly [P in K]-?: Exclude<O[P], undefined> },
): WithDefaults<O, K> {
  const out = { ...options } as Record<PropertyKey, unknown>;
  for (const key of Object.keys(defaults)) out[key] ??= (defaults as Record<PropertyKey, unknown>)[key];
  return out as WithDefaults<O, K>;
}
