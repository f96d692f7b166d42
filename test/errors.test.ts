/**
 * One error vocabulary: everything Bulwark throws, or rejects a promise with, is a
 * BulwarkError (or a subclass) whose code is in the one union `BulwarkErrorCode`, and the
 * README's "Errors and codes" lists exactly those codes, under the same areas.
 *
 * Two scans of src/: a plain-text one (no `throw new X(`, `new XError(` or `reject(new X(`
 * where X is not BulwarkError or a subclass; the allow-list is empty), and a type-checked
 * one (the static type of every `throw`, `Promise.reject(…)` and promise-executor
 * `reject(…)` argument is a BulwarkError, or it passes on, unchanged, an error caught from
 * code Bulwark calls).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../src/cli/cli-error.js';
import { BrokerRequestError } from '../src/egress/venue-guard.js';
import { EngineError, isEngineError } from '../src/engine/errors.js';
import {
  BULWARK_ERROR_CODES,
  BULWARK_ERROR_CODES_BY_AREA,
  BulwarkError,
  isBulwarkError,
  type BulwarkErrorArea,
  type BulwarkErrorCode,
} from '../src/errors.js';
import { REJECTION_CODES } from '../src/vocabulary/reason-codes.js';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

const FILES = sourceFiles(SRC).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

/** BulwarkError and every class in src that extends it, directly or not. */
function bulwarkClasses(): Set<string> {
  const extendsOf = new Map<string, string>();
  for (const { text } of FILES)
    for (const m of text.matchAll(/\bclass\s+(\w+)(?:<[^>]*>)?\s+extends\s+(\w+)/g))
      if (m[1] !== undefined && m[2] !== undefined) extendsOf.set(m[1], m[2]);
  const found = new Set(['BulwarkError']);
  for (let grew = true; grew;) {
    grew = false;
    for (const [cls, base] of extendsOf)
      if (found.has(base) && !found.has(cls)) {
        found.add(cls);
        grew = true;
      }
  }
  return found;
}

