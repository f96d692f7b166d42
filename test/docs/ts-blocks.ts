/**
 * The TypeScript code blocks of a Markdown file, for tests that compile and run them.
 * A block opens with a ```ts fence; ```ts runnable marks one that must also run and exit 0.
 */
import ts from 'typescript';

/** One ```ts block: where it starts in the file (1-based line of its first code line). */
export interface TsBlock {
  readonly index: number;
  readonly line: number;
  readonly code: string;
  readonly runnable: boolean;
}

/** Every ```ts block of `markdown`, in order. */
export function tsBlocks(markdown: string): TsBlock[] {
  const blocks: TsBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```ts(?:\s+(runnable))?\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end++;
    blocks.push({
      index: blocks.length,
      line: start + 1,
      code: lines.slice(start, end).join('\n') + '\n',
      runnable: open[1] === 'runnable',
    });
    i = end;
  }
  return blocks;
}

/** The block as an ES module Node can run: types stripped, nothing else changed. */
export function toJavaScript(code: string): string {
  return ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  }).outputText;
}

/**
 * Type-checks `files` with the project's compiler options (strict, NodeNext): the messages,
 * each as `file:line: text`.
 */
export function typeErrors(files: readonly string[], tsconfig: string): string[] {
  const read = ts.readConfigFile(tsconfig, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, tsconfig.replace(/[^/]+$/, ''));
  const program = ts.createProgram([...files], { ...parsed.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1}: ${text}`;
  });
}
