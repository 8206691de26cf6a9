/** The tree interpreter: runs a parsed template or expression on the Python value model. */
import type { Expr, Param, Span, Stmt } from './ast.js';
import { builtinFilters, builtinTests, type Builtin, type Runtime } from './builtins.js';
import { invalidOperation, JinjaError, undefinedValue } from './errors.js';
import { percentFormat } from './format.js';
import { methodOf } from './methods.js';
import {
  contains, dictGet, fromJs, hasMissing, isDict, isFloat, isNumber, isTuple, iterate, Namespace, newDict, num,
  pyCompare, pyEq, PyCallable, pyFloat, pyStr, toJs, truthy, tuple, typeName, Undef, undefinedUse, type Kwargs,
} from './values.js';

/** A compiled template: its name and source (for error locations) and its tree. */
export interface Compiled {
  name: string;
  source: string;
  body: Stmt[];
}

export type JsFunction = (...args: unknown[]) => unknown;

export type OutputHook = (code: string, value: unknown, printed: string) => void;

/** What the environment hands the interpreter. */
export interface EngineConfig {
  filters: Map<string, JsFunction>;
  tests: Map<string, JsFunction>;
  globals: Map<string, unknown>;
  strict: boolean;
  /** Steps a render may take; undefined for no limit. */
  fuel: number | undefined;
  /** Characters a render may produce. */
  outputLimit: number;
  /** Told of every `{{ }}` output: the expression's source, its value, the text printed. */
  onOutput: OutputHook | undefined;
  /** A template by name (include, import); throws when it does not exist. */
  load(name: string): Compiled;
}

const MAX_DEPTH = 200;
/**
 * A loop iteration costs as much as several expressions (it makes a scope), so it weighs
 * more in the fuel count: fuel then tracks time, about 3 million steps per second here.
 */
const ITERATION_STEPS = 8;

const ANSIBLE_PREFIX = /^ansible\.(builtin|legacy)\./;

/**
 * `ansible.builtin.combine` -> `combine`. As in Ansible 2.14, the prefix names Ansible's own
 * plugins (the filters and tests added from JavaScript), not Jinja2's builtins:
 * `ansible.builtin.upper` is unknown there too.
 */
export function shortName(name: string, known: (n: string) => boolean, added: (n: string) => boolean): string | undefined {
  if (known(name)) return name;
  const short = name.replace(ANSIBLE_PREFIX, '');
  return short !== name && added(short) ? short : undefined;
}

class Frame {
  readonly vars = new Map<string, unknown>();
  constructor(
    readonly parent: Frame | undefined,
    /** The context of a root frame: the variables a render was given. */
    readonly ctx?: unknown,
  ) {}

  lookup(name: string): unknown {
    for (let f: Frame | undefined = this; f; f = f.parent) {
      if (f.vars.has(name)) return f.vars.get(name);
      if (f.ctx !== undefined) {
        const v = isDict(f.ctx) ? dictGet(f.ctx, name) : undefined;
        if (!hasMissing(v) && v !== undefined) return v;
      }
    }
    return MISSING_NAME;
  }

  /** Every variable visible here, outermost first (an include's context). */
  flatten(into = new Map<string, unknown>()): Map<string, unknown> {
    this.parent?.flatten(into);
    for (const [k, v] of this.vars) into.set(k, v);
    return into;
  }

  root(): Frame {
    let f: Frame = this;
    while (f.parent) f = f.parent;
    return f;
  }
}

const MISSING_NAME = Symbol('missing name');

/** Jinja2's loop object. */
class Loop {
  constructor(
    readonly items: unknown[],
    public index0: number,
    readonly depth0: number,
    readonly recurse: ((items: unknown) => string) | undefined,
  ) {}
  private lastChanged: unknown = MISSING_NAME;

