#!/usr/bin/env node
// The API report: one `api/<entry>.api.md` per public entry point, written by
// @microsoft/api-extractor from the built declarations (dist/**/*.d.ts).
//
//   node scripts/api-report.mjs            # check: fails if the public surface differs from api/
//   node scripts/api-report.mjs --update   # accept the change: rewrite api/*.api.md
//   node scripts/api-report.mjs --undocumented   # also list public members without TSDoc
//
// api-extractor analyses one entry point per run, so this runs it once per entry of the
// package's `exports` map. Every change to what users can import shows up as a diff of
// api/*.api.md in review; `npm test` fails until it is accepted with --update.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const update = process.argv.includes('--update');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** `"./egress"` → `bulwark-egress`; `"."` → `bulwark`. */
const reportName = (subpath) => (subpath === '.' ? pkg.name : `${pkg.name}-${subpath.slice(2).replaceAll('/', '-')}`);

const entries = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target === 'object' && target.types !== undefined)
  .map(([subpath, target]) => ({ subpath, name: reportName(subpath), types: join(root, target.types) }));

/** Where in the sources a message points (declaration maps lead back from dist to src). */
const where = (m) =>
  m.sourceFilePath === undefined ? '' : ` (${m.sourceFilePath.replace(root + '/', '')}:${m.sourceFileLine})`;
let failed = 0;
/** Symbols a public signature mentions that its entry point does not export, by entry. */
const forgotten = new Map();
let undocumented = 0;
const tempFolder = join(root, 'node_modules/.cache/api-report');
for (const entry of entries) {
  if (!existsSync(entry.types)) {
    console.error(`${entry.subpath}: ${entry.types} is missing: run npm run build first`);
    failed++;
    continue;
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: entry.types,
      compiler: { tsconfigFilePath: join(root, 'tsconfig.build.json') },
      apiReport: {
        enabled: true,
        reportFileName: `${entry.name}.api.md`,
        reportFolder: join(root, 'api'),
        reportTempFolder: tempFolder,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          // Checked below across all entry points: api-extractor looks at one entry at a time.
          'ae-forgotten-export': { logLevel: 'warning', addToApiReportFile: false },
          // Counted, not fatal: see the closing summary line.
          'ae-undocumented': { logLevel: 'warning', addToApiReportFile: false },
          // Links to internals in TSDoc are prose, not surface; and api-extractor resolves links from
          // a sub-entry against the package root only.
          'ae-unresolved-link': { logLevel: 'none' },
          'ae-missing-release-tag': { logLevel: 'none' },
          // One declaration reached from several entry points is fine (the vocabulary is shared).
          'ae-internal-missing-underscore': { logLevel: 'none' },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: join(root, 'api', `${entry.name}.json`),
    packageJsonFullPath: join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (m) => {
      if (m.logLevel === 'none') return;
      m.handled = true;
      if (m.messageId === 'ae-forgotten-export') {
        const name = /The symbol "([^"]+)"/.exec(m.text)?.[1] ?? m.text;
        forgotten.set(name, [...(forgotten.get(name) ?? []), entry.subpath]);
        return;
      }
      if (m.messageId === 'ae-undocumented') {
        undocumented++;
        if (process.argv.includes('--undocumented')) console.log(`${entry.subpath}: ${m.text}${where(m)}`);
        return;
      }
      if (m.logLevel === 'info' || m.logLevel === 'verbose') return;
      if (m.messageId.startsWith('console-api-report')) return;
      console.error(`${entry.subpath}: ${m.logLevel} ${m.messageId}: ${m.text}${where(m)}`);
    },
  });
  if (!result.succeeded || (!update && result.apiReportChanged)) {
    failed++;
    if (result.apiReportChanged && !update) {
      console.error(
        `${entry.subpath}: the public API differs from api/${entry.name}.api.md (review, then npm run api:update)`,
      );
    }
  } else {
    console.log(
      `${entry.subpath}: api/${entry.name}.api.md ${update && result.apiReportChanged ? 'updated' : 'unchanged'}`,
    );
  }
}
// Every type a public signature mentions must be importable from some entry point (the
// vocabulary lives in `bulwark`; `bulwark/engine` may use it without re-exporting it).
const exported = new Set();
for (const entry of entries) {
  const report = join(tempFolder, `${entry.name}.api.md`);
  if (!existsSync(report)) continue;
  for (const m of readFileSync(report, 'utf8').matchAll(
    /^export (?:declare )?(?:abstract )?(?:class|interface|type|const|function|enum|let) (\w+)/gm,
  )) {
    exported.add(m[1]);
  }
}
// Named only by constructors users never call (the kernel factory and the plugin build these).
const PLUMBING = new Set(['WasmRuntime', 'StopReconcilerOptions']);
for (const [name, from] of forgotten) {
  if (exported.has(name) || PLUMBING.has(name)) continue;
  console.error(`${from.join(', ')}: ${name} is part of the public API but no entry point exports it`);
  failed++;
}
console.log(`${entries.length} entry points, ${exported.size} exported names, ${undocumented} undocumented members`);
process.exit(failed === 0 ? 0 : 1);
