/**
 * What `npm pack` ships: what a user needs (the built modules and their declarations, the
 * kernels' .wasm, README, LICENSE, CHANGELOG, the demo day for `bulwark replay`) and nothing
 * else; and the tarball installed into an empty project runs the README's first example and
 * the CLI. The pack skips `prepack` here because `npm test` has just built: prepack's build
 * is what makes a pack on a fresh clone complete (a test below reads the script).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJavaScript, tsBlocks } from '../docs/ts-blocks.js';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

describe('the packed package', () => {
  let work = '';
  let pack: PackResult;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'bulwark-pack-'));
    const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    pack = (JSON.parse(stdout) as PackResult[])[0] as PackResult;
  }, 120_000);

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('builds before packing (prepack), so a pack from a fresh clone has dist and the .wasm', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['prepack']).toBe('npm run build');
    expect(pkg.scripts['build']).toMatch(/asbuild.*tsc -p tsconfig\.build\.json/);
  });

  it('contains dist (modules, declarations, source maps), the three .wasm builds, README, LICENSE, CHANGELOG and the demo day, nothing else', () => {
    const paths = pack.files.map((f) => f.path).sort();
    const allowed = (p: string) =>
      ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'data/demo-day.csv'].includes(p) ||
      /^build\/(release|scalar|debug)\.wasm$/.test(p) ||
      /^dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map)$/.test(p);
    expect(paths.filter((p) => !allowed(p))).toEqual([]);
    for (const need of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/engine/index.d.ts',
      'dist/egress/index.d.ts',
      'dist/coordination/index.d.ts',
      'dist/testing/index.d.ts',
      'dist/ccxt/index.d.ts',
      'dist/cli/bulwark.js',
      'build/release.wasm',
      'build/scalar.wasm',
      'build/debug.wasm',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
    ]) {
      expect(paths, need).toContain(need);
    }
    // No tests, sources, fixtures of the repo or tooling.
    expect(paths.some((p) => /^(src|test|bench|assembly|scripts|api|examples)\//.test(p))).toBe(false);
  });

  it('installs into an empty project, which runs the README’s first example and the CLI', async () => {
    const app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run(
      npm,
      ['install', join(work, pack.filename), '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'],
      {
        cwd: app,
        timeout: 180_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const first = tsBlocks(await readFile(join(ROOT, 'README.md'), 'utf8')).find((b) => b.runnable);
    expect(first?.code).toMatch(/from 'bulwark'/);
    await writeFile(join(app, 'example.mjs'), toJavaScript(first?.code ?? ''));
    await symlink(join(app, 'node_modules/bulwark/data'), join(app, 'data'));
    const example = await run(process.execPath, ['example.mjs'], { cwd: app, timeout: 90_000 });
    expect(example.stdout).toMatch(/bars/);
    const cli = await run(process.execPath, [join(app, 'node_modules/.bin/bulwark'), '--help'], { cwd: app });
    expect(cli.stdout).toMatch(/replay/);
    // ccxt is an optional peer: not installed here, bulwark runs (above) and bulwark/ccxt says what to do.
    await writeFile(
      join(app, 'venue.mjs'),
      "import('bulwark/ccxt').then(() => console.log('LOADED'), (e) => console.log(e.code, e.message));",
    );
    const venue = await run(process.execPath, ['venue.mjs'], { cwd: app });
    expect(venue.stdout).toMatch(/^CCXT_NOT_INSTALLED CCXT_NOT_INSTALLED: .*npm install ccxt/);
  }, 240_000);
});