  attr(name: string): unknown {
    const n = this.items.length;
    switch (name) {
      case 'index': return this.index0 + 1;
      case 'index0': return this.index0;
      case 'revindex': return n - this.index0;
      case 'revindex0': return n - this.index0 - 1;
      case 'first': return this.index0 === 0;
      case 'last': return this.index0 === n - 1;
      case 'length': return n;
      case 'depth': return this.depth0 + 1;
      case 'depth0': return this.depth0;
      case 'previtem': return this.index0 > 0 ? this.items[this.index0 - 1] : new Undef('there is no previous item');
      case 'nextitem': return this.index0 < n - 1 ? this.items[this.index0 + 1] : new Undef('there is no next item');
      case 'cycle': return new PyCallable('cycle', (args) => {
        if (!args.length) throw invalidOperation('no items for cycling given');
        return args[this.index0 % args.length];
      });
      case 'changed': return new PyCallable('changed', (args) => {
        const same = this.lastChanged !== MISSING_NAME && pyEq(this.lastChanged, tuple(args));
        this.lastChanged = tuple(args);
        return !same;
      });
    }
    return new Undef(`'loop' has no attribute '${name}'`);
  }
}

/** A macro, callable from templates; `caller` is passed by call blocks. */
class Macro extends PyCallable {}

interface Out {
  parts: string[];
}

/** The name of the undefined value an inline `if` without `else` gives when false. */
export const NO_ELSE = 'the inline if expression evaluated to false and no else section was defined';

export class Renderer implements Runtime {
  private steps = 0;
  private size = 0;
  private depth = 0;
  private template: Compiled;

  constructor(private readonly cfg: EngineConfig, template: Compiled) {
    this.template = template;
  }

  render(ctx: unknown): string {
    const out: Out = { parts: [] };
    const frame = new Frame(undefined, ctx);
    this.guarded(this.template, () => this.execBody(this.template.body, frame, out));
    return out.parts.join('');
  }

  evaluate(expr: Expr, ctx: unknown): unknown {
    return this.guarded(this.template, () => this.eval(expr, new Frame(undefined, ctx)));
  }

  /** Runs fn, giving an error the location in `tpl`; a JS stack overflow becomes a clear error. */
  private guarded<T>(tpl: Compiled, fn: () => T): T {
    const saved = this.template;
    this.template = tpl;
    try {
      return fn();
    } catch (e) {
      if (e instanceof RangeError && /call stack/.test(e.message)) throw new JinjaError('invalid operation', 'template recursion too deep').locate(tpl.name, tpl.source);
      if (e instanceof JinjaError) e.locate(tpl.name, tpl.source);
      throw e;
    } finally {
      this.template = saved;
    }
  }

  private tick(n = 1): void {
    this.steps += n;
    if (this.cfg.fuel !== undefined && this.steps > this.cfg.fuel) {
      throw new JinjaError('out of fuel', `the engine ran out of fuel after ${this.cfg.fuel} steps (a loop that does not end, or far too much work)`);
    }
  }

  private emit(out: Out, s: string): void {
    if (!s) return;
    this.size += s.length;
    if (this.size > this.cfg.outputLimit) throw new JinjaError('output too large', `the template produced more than ${this.cfg.outputLimit} characters`);
    out.parts.push(s);
  }

  // ---- statements

  private execBody(body: Stmt[], frame: Frame, out: Out): void {
    for (const s of body) this.exec(s, frame, out);
  }

  private capture(body: Stmt[], frame: Frame): string {
    const out: Out = { parts: [] };
    this.execBody(body, frame, out);
    return out.parts.join('');
  }

