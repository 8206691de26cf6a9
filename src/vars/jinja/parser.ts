import type { Expr, Param, Span, Stmt } from './ast.js';
import { syntaxError } from './errors.js';
import type { Token } from './lexer.js';
import { pyFloat } from './values.js';

const LITERALS: Record<string, unknown> = { true: true, false: false, none: null, True: true, False: false, None: null };
const COMPARE = new Set(['==', '!=', '<', '>', '<=', '>=']);
const END_TAGS = new Set(['endif', 'endfor', 'endmacro', 'endcall', 'endfilter', 'endset', 'endwith', 'endblock', 'else', 'elif']);

/** Jinja2's grammar over the lexer's tokens (precedence as in jinja2/parser.py). */
export class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  parseTemplate(): Stmt[] {
    const body = this.subparse(new Set());
    if (this.peek().type !== 'eof') throw this.fail(`unexpected ${this.describe(this.peek())}`);
    return body;
  }

  /** A whole expression, alone (evalExpr): tuples allowed, nothing after it. */
  parseStandaloneExpr(): Expr {
    const e = this.parseTuple();
    if (this.peek().type !== 'eof') throw this.fail(`unexpected ${this.describe(this.peek())}`);
    return e;
  }

  // ---- tokens

  private peek(o = 0): Token {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)]!;
  }
  private next(): Token {
    return this.toks[this.i++] ?? this.toks[this.toks.length - 1]!;
  }
  private isOp(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.type === 'op' && t.value === v;
  }
  private isName(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.type === 'name' && t.value === v;
  }
  private skipOp(v: string): boolean {
    if (!this.isOp(v)) return false;
    this.i++;
    return true;
  }
  private skipName(v: string): boolean {
    if (!this.isName(v)) return false;
    this.i++;
    return true;
  }
  private expectOp(v: string): Token {
    if (!this.isOp(v)) throw this.fail(`unexpected ${this.describe(this.peek())}, expected '${v}'`);
    return this.next();
  }
  private expectName(v?: string): Token {
    const t = this.peek();
    if (t.type !== 'name' || (v !== undefined && t.value !== v)) throw this.fail(`unexpected ${this.describe(t)}, expected ${v ? `'${v}'` : 'a name'}`);
    return this.next();
  }
  private expectBlockEnd(): void {
    if (this.peek().type !== 'block_end') throw this.fail(`unexpected ${this.describe(this.peek())}, expected end of block`);
    this.i++;
  }
  private describe(t: Token): string {
    if (t.type === 'eof') return 'end of input';
    if (t.type === 'var_end') return 'end of variable block';
    if (t.type === 'block_end') return 'end of block';
    if (t.type === 'string') return 'string';
    return `\`${t.value}\``;
  }
  private fail(msg: string, t = this.peek()) {
    // at the end of input, point at the last token: the end is past what the author wrote
    if (t.type === 'eof' && this.toks.length > 1) t = this.toks[this.toks.length - 2]!;
    return syntaxError(msg, [t.start, Math.max(t.end, t.start + 1)]);
  }
  private span(from: Token | Span, to?: Span): Span {
    const start = Array.isArray(from) ? from[0] : from.start;
    const prev = this.toks[this.i - 1];
    return [start, to ? to[1] : (prev?.end ?? start)];
  }

  // ---- statements

  private subparse(endTags: Set<string>): Stmt[] {
    const body: Stmt[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'eof') {
        if (endTags.size) throw this.fail(`unexpected end of input, expected end of block (${[...endTags].map((e) => `'${e}'`).join(' or ')})`);
        return body;
      }
      if (t.type === 'data') {
        this.i++;
        body.push({ t: 'data', text: t.value });
      } else if (t.type === 'var_begin') {
        this.i++;
        const expr = this.parseTuple();
        if (this.peek().type !== 'var_end') throw this.fail(`unexpected ${this.describe(this.peek())}, expected end of variable block`);
        this.i++;
        body.push({ t: 'output', expr });
      } else if (t.type === 'block_begin') {
        const kw = this.peek(1);
        if (kw.type === 'name' && (endTags.has(kw.value) || END_TAGS.has(kw.value))) {
          if (!endTags.has(kw.value)) throw this.fail(`unexpected \`${kw.value}\``, kw);
          return body; // the caller consumes the end tag
        }
        this.i++;
        body.push(this.parseStatement());
      } else {
        throw this.fail(`unexpected ${this.describe(t)}`);
      }
    }
  }

  /** At `{% name`, where name ends the current body: consume `{% name` and return it. */
  private endTag(): string {
    this.i++; // block_begin
    return this.next().value;
  }

  private parseStatement(): Stmt {
    const kw = this.expectName();
    switch (kw.value) {
      case 'if': return this.parseIf();
      case 'for': return this.parseFor(kw);
      case 'set': return this.parseSet();
      case 'macro': return this.parseMacro(kw);
      case 'call': return this.parseCallBlock();
      case 'filter': return this.parseFilterBlock();
      case 'with': return this.parseWith();
      case 'include': return this.parseInclude(kw);
      case 'import': return this.parseImport(kw);
      case 'from': return this.parseFromImport(kw);
      case 'block': return this.parseBlock();
      case 'do': {
        const expr = this.parseTuple();
        this.expectBlockEnd();
        return { t: 'do', expr };
      }
      default:
        throw this.fail(`unknown statement ${kw.value}`, kw);
    }
  }

  private parseIf(): Stmt {
    const branches: Array<[Expr, Stmt[]]> = [];
    let otherwise: Stmt[] = [];
    let test = this.parseTuple(false);
    for (;;) {
      this.expectBlockEnd();
      const body = this.subparse(new Set(['elif', 'else', 'endif']));
      branches.push([test, body]);
      const tag = this.endTag();
      if (tag === 'elif') {
        test = this.parseTuple(false);
        continue;
      }
      if (tag === 'else') {
        this.expectBlockEnd();
        otherwise = this.subparse(new Set(['endif']));
        this.endTag();
      }
      this.expectBlockEnd();
      return { t: 'if', branches, else: otherwise };
    }
  }

  private parseFor(kw: Token): Stmt {
    const target = this.parseAssignTarget();
    this.expectName('in');
    const iter = this.parseTuple(false, true);
    let filter: Expr | undefined;
    if (this.skipName('if')) filter = this.parseExpression();
    const recursive = this.skipName('recursive');
    this.expectBlockEnd();
    const body = this.subparse(new Set(['endfor', 'else']));
    let otherwise: Stmt[] = [];
    if (this.endTag() === 'else') {
      this.expectBlockEnd();
      otherwise = this.subparse(new Set(['endfor']));
      this.endTag();
    }
    this.expectBlockEnd();
    return { t: 'for', target, iter, filter, body, else: otherwise, recursive, span: [kw.start, kw.end] };
  }

  private parseAssignTarget(allowAttr = false): Expr {
    const first = this.parseTargetName(allowAttr);
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.skipOp(',')) {
      if (this.peek().type !== 'name') break;
      items.push(this.parseTargetName(false));
    }
    return { t: 'tuple', items, span: [first.span[0], items[items.length - 1]!.span[1]] };
  }

  private parseTargetName(allowAttr: boolean): Expr {
    if (this.skipOp('(')) {
      const inner = this.parseAssignTarget();
      this.expectOp(')');
      return inner;
    }
    const n = this.expectName();
    if (allowAttr && this.skipOp('.')) {
      const attr = this.expectName();
      return { t: 'attr', obj: { t: 'name', name: n.value, span: [n.start, n.end] }, name: attr.value, span: [n.start, attr.end] };
    }
    return { t: 'name', name: n.value, span: [n.start, n.end] };
  }

  private parseSet(): Stmt {
    const target = this.parseAssignTarget(true);
    if (this.skipOp('=')) {
      const value = this.parseTuple();
      this.expectBlockEnd();
      return { t: 'set', target, value };
    }
    const filters: Expr[] = [];
    while (this.skipOp('|')) filters.push(this.parseFilterCall(undefined));
    this.expectBlockEnd();
    const body = this.subparse(new Set(['endset']));
    this.endTag();
    this.expectBlockEnd();
    return { t: 'setblock', target, body, filters };
  }

  private parseParams(): Param[] {
    const params: Param[] = [];
    this.expectOp('(');
    while (!this.isOp(')')) {
      if (params.length) this.expectOp(',');
      if (this.isOp(')')) break;
      const name = this.expectName().value;
      params.push(this.skipOp('=') ? { name, default: this.parseExpression() } : { name });
    }
    this.expectOp(')');
    return params;
  }

  private parseMacro(kw: Token): Stmt {
    const name = this.expectName().value;
    const params = this.parseParams();
    this.expectBlockEnd();
    const body = this.subparse(new Set(['endmacro']));
    this.endTag();
    this.expectBlockEnd();
    return { t: 'macro', name, params, body, span: [kw.start, kw.end] };
  }

  private parseCallBlock(): Stmt {
    const params = this.isOp('(') ? this.parseParams() : [];
    const call = this.parseExpression();
    if (call.t !== 'call') throw syntaxError('expected call', call.span);
    this.expectBlockEnd();
    const body = this.subparse(new Set(['endcall']));
    this.endTag();
    this.expectBlockEnd();
    return { t: 'callblock', call, params, body };
  }

  private parseFilterBlock(): Stmt {
    let filter = this.parseFilterCall(undefined);
    while (this.skipOp('|')) {
      const outer = this.parseFilterCall(undefined) as Extract<Expr, { t: 'filter' }>;
      outer.value = filter;
      filter = outer;
    }
    this.expectBlockEnd();
    const body = this.subparse(new Set(['endfilter']));
    this.endTag();
    this.expectBlockEnd();
    return { t: 'filterblock', filter, body };
  }

  private parseWith(): Stmt {
    const targets: Array<[Expr, Expr]> = [];
    while (this.peek().type !== 'block_end') {
      if (targets.length) this.expectOp(',');
      const target = this.parseTargetName(false);
      this.expectOp('=');
      targets.push([target, this.parseExpression()]);
    }
    this.expectBlockEnd();
    const body = this.subparse(new Set(['endwith']));
    this.endTag();
    this.expectBlockEnd();
    return { t: 'with', targets, body };
  }

  private parseContextModifier(fallback: boolean): boolean {
    if ((this.isName('with') || this.isName('without')) && this.isName('context', 1)) {
      const w = this.next().value === 'with';
      this.i++;
      return w;
    }
    return fallback;
  }

  private parseInclude(kw: Token): Stmt {
    const template = this.parseExpression();
    let ignoreMissing = false;
    if (this.isName('ignore') && this.isName('missing', 1)) {
      this.i += 2;
      ignoreMissing = true;
    }
    const withContext = this.parseContextModifier(true);
    this.expectBlockEnd();
    return { t: 'include', template, ignoreMissing, withContext, span: this.span(kw) };
  }

  private parseImport(kw: Token): Stmt {
    const template = this.parseExpression();
    this.expectName('as');
    const alias = this.expectName().value;
    const withContext = this.parseContextModifier(false);
    this.expectBlockEnd();
    return { t: 'import', template, alias, withContext, span: this.span(kw) };
  }

  private parseFromImport(kw: Token): Stmt {
    const template = this.parseExpression();
    this.expectName('import');
    const names: Array<[string, string]> = [];
    let withContext = false;
    while (this.peek().type !== 'block_end') {
      if ((this.isName('with') || this.isName('without')) && this.isName('context', 1)) {
        withContext = this.parseContextModifier(false);
        break;
      }
      if (names.length) this.expectOp(',');
      if (this.peek().type !== 'name') break;
      const name = this.expectName().value;
      names.push([name, this.skipName('as') ? this.expectName().value : name]);
    }
    this.expectBlockEnd();
    return { t: 'fromimport', template, names, withContext, span: this.span(kw) };
  }

  private parseBlock(): Stmt {
    const name = this.expectName().value;
    this.skipName('scoped');
    this.expectBlockEnd();
    const body = this.subparse(new Set(['endblock']));
    this.endTag();
    if (this.peek().type === 'name') this.i++;
    this.expectBlockEnd();
    return { t: 'block', name, body };
  }

  // ---- expressions

  /** Jinja2's parse_tuple: `a, b` without parentheses is a tuple. */
  parseTuple(withCondexpr = true, forIter = false): Expr {
    const start = this.peek();
    const items: Expr[] = [];
    let trailingComma = false;
    for (;;) {
      if (items.length) {
        if (!this.skipOp(',')) break;
        trailingComma = true;
        if (this.atTupleEnd(forIter)) break;
      }
      items.push(withCondexpr ? this.parseExpression() : this.parseOr());
      trailingComma = false;
    }
    if (items.length === 1 && !trailingComma) return items[0]!;
    return { t: 'tuple', items, span: this.span(start) };
  }

  private atTupleEnd(forIter: boolean): boolean {
    const t = this.peek();
    if (t.type === 'var_end' || t.type === 'block_end' || t.type === 'eof') return true;
    if (t.type === 'op' && [')', ']', '}'].includes(t.value)) return true;
    return forIter && t.type === 'name' && (t.value === 'if' || t.value === 'recursive');
  }

  parseExpression(): Expr {
    const start = this.peek();
    const expr = this.parseOr();
    if (!this.skipName('if')) return expr;
    const test = this.parseOr();
    const otherwise = this.skipName('else') ? this.parseExpression() : undefined;
    return { t: 'cond', test, then: expr, else: otherwise, span: this.span(start) };
  }

  private parseOr(): Expr {
    return this.parseLeftAssociative('or', () => this.parseAnd());
  }

  private parseAnd(): Expr {
    return this.parseLeftAssociative('and', () => this.parseNot());
  }

  /** `a op b op c` as ((a op b) op c), for the keyword operators `or` and `and`. */
  private parseLeftAssociative(op: 'or' | 'and', operand: () => Expr): Expr {
    let left = operand();
    while (this.skipName(op)) {
      const right = operand();
      left = { t: 'binary', op, left, right, span: [left.span[0], right.span[1]] };
    }
    return left;
  }

  private parseNot(): Expr {
    const t = this.peek();
    if (this.skipName('not')) {
      const value = this.parseNot();
      return { t: 'unary', op: 'not', value, span: [t.start, value.span[1]] };
    }
    return this.parseCompare();
  }

  private parseCompare(): Expr {
    const first = this.parseMath1();
    const ops: Array<[string, Expr]> = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'op' && COMPARE.has(t.value)) {
        this.i++;
        ops.push([t.value, this.parseMath1()]);
      } else if (this.skipName('in')) {
        ops.push(['in', this.parseMath1()]);
      } else if (this.isName('not') && this.isName('in', 1)) {
        this.i += 2;
        ops.push(['notin', this.parseMath1()]);
      } else break;
    }
    if (!ops.length) return first;
    return { t: 'compare', first, ops, span: [first.span[0], ops[ops.length - 1]![1].span[1]] };
  }

  private binaryLoop(ops: string[], operand: () => Expr): Expr {
    let left = operand();
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op' || !ops.includes(t.value)) return left;
      this.i++;
      const right = operand();
      left = { t: 'binary', op: t.value, left, right, span: [left.span[0], right.span[1]] };
    }
  }

  private parseMath1(): Expr {
    return this.binaryLoop(['+', '-'], () => this.parseConcat());
  }
  private parseConcat(): Expr {
    return this.binaryLoop(['~'], () => this.parseMath2());
  }
  private parseMath2(): Expr {
    return this.binaryLoop(['*', '/', '//', '%'], () => this.parsePow());
  }
  private parsePow(): Expr {
    return this.binaryLoop(['**'], () => this.parseUnary());
  }

  private parseUnary(withFilter = true): Expr {
    const t = this.peek();
    let node: Expr;
    if (this.skipOp('-') || this.skipOp('+')) {
      const value = this.parseUnary(false);
      node = { t: 'unary', op: t.value as '-' | '+', value, span: [t.start, value.span[1]] };
    } else {
      node = this.parsePrimary();
    }
    node = this.parsePostfix(node);
    return withFilter ? this.parseFilterExpr(node) : node;
  }

  private parsePrimary(): Expr {
    const t = this.next();
    const span: Span = [t.start, t.end];
    switch (t.type) {
      case 'name':
        if (t.value in LITERALS) return { t: 'const', value: LITERALS[t.value], span };
        return { t: 'name', name: t.value, span };
      case 'string': {
        let value = t.value;
        while (this.peek().type === 'string') value += this.next().value;
        return { t: 'const', value, span: this.span(t) };
      }
      case 'int':
        return { t: 'const', value: Number(t.value), span };
      case 'float':
        return { t: 'const', value: pyFloat(Number(t.value)), span };
      case 'op':
        if (t.value === '(') {
          if (this.skipOp(')')) return { t: 'tuple', items: [], span: this.span(t) };
          const inner = this.parseTuple();
          this.expectOp(')');
          return inner.t === 'tuple' ? { ...inner, span: this.span(t) } : inner;
        }
        if (t.value === '[') {
          const items: Expr[] = [];
          while (!this.isOp(']')) {
            if (items.length) this.expectOp(',');
            if (this.isOp(']')) break;
            items.push(this.parseExpression());
          }
          this.expectOp(']');
          return { t: 'list', items, span: this.span(t) };
        }
        if (t.value === '{') {
          const pairs: Array<[Expr, Expr]> = [];
          while (!this.isOp('}')) {
            if (pairs.length) this.expectOp(',');
            if (this.isOp('}')) break;
            const key = this.parseExpression();
            this.expectOp(':');
            pairs.push([key, this.parseExpression()]);
          }
          this.expectOp('}');
          return { t: 'dict', pairs, span: this.span(t) };
        }
    }
    this.i--;
    throw this.fail(`unexpected ${this.describe(t)}, expected expression`);
  }

  private parsePostfix(node: Expr): Expr {
    for (;;) {
      if (this.isOp('.')) {
        this.i++;
        const t = this.next();
        if (t.type === 'name') node = { t: 'attr', obj: node, name: t.value, span: [node.span[0], t.end] };
        else if (t.type === 'int') node = { t: 'item', obj: node, key: { t: 'const', value: Number(t.value), span: [t.start, t.end] }, span: [node.span[0], t.end] };
        else if (t.type === 'float' && /^\d+\.\d+$/.test(t.value)) {
          // `item.0.1` lexes as a float after the dot: two integer subscripts
          const [a, b] = t.value.split('.').map(Number) as [number, number];
          const inner: Expr = { t: 'item', obj: node, key: { t: 'const', value: a, span: [t.start, t.end] }, span: [node.span[0], t.end] };
          node = { t: 'item', obj: inner, key: { t: 'const', value: b, span: [t.start, t.end] }, span: [node.span[0], t.end] };
        } else throw this.fail('expected an attribute name', t);
      } else if (this.isOp('[')) {
        this.i++;
        node = this.parseSubscript(node);
      } else if (this.isOp('(')) {
        node = this.parseCall(node);
      } else return node;
    }
  }

  private parseSubscript(obj: Expr): Expr {
    const parts: Array<Expr | undefined> = [];
    let isSlice = false;
    let cur: Expr | undefined;
    for (;;) {
      if (this.isOp(':')) {
        this.i++;
        isSlice = true;
        parts.push(cur);
        cur = undefined;
        continue;
      }
      if (this.isOp(']')) break;
      if (cur) throw this.fail(`unexpected ${this.describe(this.peek())}, expected ']'`);
      cur = this.parseTuple();
    }
    parts.push(cur);
    this.expectOp(']');
    const span = this.span(obj.span);
    if (!isSlice) return { t: 'item', obj, key: parts[0]!, span };
    return { t: 'slice', obj, start: parts[0], stop: parts[1], step: parts[2], span };
  }

  private parseArgs(): { args: Expr[]; kwargs: Array<[string, Expr]> } {
    this.expectOp('(');
    const args: Expr[] = [];
    const kwargs: Array<[string, Expr]> = [];
    while (!this.isOp(')')) {
      if (args.length || kwargs.length) this.expectOp(',');
      if (this.isOp(')')) break;
      if (this.peek().type === 'name' && this.isOp('=', 1)) {
        const name = this.next().value;
        this.i++;
        kwargs.push([name, this.parseExpression()]);
      } else {
        if (kwargs.length) throw this.fail('positional argument after keyword argument');
        args.push(this.parseExpression());
      }
    }
    this.expectOp(')');
    return { args, kwargs };
  }

  private parseCall(fn: Expr): Expr {
    const { args, kwargs } = this.parseArgs();
    return { t: 'call', fn, args, kwargs, span: this.span(fn.span) };
  }

  /** A dotted name: `ansible.builtin.combine`. */
  private dottedName(): Token & { name: string } {
    const first = this.expectName();
    let name = first.value;
    let end = first.end;
    while (this.isOp('.') && this.peek(1).type === 'name') {
      this.i++;
      const part = this.next();
      name += '.' + part.value;
      end = part.end;
    }
    return { ...first, end, name };
  }

  private parseFilterCall(value: Expr | undefined): Expr {
    const n = this.dottedName();
    const { args, kwargs } = this.isOp('(') ? this.parseArgs() : { args: [], kwargs: [] };
    return { t: 'filter', name: n.name, value, args, kwargs, span: [value ? value.span[0] : n.start, this.span(n)[1]] };
  }

  private parseFilterExpr(node: Expr): Expr {
    for (;;) {
      if (this.skipOp('|')) node = this.parseFilterCall(node);
      else if (this.isName('is')) node = this.parseTest(node);
      else if (this.isOp('(')) node = this.parseCall(node);
      else return node;
    }
  }

  private parseTest(value: Expr): Expr {
    this.i++; // is
    const negated = this.skipName('not');
    const n = this.dottedName();
    let args: Expr[] = [];
    let kwargs: Array<[string, Expr]> = [];
    const t = this.peek();
    if (this.isOp('(')) ({ args, kwargs } = this.parseArgs());
    else if (
      ['name', 'string', 'int', 'float'].includes(t.type) || (t.type === 'op' && ['(', '[', '{'].includes(t.value))
    ) {
      if (!(t.type === 'name' && ['else', 'or', 'and', 'if', 'is', 'not', 'in'].includes(t.value))) args = [this.parsePrimary()];
      if (args.length) args[0] = this.parsePostfix(args[0]!);
    }
    const test: Expr = { t: 'test', name: n.name, value, args, kwargs, span: [value.span[0], this.span(n)[1]] };
    return negated ? { t: 'unary', op: 'not', value: test, span: test.span } : test;
  }
}
