import { FilterError, filters, tests, truthy, type JinjaFunction } from './filters.js';
import { lookupGlobals } from './lookups/index.js';
import { fromEngine, printed } from './python-repr.js';
import { Environment } from './jinja/environment.js';
import { taintOutput } from './taint.js';
import { isVariablePath, playbookBackslashes, pythonEscapes, soleExpression, wrapOutputs } from './template-source.js';

/** What the templater needs of a Jinja engine: src/vars/jinja's Environment (or minijinja-js's, as the measurement runs it). */
export type JinjaEngine = Pick<Environment, 'debug' | 'trimBlocks' | 'keepTrailingNewline' | 'enablePyCompat' | 'addTemplate' | 'renderTemplate' | 'evalExpr' | 'addGlobal'> & {
  undefinedBehavior: string;
  addFilter(name: string, fn: JinjaFunction): void;
  addTest(name: string, fn: JinjaFunction): void;
  /**
   * The engine prints `{{ }}` values as Python's str() with Ansible's finalize, and an
   * undefined output is an "undefined value" error spanning its expression: outputs then
   * need no wrapping through the Python printing filter.
   */
  readonly printsPython?: boolean;
  /** With printsPython: told of every `{{ }}` output, as the printing filter is otherwise. */
  outputHook?: (code: string, value: unknown, printed: string) => void;
  /** Characters one render may produce (the engine stops it there; minijinja has no such cap). */
  outputLimit?: number;
  fuel: number | null | undefined;
};