  private exec(s: Stmt, frame: Frame, out: Out): void {
    this.tick();
    switch (s.t) {
      case 'data':
        this.emit(out, s.text);
        return;
      case 'output': {
        const v = this.eval(s.expr, frame);
        if (v instanceof Undef) {
          if (this.cfg.strict) throw undefinedValue(v.span ?? s.expr.span);
          return;
        }
        const text = v === null || v === undefined ? '' : pyStr(v);
        this.cfg.onOutput?.(this.template.source.slice(s.expr.span[0], s.expr.span[1]), v, text);
        this.emit(out, text);
        return;
      }
      case 'if':
        for (const [test, body] of s.branches) {
          if (this.truth(this.eval(test, frame), test.span)) return this.execBody(body, frame, out);
        }
        return this.execBody(s.else, frame, out);
      case 'for':
        return this.execFor(s, frame, out, this.eval(s.iter, frame), 0);
      case 'set':
        return this.assign(s.target, this.eval(s.value, frame), frame);
      case 'setblock': {
        let v: unknown = this.capture(s.body, new Frame(frame));
        for (const f of s.filters) v = this.applyFilterChain(f, v, frame);
        return this.assign(s.target, v, frame);
      }
      case 'macro':
        frame.vars.set(s.name, this.makeMacro(s.name, s.params, s.body, frame));
        return;
      case 'callblock': {
        const caller = this.makeMacro('caller', s.params, s.body, frame);
        const call = s.call as Extract<Expr, { t: 'call' }>;
        const fn = this.eval(call.fn, frame);
        const [args, kwargs] = this.evalArgs(call.args, call.kwargs, frame);
        kwargs.set('caller', caller);
        this.emit(out, pyStr(this.callValue(fn, args, kwargs, call)));
        return;
      }
      case 'filterblock': {
        const body = this.capture(s.body, new Frame(frame));
        this.emit(out, pyStr(this.applyFilterChain(s.filter, body, frame)));
        return;
      }
      case 'with': {
        const inner = new Frame(frame);
        for (const [target, value] of s.targets) this.assign(target, this.eval(value, frame), inner);
        return this.execBody(s.body, inner, out);
      }
      case 'include': {
        const names = this.eval(s.template, frame);
        const list = Array.isArray(names) ? names : [names];
        for (const name of list) {
          let tpl: Compiled;
          try {
            tpl = this.cfg.load(pyStr(name));
          } catch (e) {
            if (list.length > 1 || s.ignoreMissing) continue;
            throw e instanceof JinjaError ? e : new JinjaError('template not found', (e as Error).message, s.span);
          }
          const inner = s.withContext ? new Frame(undefined, frame.root().ctx) : new Frame(undefined, undefined);
          if (s.withContext) for (const [k, v] of frame.flatten()) inner.vars.set(k, v);
          this.nested(() => this.guarded(tpl, () => this.execBody(tpl.body, inner, out)));
          return;
        }
        return;
      }
      case 'import':
        frame.vars.set(s.alias, this.importModule(s.template, s.withContext, frame, s.span));
        return;
      case 'fromimport': {
        const mod = this.importModule(s.template, s.withContext, frame, s.span);
        for (const [name, alias] of s.names) {
          frame.vars.set(alias, mod.attrs.has(name) ? mod.attrs.get(name) : new Undef(`the template does not export '${name}'`));
        }
        return;
      }
      case 'block':
        return this.execBody(s.body, frame, out);
      case 'do':
        this.eval(s.expr, frame);
        return;
    }
  }

