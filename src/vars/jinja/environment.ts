/**
 * Jinja2 as Ansible runs it, in TypeScript: a drop-in for the minijinja-js `Environment`
 * that template.ts drives (same members, same error message shape), with what minijinja-js
 * lacks: dicts in insertion order, Python's values and printing, integer attribute access
 * (`item.0`), dotted filter and test names, a step budget and an output cap.
 */
import type { Expr } from './ast.js';
import { JinjaError, undefinedValue } from './errors.js';
import { tokenize, tokenizeExpr } from './lexer.js';
import { Parser } from './parser.js';
import { builtinFilters, builtinTests } from './builtins.js';
import { checkNames, type NameResolver } from './names-check.js';
import { NO_ELSE, Renderer, shortName, type Compiled, type EngineConfig, type JsFunction, type OutputHook } from './render.js';
import { toJs, Undef } from './values.js';

export type UndefinedBehavior = 'strict' | 'lenient' | 'chainable' | 'semi_strict';

const EXPR_CACHE_LIMIT = 10_000;

export class Environment {
  /** `{{ x }}` prints Python's str(x), None as nothing (Ansible's finalize); see template.ts. */
  readonly printsPython = true;
  /** Kept for minijinja compatibility: errors always carry their location. */
  debug = false;
  /** strict: using an undefined value (printing, iterating, testing its truth) is an error. */
  undefinedBehavior: UndefinedBehavior = 'lenient';
  trimBlocks = false;
  lstripBlocks = false;
  keepTrailingNewline = false;
  /** Characters one render may produce before it is stopped. */
  outputLimit = 256 * 1024 * 1024;
  /** Told of every `{{ }}` output (the expression's source, its value, the text): taint tracking. */
  outputHook: OutputHook | undefined;
  /** Resolves `{% include %}` and `{% import %}` names not added with addTemplate. */
  loader: ((name: string) => string | undefined) | undefined;
  private fuelLimit: number | undefined;
  private readonly filters = new Map<string, JsFunction>();
  private readonly tests = new Map<string, JsFunction>();
  private readonly globals = new Map<string, unknown>();
  private readonly templates = new Map<string, Compiled>();
  private readonly exprs = new Map<string, Expr>();

  /** Steps a render may take (expressions evaluated, statements run); unset for no limit. */
  get fuel(): number | undefined {
    return this.fuelLimit;
  }
  set fuel(value: number | null | undefined) {
    this.fuelLimit = value === null || value === undefined ? undefined : value;
  }

  /** minijinja needs it for Python methods; here they are always on. */
  enablePyCompat(): void {}

  addFilter(name: string, fn: JsFunction): void {
    this.filters.set(name, fn);
  }
  addTest(name: string, fn: JsFunction): void {
    this.tests.set(name, fn);
  }
  addGlobal(name: string, value: unknown): void {
    this.globals.set(name, value);
  }
  removeGlobal(name: string): void {
    this.globals.delete(name);
  }

  /** Parses and stores a template; a syntax error or an unknown filter or test name throws here. */
  addTemplate(name: string, source: string): void {
    this.templates.set(name, this.compile(name, source));
  }
  removeTemplate(name: string): void {
    this.templates.delete(name);
  }
  clearTemplates(): void {
    this.templates.clear();
  }

  renderTemplate(name: string, ctx: unknown): string {
    return new Renderer(this.config(), this.load(name)).render(ctx ?? {});
  }

  renderStr(source: string, ctx: unknown): string {
    return this.renderNamedStr('<string>', source, ctx);
  }

  renderNamedStr(name: string, source: string, ctx: unknown): string {
    return new Renderer(this.config(), this.compile(name, source)).render(ctx ?? {});
  }

  /**
   * Evaluates one expression; dicts come back as Maps or the caller's objects, undefined as
   * undefined. With `strict`, an expression whose value is undefined (a missing attribute or
   * item, at any depth: `{}.x.y`) is an undefined-value error, as Ansible's templating of a
   * whole `{{ expr }}` is; an inline `if` without `else` stays undefined (Ansible gives '').
   */
  evalExpr(source: string, ctx: unknown, strict = false): unknown {
    const tpl: Compiled = { name: '<expression>', source, body: [] };
    let expr = this.exprs.get(source);
    if (!expr) {
      try {
        expr = new Parser(tokenizeExpr(source)).parseStandaloneExpr();
        checkNames([{ t: 'output', expr }], this.resolver());
      } catch (e) {
        throw e instanceof JinjaError ? e.locate(tpl.name, source) : e;
      }
      if (this.exprs.size >= EXPR_CACHE_LIMIT) this.exprs.clear();
      this.exprs.set(source, expr);
    }
    const value = new Renderer(this.config(), tpl).evaluate(expr, ctx ?? {});
    if (strict && value instanceof Undef && !value.name.startsWith(NO_ELSE)) {
      throw undefinedValue(value.span ?? expr.span).locate(tpl.name, source);
    }
    return toJs(value);
  }

  private compile(name: string, source: string): Compiled {
    // Jinja2 drops one trailing newline of the source unless told to keep it
    const src = this.keepTrailingNewline ? source : source.replace(/\r?\n$/, '');
    try {
      const body = new Parser(tokenize(src, { trimBlocks: this.trimBlocks, lstripBlocks: this.lstripBlocks })).parseTemplate();
      checkNames(body, this.resolver());
      return { name, source, body };
    } catch (e) {
      throw e instanceof JinjaError ? e.locate(name, source) : e;
    }
  }

  /** Filter and test names as the renderer resolves them (see shortName). */
  private resolver(): NameResolver {
    const has = (own: Map<string, JsFunction>, builtin: object) => (name: string) =>
      shortName(name, (n) => own.has(n) || Object.prototype.hasOwnProperty.call(builtin, n), (n) => own.has(n)) !== undefined;
    return { filter: has(this.filters, builtinFilters), test: has(this.tests, builtinTests) };
  }

  private load(name: string): Compiled {
    const tpl = this.templates.get(name);
    if (tpl) return tpl;
    const source = this.loader?.(name);
    if (source === undefined) throw new JinjaError('template not found', `template ${JSON.stringify(name)} does not exist`);
    const compiled = this.compile(name, source);
    this.templates.set(name, compiled);
    return compiled;
  }

  private config(): EngineConfig {
    return {
      filters: this.filters,
      tests: this.tests,
      globals: this.globals,
      strict: this.undefinedBehavior === 'strict',
      fuel: this.fuelLimit,
      outputLimit: this.outputLimit,
      onOutput: this.outputHook,
      load: (name) => this.load(name),
    };
  }
}

export { JinjaError };