/** A template failed: syntax, an undefined name, or a filter's complaint. */
export class TemplateError extends Error {
  constructor(
    message: string,
    /** 1-based line and column inside the template source, when known. */
    readonly line?: number,
    readonly col?: number,
    /** The undefined expression (e.g. `foo.bar`), when that was the problem. */
    readonly undefinedName?: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

const PY_FILTER = '__senex_py';

/**
 * No template may run without end or fill the controller's memory: a render stops after this
 * many engine instructions (about 0.7 s here; the shipped roles' biggest template needs far
 * less) and its output may not pass this size. The controller stays responsive to SIGINT.
 */
export const TEMPLATE_FUEL = 20_000_000;
export const TEMPLATE_MAX_OUTPUT = 64 * 1024 * 1024;

const trailingNewlines = (s: string) => s.length - s.replace(/\n+$/, '').length;

/**
 * Ansible's Templar gives the output at least as many trailing newlines as the source had
 * (trim_blocks may have eaten one after a final `{% endraw %}` or `{% endif %}`).
 */
function preserveTrailingNewlines(source: string, out: string): string {
  const missing = trailingNewlines(source) - trailingNewlines(out);
  return missing > 0 ? out + '\n'.repeat(missing) : out;
}

/**
 * Jinja2 as Ansible configures it (trim_blocks, strict undefined, trailing newline kept),
 * on src/vars/jinja, with Ansible's filters and tests and Python's way of printing values.
 * Compiled templates are cached by source, so each is parsed once per run.
 */
export class Templater {
  private readonly env: JinjaEngine;
  private readonly wrap: (source: string) => string;
  private readonly compiled = new Map<string, string | TemplateError>();
  // A JS exception inside a filter would panic the wasm engine; filters record it here
  // instead and the render that called them throws it afterwards.
  private filterError: Error | undefined;
  // The context of the render in progress, for taintOutput (filters see only their arguments).
  private context: Record<string, unknown> = {};

  constructor(engine: () => JinjaEngine = () => new Environment()) {
    this.env = engine();
    this.wrap = this.env.printsPython ? (source) => source : (source) => wrapOutputs(source, PY_FILTER);
    this.env.debug = true; // error messages carry the span of the failing expression
    this.env.undefinedBehavior = 'strict';
    this.env.trimBlocks = true;
    this.env.keepTrailingNewline = true;
    this.env.enablePyCompat();
    this.env.fuel = TEMPLATE_FUEL;
    this.env.outputLimit = TEMPLATE_MAX_OUTPUT;
    this.env.outputHook = (code, v, out) => {
      const value = fromEngine(v);
      taintOutput(code, typeof value === 'string' ? out : value, this.context);
    };
    for (const [name, fn] of Object.entries(filters)) this.env.addFilter(name, this.guard(name, fn, ''));
    for (const [name, fn] of Object.entries(tests)) this.env.addTest(name, this.guard(name, fn, false));
    // lookup()/query()/q(): the plugins read the calling task's context (see lookups/index.ts).
    for (const [name, fn] of Object.entries(lookupGlobals)) this.env.addGlobal(name, this.guard(name, fn, null));
    this.env.addFilter(PY_FILTER, (v: unknown, ...[defined, code, line, col]: unknown[]) => {
      // Strict mode lets an undefined value reach a filter, and a filter sees none as
      // undefined too: the template passes `is defined` along for plain variable paths.
      if (defined === false) {
        this.filterError ??= undefinedError(String(code), line as number, col as number);
        return '';
      }
      const value = fromEngine(v);
      const out = printed(value);
      if (code !== undefined) taintOutput(String(code), typeof value === 'string' ? out : value, this.context);
      return out;
    });
  }

  /** Renders a template to text, as Ansible's template module does. */
  render(source: string, context: Record<string, unknown>): string {
    const name = this.compile(source);
    this.context = context;
    return preserveTrailingNewlines(source, bounded(this.call(() => this.env.renderTemplate(name, context), source)));
  }

  /**
   * Templates a value from a playbook: a string that is exactly one `{{ expr }}` keeps the
   * expression's type (a list stays a list), anything else renders to a string.
   */
  template(text: string, context: Record<string, unknown>): unknown {
    const source = playbookBackslashes(text);
    const sole = soleExpression(source);
    if (sole === undefined) return this.render(source, context);
    const expr = pythonEscapes(sole);
    const value = this.call(() => this.env.evalExpr(expr, context, true), source, source.indexOf(expr));
    if (value === undefined && isVariablePath(expr)) throw undefinedError(expr.trim(), 1, source.indexOf(expr) + 1);
    const result = fromEngine(typeof value === 'string' ? bounded(value) : value);
    taintOutput(expr, result, context);
    return result;
  }

  /** Evaluates a bare expression (`when:`, `until:`, `changed_when:`) with Python truthiness. */
  test(expression: string, context: Record<string, unknown>): boolean {
    const expr = pythonEscapes(soleExpression(expression.trim()) ?? expression);
    return truthy(this.call(() => this.env.evalExpr(expr, context), expr, 0));
  }

  /** Parses a template without rendering it, to report syntax errors before the run. */
  check(text: string, opts: { playbookValue?: boolean } = {}): TemplateError | undefined {
    const source = opts.playbookValue ? playbookBackslashes(text) : text;
    const expr = soleExpression(source);
    if (expr !== undefined) {
      try {
        this.env.evalExpr(`(${expr}) is defined or true`, {});
      } catch (e) {
        const err = toTemplateError(e, source, source.indexOf(expr));
        return err.undefinedName === undefined && /syntax error/.test(err.message) ? err : undefined;
      }
      return undefined;
    }
    const compiled = this.compiledEntry(source);
    return compiled instanceof TemplateError ? compiled : undefined;
  }

  private compile(source: string): string {
    const entry = this.compiledEntry(source);
    if (entry instanceof TemplateError) throw entry;
    return entry;
  }

  private compiledEntry(source: string): string | TemplateError {
    let entry = this.compiled.get(source);
    if (entry === undefined) {
      const name = `t${this.compiled.size}`;
      try {
        this.env.addTemplate(name, this.wrap(source));
        entry = name;
      } catch (e) {
        entry = toTemplateError(e, source);
      }
      this.compiled.set(source, entry);
    }
    return entry;
  }

  private call<T>(fn: () => T, source: string, exprOffset?: number): T {
    this.filterError = undefined;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      if (this.filterError) throw this.takeFilterError();
      throw toTemplateError(e, source, exprOffset);
    }
    if (this.filterError) throw this.takeFilterError();
    return result;
  }

  private takeFilterError(): TemplateError {
    const e = this.filterError!;
    this.filterError = undefined;
    return e instanceof TemplateError ? e : new TemplateError(e.message);
  }

  private guard(name: string, fn: JinjaFunction, fallback: unknown): JinjaFunction {
    return (...args) => {
      if (this.filterError) return fallback;
      try {
        return fn(...(args as [unknown, ...unknown[]]));
      } catch (e) {
        const why = e instanceof FilterError ? e.message : (e as Error).message;
        this.filterError = new TemplateError(`${name}: ${why}`);
        return fallback;
      }
    };
  }
}

function bounded(out: string): string {
  if (out.length > TEMPLATE_MAX_OUTPUT) throw new TemplateError(`template output is larger than ${TEMPLATE_MAX_OUTPUT / 1024 / 1024} MiB (${out.length} characters); a template's output must stay below that`);
  return out;
}

function undefinedError(name: string, line?: number, col?: number): TemplateError {
  return new TemplateError(`'${name}' is undefined`, line, col, name);
}

/**
 * minijinja's debug message has the failing line, a caret span under it, and the values of
 * referenced variables. We keep the line, column and the spanned text, and drop the values:
 * they may be secrets.
 */
function toTemplateError(e: unknown, source: string, exprOffset?: number): TemplateError {
  const raw = e instanceof Error ? e.message : String(e);
  const [head = raw] = raw.split('\n');
  const what = head.replace(/ \(in [^)]*\)$/, '').replace(/^(\w+ )+error: /, (m) => m);
  const lineMatch = / \(in [^:]*:(\d+)\)$/.exec(head);
  const lines = raw.split('\n');
  let line = lineMatch ? Number(lineMatch[1]) : undefined;
  let col: number | undefined;
  let spanned: string | undefined;
  const codeIdx = lines.findIndex((l) => /^\s*\d+ > /.test(l));
  if (codeIdx >= 0 && lines[codeIdx + 1]) {
    const codeLine = lines[codeIdx]!;
    const prefix = /^\s*\d+ > /.exec(codeLine)![0].length;
    const caret = lines[codeIdx + 1]!;
    const first = caret.indexOf('^');
    if (first >= 0) {
      const last = caret.lastIndexOf('^');
      spanned = codeLine.slice(first, last + 1);
      const origLine = exprOffset === undefined ? source.split('\n')[(line ?? 1) - 1] ?? '' : source;
      const at = spanned ? origLine.indexOf(spanned.replace(/^\(/, '')) : -1;
      col = at >= 0 ? at + 1 : first - prefix + 1;
    }
  }
  if (exprOffset !== undefined && line === undefined) line = 1;
  if (/^output too large/.test(what)) return new TemplateError(`template output is larger than ${TEMPLATE_MAX_OUTPUT / 1024 / 1024} MiB (${what.replace(/^output too large: /, '')}); a template's output must stay below that`, line, col);
  if (/out of fuel/.test(what)) return new TemplateError(`template stopped after ${TEMPLATE_FUEL} steps (a loop that never ends, or far too much work for one template); make it do less`, line, col);
  if (/^undefined value/.test(what) && spanned) return undefinedError(spanned.replace(/^\(+|\)+$/g, ''), line, col);
  return new TemplateError(what.replace(/^syntax error: /, 'template syntax error: '), line, col);
}