  private nested<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH) {
      this.depth = 0;
      throw new JinjaError('invalid operation', `recursion limit exceeded (more than ${MAX_DEPTH} nested macro calls or includes)`);
    }
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private importModule(nameExpr: Expr, withContext: boolean, frame: Frame, span: Span): Namespace {
    const name = pyStr(this.eval(nameExpr, frame));
    let tpl: Compiled;
    try {
      tpl = this.cfg.load(name);
    } catch (e) {
      throw e instanceof JinjaError ? e : new JinjaError('template not found', (e as Error).message, span);
    }
    const root = new Frame(undefined, withContext ? frame.root().ctx : undefined);
    this.nested(() => this.guarded(tpl, () => this.capture(tpl.body, root)));
    const mod = new Namespace();
    for (const [k, v] of root.vars) if (!k.startsWith('_')) mod.attrs.set(k, v);
    return mod;
  }

  private execFor(s: Extract<Stmt, { t: 'for' }>, frame: Frame, out: Out, iterable: unknown, depth0: number): void {
    if (iterable instanceof Undef) {
      if (this.cfg.strict) throw undefinedValue(iterable.span ?? s.iter.span);
      iterable = [];
    }
    let items = this.iterItems(iterable, s.iter.span);
    if (s.filter) {
      const filter = s.filter;
      items = items.filter((x) => {
        const f = new Frame(frame);
        this.assign(s.target, x, f);
        return this.truth(this.eval(filter, f), filter.span);
      });
    }
    if (!items.length) return this.execBody(s.else, frame, out);
    const recurse = s.recursive ? (sub: unknown) => {
      const o: Out = { parts: [] };
      this.nested(() => this.execFor(s, frame, o, sub, depth0 + 1));
      return o.parts.join('');
    } : undefined;
    const loop = new Loop(items, 0, depth0, recurse);
    for (let i = 0; i < items.length; i++) {
      this.tick(ITERATION_STEPS);
      loop.index0 = i;
      const inner = new Frame(frame);
      inner.vars.set('loop', loop);
      this.assign(s.target, items[i], inner);
      this.execBody(s.body, inner, out);
    }
  }

  private iterItems(v: unknown, span: Span): unknown[] {
    try {
      return iterate(v);
    } catch (e) {
      if (e instanceof JinjaError && !e.span) e.span = span;
      throw e;
    }
  }

  private assign(target: Expr, value: unknown, frame: Frame): void {
    if (target.t === 'name') {
      frame.vars.set(target.name, value);
    } else if (target.t === 'tuple') {
      const items = this.iterItems(value, target.span);
      if (items.length !== target.items.length) {
        throw invalidOperation(`cannot unpack ${items.length} values into ${target.items.length} names`, target.span);
      }
      target.items.forEach((t, i) => this.assign(t, items[i], frame));
    } else if (target.t === 'attr') {
      const ns = this.eval(target.obj, frame);
      if (!(ns instanceof Namespace)) throw invalidOperation('cannot assign attribute on non-namespace object', target.span);
      ns.attrs.set(target.name, value);
    } else {
      throw invalidOperation('cannot assign to this expression', target.span);
    }
  }

  private makeMacro(name: string, params: Param[], body: Stmt[], closure: Frame): Macro {
    const tpl = this.template;
    return new Macro(name, (args, kwargs) => {
      const f = new Frame(closure);
      const rest = new Map(kwargs);
      params.forEach((p, i) => {
        let v: unknown;
        if (i < args.length) v = args[i];
        else if (rest.has(p.name)) v = rest.get(p.name);
        else v = p.default ? this.eval(p.default, f) : new Undef(`parameter '${p.name}' was not provided`);
        rest.delete(p.name);
        f.vars.set(p.name, v);
      });
      f.vars.set('varargs', tuple(args.slice(params.length)));
      if (rest.has('caller')) {
        f.vars.set('caller', rest.get('caller'));
        rest.delete('caller');
      }
      f.vars.set('kwargs', newDict(rest));
      return this.nested(() => this.guarded(tpl, () => this.capture(body, f)));
    });
  }

  // ---- expressions

  private truth(v: unknown, span: Span): boolean {
    if (v instanceof Undef) {
      if (this.cfg.strict) throw undefinedValue(v.span ?? span);
      return false;
    }
    return truthy(v);
  }

  eval(e: Expr, frame: Frame): unknown {
    this.tick();
    try {
      const v = this.evalInner(e, frame);
      if (v instanceof Undef && !v.span) v.span = e.span;
      return v;
    } catch (err) {
      if (err instanceof JinjaError && !err.span) err.span = e.span;
      throw err;
    }
  }

  private evalInner(e: Expr, frame: Frame): unknown {
    switch (e.t) {
      case 'const':
        return e.value;
      case 'name': {
        const v = frame.lookup(e.name);
        if (v !== MISSING_NAME) return v;
        if (this.cfg.globals.has(e.name)) return this.cfg.globals.get(e.name);
        return GLOBALS[e.name] ?? new Undef(e.name);
      }
      case 'list':
        return e.items.map((x) => this.eval(x, frame));
      case 'tuple':
        return tuple(e.items.map((x) => this.eval(x, frame)));
      case 'dict':
        return newDict(e.pairs.map(([k, v]) => [this.eval(k, frame), this.eval(v, frame)]));
      case 'attr':
        return this.getattr(this.eval(e.obj, frame), e.name);
      case 'item':
        return this.getitem(this.eval(e.obj, frame), this.eval(e.key, frame));
      case 'slice':
        return this.slice(this.eval(e.obj, frame), e, frame);
      case 'call': {
        const fn = this.eval(e.fn, frame);
        const [args, kwargs] = this.evalArgs(e.args, e.kwargs, frame);
        return this.callValue(fn, args, kwargs, e);
      }
      case 'filter':
        return this.applyFilter(e, e.value ? this.eval(e.value, frame) : undefined, frame);
      case 'test': {
        const value = this.eval(e.value, frame);
        const [args, kwargs] = this.evalArgs(e.args, e.kwargs, frame);
        const name = shortName(e.name, (n) => this.isTest(n), (n) => this.cfg.tests.has(n));
        if (name === undefined) throw new JinjaError('unknown test', `test ${e.name} is unknown`, e.span);
        return this.test(name, value, args, kwargs);
      }
      case 'unary': {
        const v = this.eval(e.value, frame);
        if (e.op === 'not') return !this.truth(v, e.value.span);
        if (v instanceof Undef) undefinedUse(v);
        if (!isNumber(v)) throw invalidOperation(`bad operand type for unary ${e.op}: '${typeName(v)}'`);
        return e.op === '-' ? (isFloat(v) ? pyFloat(-num(v)) : -num(v)) : v;
      }
      case 'binary': {
        if (e.op === 'and') {
          const l = this.eval(e.left, frame);
          return this.truth(l, e.left.span) ? this.eval(e.right, frame) : l;
        }
        if (e.op === 'or') {
          const l = this.eval(e.left, frame);
          return this.truth(l, e.left.span) ? l : this.eval(e.right, frame);
        }
        return this.arith(e.op, this.eval(e.left, frame), this.eval(e.right, frame));
      }
      case 'compare': {
        let left = this.eval(e.first, frame);
        for (const [op, rightExpr] of e.ops) {
          const right = this.eval(rightExpr, frame);
          if (!compareOp(op, left, right)) return false;
          left = right;
        }
        return true;
      }
      case 'cond':
        if (this.truth(this.eval(e.test, frame), e.test.span)) return this.eval(e.then, frame);
        return e.else ? this.eval(e.else, frame) : new Undef(NO_ELSE);
    }
  }

  private evalArgs(args: Expr[], kwargs: Array<[string, Expr]>, frame: Frame): [unknown[], Kwargs] {
    return [args.map((a) => this.eval(a, frame)), new Map(kwargs.map(([k, v]) => [k, this.eval(v, frame)]))];
  }

  /** `{% filter a | b %}`: the innermost filter of the chain gets the block's text. */
  private applyFilterChain(e: Expr, value: unknown, frame: Frame): unknown {
    if (e.t !== 'filter') throw invalidOperation('expected a filter', e.span);
    return this.applyFilter(e, e.value ? this.applyFilterChain(e.value, value, frame) : value, frame);
  }

  private applyFilter(e: Extract<Expr, { t: 'filter' }>, value: unknown, frame: Frame): unknown {
    const name = shortName(e.name, (n) => this.isFilter(n), (n) => this.cfg.filters.has(n));
    if (name === undefined) throw new JinjaError('unknown filter', `filter ${e.name} is unknown`, e.span);
    const [args, kwargs] = this.evalArgs(e.args, e.kwargs, frame);
    return this.filter(name, value, args, kwargs);
  }

  isFilter(name: string): boolean {
    return this.cfg.filters.has(name) || Object.prototype.hasOwnProperty.call(builtinFilters, name);
  }

  isTest(name: string): boolean {
    return this.cfg.tests.has(name) || Object.prototype.hasOwnProperty.call(builtinTests, name);
  }

  filter(name: string, value: unknown, args: unknown[], kwargs: Kwargs): unknown {
    this.tick();
    const js = this.cfg.filters.get(name);
    if (js) return fromJs(callJs(js, [value, ...args], kwargs), `${name}(...)`);
    const b = builtinFilters[name] as Builtin<unknown> | undefined;
    if (!b) throw new JinjaError('unknown filter', `filter ${name} is unknown`);
    return b(this, value, args, kwargs);
  }

  test(name: string, value: unknown, args: unknown[], kwargs: Kwargs): boolean {
    this.tick();
    const js = this.cfg.tests.get(name);
    if (js) return truthy(fromJs(callJs(js, [value, ...args], kwargs), name) ?? false);
    const b = builtinTests[name] as Builtin<boolean> | undefined;
    if (!b) throw new JinjaError('unknown test', `test ${name} is unknown`);
    return b(this, value, args, kwargs);
  }

  private callValue(fn: unknown, args: unknown[], kwargs: Kwargs, e: Extract<Expr, { t: 'call' }>): unknown {
    if (fn instanceof PyCallable) return fn.fn(args, kwargs);
    if (typeof fn === 'function') return fromJs(callJs(fn as JsFunction, args, kwargs), 'the function call');
    if (fn instanceof Loop && fn.recurse) return fn.recurse(args[0]);
    if (fn instanceof Undef) {
      if (e.fn.t === 'name') throw new JinjaError('unknown function', `${e.fn.name} is unknown`, e.fn.span);
      throw undefinedValue(e.fn.span);
    }
    throw invalidOperation(`'${typeName(fn)}' object is not callable`, e.fn.span);
  }

  /** Jinja2's getattr: the Python attribute first, then the item. */
  getattr(obj: unknown, name: string): unknown {
    if (obj instanceof Undef) return obj;
    if (obj instanceof Loop) return obj.attr(name);
    if (obj instanceof Namespace) return obj.attrs.has(name) ? obj.attrs.get(name) : new Undef(`'Namespace' has no attribute '${name}'`);
    if (isTuple(obj) && (name === 'grouper' || name === 'list') && Object.prototype.hasOwnProperty.call(obj, name)) return (obj as unknown as Record<string, unknown>)[name];
    const m = methodOf(obj, name);
    if (m) return m;
    if (isDict(obj)) {
      const v = dictGet(obj, name);
      if (!hasMissing(v)) return v;
    }
    return new Undef(`'${typeName(obj)} object' has no attribute '${name}'`);
  }

  /** Jinja2's getitem: the item first, then the attribute for a string key. */
  getitem(obj: unknown, key: unknown): unknown {
    if (obj instanceof Undef) return obj;
    if (key instanceof Undef) undefinedUse(key);
    if ((Array.isArray(obj) || typeof obj === 'string') && isNumber(key) && Number.isInteger(num(key))) {
      const items = typeof obj === 'string' ? [...obj] : obj;
      const i = num(key) < 0 ? items.length + num(key) : num(key);
      return i >= 0 && i < items.length ? items[i] : new Undef(`${typeName(obj)} index out of range`);
    }
    if (isDict(obj)) {
      const v = dictGet(obj, key);
      if (!hasMissing(v)) return v;
    }
    if (obj instanceof Namespace && typeof key === 'string') return this.getattr(obj, key);
    if (typeof key === 'string') return this.getattr(obj, key);
    return new Undef(`'${typeName(obj)} object' has no attribute ${pyStr(key)}`);
  }

  private slice(obj: unknown, e: Extract<Expr, { t: 'slice' }>, frame: Frame): unknown {
    if (obj instanceof Undef) return obj;
    const bound = (x: Expr | undefined) => {
      if (!x) return undefined;
      const v = this.eval(x, frame);
      return v === null ? undefined : num(v);
    };
    const start = bound(e.start);
    const stop = bound(e.stop);
    const step = bound(e.step) ?? 1;
    if (step === 0) throw invalidOperation('slice step cannot be zero');
    const items = typeof obj === 'string' ? [...obj] : Array.isArray(obj) ? obj : this.iterItems(obj, e.span);
    const n = items.length;
    const clamp = (v: number | undefined, dflt: number, lo: number, hi: number) => (v === undefined ? dflt : Math.min(hi, Math.max(lo, v < 0 ? v + n : v)));
    const out: unknown[] = [];
    if (step > 0) for (let i = clamp(start, 0, 0, n); i < clamp(stop, n, 0, n); i += step) out.push(items[i]);
    else for (let i = clamp(start, n - 1, -1, n - 1); i > clamp(stop, -1, -1, n - 1); i += step) out.push(items[i]);
    if (typeof obj === 'string') return out.join('');
    return isTuple(obj) ? tuple(out) : out;
  }

  private arith(op: string, a: unknown, b: unknown): unknown {
    if (a instanceof Undef || b instanceof Undef) undefinedUse(a, b);
    if (op === '~') return pyStr(a ?? null) + pyStr(b ?? null);
    if (isNumber(a) && isNumber(b)) {
      const x = num(a);
      const y = num(b);
      const float = isFloat(a) || isFloat(b);
      const wrap = (r: number) => (float ? pyFloat(r) : r);
      switch (op) {
        case '+': return wrap(x + y);
        case '-': return wrap(x - y);
        case '*': return wrap(x * y);
        case '/':
          if (y === 0) throw invalidOperation('division by zero');
          return pyFloat(x / y);
        case '//':
          if (y === 0) throw invalidOperation('integer division or modulo by zero');
          return wrap(Math.floor(x / y));
        case '%':
          if (y === 0) throw invalidOperation('integer division or modulo by zero');
          return wrap(((x % y) + y) % y);
        case '**':
          return float || y < 0 ? pyFloat(x ** y) : x ** y;
      }
    }
    if (op === '+') {
      if (typeof a === 'string' && typeof b === 'string') return this.sized(a + b);
      if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) return isTuple(a) ? tuple([...a, ...b]) : [...a, ...b];
    }
    if (op === '*') {
      const [seq, n] = isNumber(b) ? [a, num(b)] : [b, num(a)];
      if ((isNumber(a) || isNumber(b)) && (typeof seq === 'string' || Array.isArray(seq))) {
        const count = Math.max(0, Math.trunc(n));
        const length = (typeof seq === 'string' ? seq.length : seq.length) * count;
        if (length > this.cfg.outputLimit) throw new JinjaError('output too large', `a repetition of ${length} items is more than the output limit`);
        this.tick(Math.ceil(length / 64));
        if (typeof seq === 'string') return seq.repeat(count);
        const out: unknown[] = [];
        for (let i = 0; i < count; i++) out.push(...seq);
        return isTuple(seq) ? tuple(out) : out;
      }
    }
    if (op === '%' && typeof a === 'string') return percentFormat(a, b);
    throw invalidOperation(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
  }

  private sized(s: string): string {
    if (s.length > this.cfg.outputLimit) throw new JinjaError('output too large', `a string of ${s.length} characters is more than the output limit`);
    return s;
  }
}

