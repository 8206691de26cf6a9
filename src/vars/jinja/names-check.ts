/**
 * Jinja2 resolves filter and test names when it compiles a template, so an unknown one is an
 * error even in a branch that never runs (and `--syntax-check` can report it). This walks a
 * parsed template for them.
 */
import type { Expr, Param, Stmt } from './ast.js';
import { JinjaError } from './errors.js';

export interface NameResolver {
  filter(name: string): boolean;
  test(name: string): boolean;
}

function params(ps: Param[], r: NameResolver): void {
  for (const p of ps) if (p.default) expr(p.default, r);
}

function expr(e: Expr | undefined, r: NameResolver): void {
  if (!e) return;
  switch (e.t) {
    case 'const': case 'name':
      return;
    case 'list': case 'tuple':
      return e.items.forEach((x) => expr(x, r));
    case 'dict':
      return e.pairs.forEach(([k, v]) => (expr(k, r), expr(v, r)));
    case 'attr':
      return expr(e.obj, r);
    case 'item':
      return (expr(e.obj, r), expr(e.key, r));
    case 'slice':
      return [e.obj, e.start, e.stop, e.step].forEach((x) => expr(x, r));
    case 'call':
      expr(e.fn, r);
      break;
    case 'filter':
      if (!r.filter(e.name)) throw new JinjaError('unknown filter', `filter ${e.name} is unknown`, e.span);
      expr(e.value, r);
      break;
    case 'test':
      if (!r.test(e.name)) throw new JinjaError('unknown test', `test ${e.name} is unknown`, e.span);
      expr(e.value, r);
      break;
    case 'unary':
      return expr(e.value, r);
    case 'binary':
      return (expr(e.left, r), expr(e.right, r));
    case 'compare':
      expr(e.first, r);
      return e.ops.forEach(([, x]) => expr(x, r));
    case 'cond':
      return [e.test, e.then, e.else].forEach((x) => expr(x, r));
  }
  e.args.forEach((x) => expr(x, r));
  e.kwargs.forEach(([, x]) => expr(x, r));
}

/** Throws for the first filter or test name that resolves to nothing. */
export function checkNames(body: Stmt[], r: NameResolver): void {
  for (const s of body) {
    switch (s.t) {
      case 'data':
        break;
      case 'output': case 'do':
        expr(s.expr, r);
        break;
      case 'if':
        for (const [test, b] of s.branches) (expr(test, r), checkNames(b, r));
        checkNames(s.else, r);
        break;
      case 'for':
        [s.iter, s.filter].forEach((x) => expr(x, r));
        checkNames(s.body, r);
        checkNames(s.else, r);
        break;
      case 'set':
        expr(s.value, r);
        break;
      case 'setblock':
        s.filters.forEach((x) => expr(x, r));
        checkNames(s.body, r);
        break;
      case 'macro':
        params(s.params, r);
        checkNames(s.body, r);
        break;
      case 'callblock':
        params(s.params, r);
        expr(s.call, r);
        checkNames(s.body, r);
        break;
      case 'filterblock':
        expr(s.filter, r);
        checkNames(s.body, r);
        break;
      case 'with':
        s.targets.forEach(([, v]) => expr(v, r));
        checkNames(s.body, r);
        break;
      case 'include': case 'import': case 'fromimport':
        expr(s.template, r);
        break;
      case 'block':
        checkNames(s.body, r);
        break;
    }
  }
}
