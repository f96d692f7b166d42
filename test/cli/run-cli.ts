import { main } from '../../src/cli/bulwark.js';

/** Runs the `bulwark` CLI in-process, capturing what it prints and its exit code. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    log: (s: string) => void (out += `${s}\n`),
    error: (s: string) => void (err += `${s}\n`),
  });
  return { code, out, err };
}