function compareOp(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==': return pyEq(a, b);
    case '!=': return !pyEq(a, b);
    case 'in': return contains(b, a);
    case 'notin': return !contains(b, a);
    default: return pyCompare(a, b, op);
  }
}

/** Calls a JavaScript filter, test or global as minijinja-js does: positional args, then the kwargs as a Map. */
function callJs(fn: JsFunction, args: unknown[], kwargs: Kwargs): unknown {
  const jsArgs = args.map(toJs);
  if (kwargs.size) jsArgs.push(new Map([...kwargs].map(([k, v]) => [k, toJs(v)])));
  return fn(...jsArgs);
}

function range(args: unknown[]): number[] {
  const [a, b, c] = args.map(num) as [number, number?, number?];
  const [start, stop, step] = b === undefined ? [0, a, 1] : [a, b, c ?? 1];
  if (step === 0) throw invalidOperation('range() arg 3 must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > 1_000_000) throw new JinjaError('output too large', `range() of ${n} items is more than the limit of 1000000`);
  return Array.from({ length: n }, (_x, i) => start + i * step);
}

/** Jinja2's default globals. */
const GLOBALS: Record<string, unknown> = {
  range: new PyCallable('range', (args) => range(args)),
  dict: new PyCallable('dict', (args, kwargs) => {
    const d = newDict(args.length && isDict(args[0]) ? [...(args[0] instanceof Map ? args[0] : Object.entries(args[0] as object))] : []);
    for (const [k, v] of kwargs) d.set(k, v);
    return d;
  }),
  namespace: new PyCallable('namespace', (args, kwargs) => {
    const ns = new Namespace();
    if (args.length && isDict(args[0])) for (const [k, v] of args[0] instanceof Map ? args[0] : Object.entries(args[0] as object)) ns.attrs.set(String(k), v);
    for (const [k, v] of kwargs) ns.attrs.set(k, v);
    return ns;
  }),
  joiner: new PyCallable('joiner', (args) => {
    let used = false;
    const sep = args.length ? pyStr(args[0]) : ', ';
    return new PyCallable('joiner', () => (used ? sep : ((used = true), '')));
  }),
  cycler: new PyCallable('cycler', (args) => {
    const ns = new Namespace();
    let i = 0;
    ns.attrs.set('next', new PyCallable('next', () => args[i++ % args.length]));
    ns.attrs.set('reset', new PyCallable('reset', () => ((i = 0), null)));
    return ns;
  }),
};