describe('one error vocabulary', () => {
  it('codes are unique SCREAMING_SNAKE, each in one area, and BULWARK_ERROR_CODES is every area’s codes', () => {
    const all = Object.values(BULWARK_ERROR_CODES_BY_AREA).flat();
    expect(new Set(all).size).toBe(all.length);
    expect([...BULWARK_ERROR_CODES]).toEqual(all);
    for (const code of all) expect(code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
    expect(Object.isFrozen(BULWARK_ERROR_CODES)).toBe(true);
    for (const list of Object.values(BULWARK_ERROR_CODES_BY_AREA)) expect(Object.isFrozen(list)).toBe(true);
  });

  it('the engine’s, the CLI’s and the broker adapter’s errors are BulwarkErrors with codes from the union', () => {
    const engine = new EngineError('INVALID_PLUGIN', 'a plugin must be an object', { name: 'x' });
    const cli = new CliError('USAGE', '--speed must be a number', EXIT.USAGE);
    const broker = new BrokerRequestError('REJECT', 400, -1013, 'Filter failure');
    for (const e of [engine, cli, broker]) {
      expect(e).toBeInstanceOf(BulwarkError);
      expect(isBulwarkError(e)).toBe(true);
      expect(BULWARK_ERROR_CODES).toContain(e.code);
      expect(e.message.startsWith(`${e.code}: `)).toBe(true);
    }
    expect(isBulwarkError(engine, 'INVALID_PLUGIN')).toBe(true);
    expect(isEngineError(engine, 'INVALID_PLUGIN')).toBe(true);
    expect(engine).toMatchObject({ name: 'EngineError', details: { name: 'x' } });
    expect(cli).toMatchObject({ name: 'CliError', code: 'USAGE', exitCode: 2 });
    expect(cli.message).toBe('USAGE: --speed must be a number'); // printed as is by the CLI
    expect(broker).toMatchObject({
      name: 'BrokerRequestError',
      code: 'BROKER_ERROR',
      action: 'REJECT',
      status: 400,
      brokerCode: -1013,
    });
    expect(broker.message).toBe('BROKER_ERROR: 400 -1013: Filter failure');
  });

  it('src throws and rejects nothing but BulwarkErrors: no `throw new X(`, `new XError(` or `reject(new X(` with another X (text scan, empty allow-list)', () => {
    const allowed = bulwarkClasses();
    expect([...allowed].sort()).toEqual(['BrokerRequestError', 'BulwarkError', 'CliError', 'EngineError']);
    const found: string[] = [];
    const patterns = [/\bthrow\s+new\s+(\w+)\s*\(/g, /\bnew\s+(\w*Error)\s*\(/g, /\breject\s*\(\s*new\s+(\w+)\s*\(/g];
    for (const { path, text } of FILES) {
      const lines = text.split('\n');
      lines.forEach((line, i) => {
        if (/^\s*(\*|\/\/)/.test(line)) return; // documentation
        for (const pattern of patterns)
          for (const m of line.matchAll(pattern))
            if (m[1] !== undefined && !allowed.has(m[1])) found.push(`${path}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it('src throws and rejects nothing but BulwarkErrors, by type: every throw, Promise.reject and executor reject (type-checked)', () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), undefined, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    });
    if (parsed === undefined) throw new Error('tsconfig.build.json could not be read');
    const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
    const checker = program.getTypeChecker();
    const errorsFile = program.getSourceFile(join(SRC, 'errors.ts'));
    const decl = errorsFile?.statements.find(
      (s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === 'BulwarkError',
    );
    if (decl?.name === undefined) throw new Error('class BulwarkError not found in src/errors.ts');
    const bulwarkType = checker.getTypeAtLocation(decl.name);

    /** A caught value passed on unchanged: a catch-clause variable, or the parameter of a `.catch`/`.then` rejection handler. */
    const passedOn = (e: ts.Expression): boolean => {
      if (!ts.isIdentifier(e)) return false;
      const d = checker.getSymbolAtLocation(e)?.valueDeclaration;
      if (d === undefined) return false;
      if (ts.isVariableDeclaration(d) && ts.isCatchClause(d.parent)) return true;
      if (!ts.isParameter(d)) return false;
      const fn = d.parent;
      const call = fn.parent;
      if (!ts.isCallExpression(call) || !ts.isPropertyAccessExpression(call.expression)) return false;
      const method = call.expression.name.text;
      return (method === 'catch' && call.arguments[0] === fn) || (method === 'then' && call.arguments[1] === fn);
    };
    const bad: string[] = [];
    let passes = 0;
    const check = (e: ts.Expression, file: ts.SourceFile, what: string): void => {
      if (ts.isParenthesizedExpression(e)) return check(e.expression, file, what);
      if (ts.isConditionalExpression(e)) {
        check(e.whenTrue, file, what);
        check(e.whenFalse, file, what);
        return;
      }
      if (passedOn(e)) {
        passes++;
        return;
      }
      const type = checker.getTypeAtLocation(e);
      if (!checker.isTypeAssignableTo(type, bulwarkType)) {
        const { line } = file.getLineAndCharacterOfPosition(e.getStart(file));
        bad.push(
          `${relative(ROOT, file.fileName)}:${line + 1}: ${what} ${e.getText(file)} (${checker.typeToString(type)})`,
        );
      }
    };
    /** `reject` of `new Promise((resolve, reject) => …)`, whatever it is named. */
    const isExecutorReject = (callee: ts.Expression): boolean => {
      if (!ts.isIdentifier(callee)) return false;
      const d = checker.getSymbolAtLocation(callee)?.valueDeclaration;
      if (d === undefined || !ts.isParameter(d)) return false;
      const fn = d.parent;
      return (
        fn.parameters[1] === d &&
        ts.isNewExpression(fn.parent) &&
        fn.parent.expression.getText() === 'Promise' &&
        fn.parent.arguments?.[0] === fn
      );
    };
    /** `pending.reject(…)`: a stored executor reject (a property whose type takes an Error). */
    const isStoredReject = (callee: ts.Expression): boolean =>
      ts.isPropertyAccessExpression(callee) &&
      callee.name.text === 'reject' &&
      !(ts.isIdentifier(callee.expression) && callee.expression.text === 'Promise') &&
      checker.getSymbolAtLocation(callee)?.valueDeclaration !== undefined &&
      ts.isPropertySignature(checker.getSymbolAtLocation(callee)?.valueDeclaration as ts.Declaration);
    let sites = 0;
    for (const file of program.getSourceFiles()) {
      if (!file.fileName.startsWith(SRC)) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isThrowStatement(node)) {
          sites++;
          check(node.expression, file, 'throw');
        } else if (ts.isCallExpression(node)) {
          const callee = node.expression;
          const arg = node.arguments[0];
          const promiseReject =
            ts.isPropertyAccessExpression(callee) &&
            callee.name.text === 'reject' &&
            ts.isIdentifier(callee.expression) &&
            callee.expression.text === 'Promise';
          if (arg !== undefined && (promiseReject || isExecutorReject(callee) || isStoredReject(callee))) {
            sites++;
            check(arg, file, 'reject');
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(file);
    }
    expect(bad).toEqual([]);
    expect(sites).toBeGreaterThan(100); // the scan reaches them: well over a hundred sites in src
    expect(passes).toBeGreaterThan(0);
  });
});

/** The README's "Errors and codes" section, split into its `####` areas. */
function readmeAreas(): Map<string, string[]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### Errors and codes\n');
  expect(start).toBeGreaterThan(0);
  const rest = readme.slice(start + 1);
  const end = rest.slice(1).search(/\n#{1,3} /);
  const section = end < 0 ? rest : rest.slice(0, end + 1);
  const areas = new Map<string, string[]>();
  for (const part of section.split(/\n#### /).slice(1)) {
    const title = part.slice(0, part.indexOf('\n')).trim();
    const codes = [...part.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1] ?? '');
    areas.set(title, codes);
  }
  return areas;
}

/** README headings of the areas, in order. */
const AREA_TITLES: Readonly<Record<BulwarkErrorArea, string>> = {
  input: 'Input validation',
  kernels: 'Kernels and limits',
  egress: 'Egress and broker',
  engine: 'Engine',
  coordination: 'Coordination',
  cli: 'CLI',
  lifecycle: 'Lifecycle',
};

describe('README: Errors and codes', () => {
  it('lists every code of the union under its area, and no other (both ways)', () => {
    const areas = readmeAreas();
    expect([...areas.keys()]).toEqual(Object.values(AREA_TITLES));
    for (const [area, title] of Object.entries(AREA_TITLES) as [BulwarkErrorArea, string][]) {
      expect(areas.get(title), title).toEqual([...BULWARK_ERROR_CODES_BY_AREA[area]]);
    }
    const listed = [...areas.values()].flat();
    expect(new Set(listed)).toEqual(new Set<BulwarkErrorCode>(BULWARK_ERROR_CODES));
    expect(listed).toHaveLength(BULWARK_ERROR_CODES.length);
  });

  it('names the rejection codes it mentions from REJECTION_CODES, not as error codes', () => {
    for (const code of ['INVALID_SIDE', 'INVALID_TYPE', 'INVALID_INTENT'] as const) {
      expect(REJECTION_CODES).toContain(code);
      expect(BULWARK_ERROR_CODES as readonly string[]).not.toContain(code);
    }
  });
});
