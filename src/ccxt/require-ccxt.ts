import { BulwarkError } from '../errors.js';

/** What `import('ccxt')` rejects with when the package is not installed. */
const isMissing = (e: unknown): boolean => {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
};

/**
 * Loads the optional peer `ccxt`, or throws `CCXT_NOT_INSTALLED` saying how to install it.
 * The module is loaded once (Node caches it).
 */
export async function requireCcxt(): Promise<unknown> {
  try {
    return await import('ccxt');
  } catch (e) {
    if (!isMissing(e)) throw e;
    throw new BulwarkError(
      'CCXT_NOT_INSTALLED',
      'bulwark/ccxt needs the ccxt package, an optional peer dependency: npm install ccxt',
      { cause: e instanceof Error ? e.message : String(e) },
    );
  }
}
