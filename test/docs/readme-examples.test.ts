/**
 * Every TypeScript block of the README compiles against the package's own entry points
 * (`bulwark`, `bulwark/engine`, …, resolved through package.json's `exports` to the built
 * declarations, as a user's project resolves them), and the blocks marked runnable run.
 * The README cannot drift from the API: a renamed export or option fails here.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { toJavaScript, tsBlocks, typeErrors, type TsBlock } from './ts-blocks.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** Inside the package, so `import 'bulwark'` resolves to the package itself (self-reference). */
const DIR = join(ROOT, '.readme-examples');
const run = promisify(execFile);

const fileOf = (b: TsBlock, ext: 'ts' | 'mjs') => join(DIR, `readme-${b.index}-line-${b.line}.${ext}`);

describe('README.md TypeScript blocks', async () => {
  const blocks = tsBlocks(await readFile(join(ROOT, 'README.md'), 'utf8'));

  beforeAll(async () => {
    expect(existsSync(join(ROOT, 'dist/index.d.ts')), 'dist/ is missing: npm test builds it first').toBe(true);
    await rm(DIR, { recursive: true, force: true });
    await mkdir(DIR, { recursive: true });
    for (const b of blocks) {
      await writeFile(fileOf(b, 'ts'), b.code);
      if (b.runnable) await writeFile(fileOf(b, 'mjs'), toJavaScript(b.code));
    }
  });

  it('has the blocks this test is meant to check (usage, broker wiring, kernels, Redis)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    expect(blocks.filter((b) => b.runnable).length).toBeGreaterThanOrEqual(3);
  });

  it('every block type-checks, strict, against the entry points in package.json exports', () => {
    const errors = typeErrors(
      blocks.map((b) => fileOf(b, 'ts')),
      join(ROOT, 'tsconfig.json'),
    );
    expect(errors.map((e) => e.replace(DIR + '/', ''))).toEqual([]);
  });

  for (const b of blocks.filter((x) => x.runnable)) {
    it(`the runnable block at README.md line ${b.line} runs and exits 0`, async () => {
      // Its own working folder: the files it writes (.bulwark/) start empty; data/ is the repo's.
      const cwd = await mkdtemp(join(tmpdir(), 'bulwark-readme-'));
      await symlink(join(ROOT, 'data'), join(cwd, 'data'));
      try {
        const { stdout } = await run(process.execPath, [fileOf(b, 'mjs')], { cwd, timeout: 90_000 });
        expect(typeof stdout).toBe('string');
      } finally {
        await rm(cwd, { recursive: true, force: true });
      }
    });
  }
});
