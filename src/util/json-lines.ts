import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Opens a JSON-lines file for appending, creating it and its folder if missing. */
export async function openForAppend(path: string): Promise<FileHandle> {
  await mkdir(dirname(path), { recursive: true });
  return open(path, 'a');
}

/**
 * Reads a JSON-lines file (missing: empty). Lines that do not parse, or that `isValid`
 * refuses — a torn last line after a crash mid-write — are counted and skipped.
 *
 * @example
 * ```ts
 * const { items, corrupt } = await readJsonLines(path, (x): x is Entry => typeof (x as Entry)?.id === 'string');
 * ```
 */
export async function readJsonLines<T>(
  path: string,
  isValid: (value: unknown) => value is T,
): Promise<{ items: T[]; corrupt: number }> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const items: T[] = [];
  let corrupt = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isValid(value)) items.push(value);
      else corrupt++;
    } catch {
      corrupt++;
    }
  }
  return { items, corrupt };
}

/**
 * Replaces `path` with `items` as JSON lines, atomically: a temp file is written and
 * fsync'd, then renamed over the old one, so a crash leaves either the old file or the new.
 *
 * @example
 * ```ts
 * await rewriteJsonLines('var/dlq.jsonl', keep);
 * ```
 */
export async function rewriteJsonLines(path: string, items: readonly unknown[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const out = await open(tmp, 'w');
  try {
    await out.write(items.map((i) => `${JSON.stringify(i)}\n`).join(''));
    await out.datasync();
  } finally {
    await out.close();
  }
  await rename(tmp, path);
}
