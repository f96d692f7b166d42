import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ProtectionLocks } from './stop-out-guard.js';

/** Where the plugin keeps its protection locks across restarts (a file, a key in Redis, …). */
export interface ProtectionStore {
  /** The locks saved last, or undefined when none were. */
  load(): Promise<ProtectionLocks | undefined>;
  /** Saves the locks in force (replacing what was saved). */
  save(locks: ProtectionLocks): Promise<void>;
}

/**
 * A {@link ProtectionStore} in one JSON file, replaced atomically (written beside it, then
 * renamed), so a crash leaves the old locks or the new ones, never half of either. An
 * unreadable file loads as no locks (and is replaced at the next save).
 *
 * @example
 * ```ts
 * const plugin = createRiskPlugin(config, { protectionStore: new FileProtectionStore('.bulwark/protections.json') });
 * ```
 */
export class FileProtectionStore implements ProtectionStore {
  #writing: Promise<void> = Promise.resolve();

  /** @param path - the JSON file (its folder is created at the first save) */
  constructor(
    /** The JSON file the locks are kept in. */
    readonly path: string,
  ) {}

  /** The saved locks; undefined when the file is missing or unreadable. */
  async load(): Promise<ProtectionLocks | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const parsed = JSON.parse(text) as { guard?: unknown; cooldown?: unknown } | null;
      const record = (v: unknown) => (typeof v === 'object' && v !== null ? (v as Record<string, number>) : {});
      return { guard: record(parsed?.guard), cooldown: record(parsed?.cooldown) };
    } catch {
      return undefined;
    }
  }

  /** Replaces the file's locks with `locks`, atomically. */
  save(locks: ProtectionLocks): Promise<void> {
    // One write at a time, in order: the last save wins.
    const write = this.#writing.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify(locks));
      await rename(tmp, this.path);
    });
    this.#writing = write.catch(() => {});
    return write;
  }
}
