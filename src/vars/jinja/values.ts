/**
 * Python's value model on JavaScript values, as Jinja2 under Ansible sees them:
 * str = string, int = integral number, float = non-integral number or a PyFloat box (so
 * `2.0` stays a float and prints `2.0`), bool, None = null, list = array, tuple = array
 * marked with TUPLE, dict = Map (made here, insertion-ordered, any key) or a plain object
 * (from the caller), undefined = Undef.
 */
import { invalidOperation, undefinedValue } from './errors.js';

export class PyFloat {
  constructor(readonly v: number) {}
}

/** A float result: boxed when integral, so it keeps printing as a float. */
export function pyFloat(n: number): number | PyFloat {
  return Number.isInteger(n) ? new PyFloat(n) : n;
}

/** An undefined value; `name` says what was looked up, for messages. */
export class Undef {
  /** Where the undefined value came from (the first failure, as Ansible keeps it). */
  span?: [number, number];
  constructor(readonly name: string) {}
}

/** Using an undefined value: an error pointing at the expression that produced it. */
export function undefinedUse(...values: unknown[]): never {
  const u = values.find((v): v is Undef => v instanceof Undef);
  throw undefinedValue(u?.span);
}

export const TUPLE = Symbol('tuple');

export function tuple<T>(items: T[]): T[] {
  Object.defineProperty(items, TUPLE, { value: true });
  return items;
}

export function isTuple(v: unknown): boolean {
  return Array.isArray(v) && (v as unknown as Record<symbol, unknown>)[TUPLE] === true;
}

export type Kwargs = Map<string, unknown>;

/** A callable made by the engine (macro, bound method, builtin global). */
export class PyCallable {
  constructor(
    readonly name: string,
    readonly fn: (args: unknown[], kwargs: Kwargs) => unknown,
  ) {}
}

/** Jinja2's namespace(): attributes settable from `{% set ns.x = ... %}`. */
export class Namespace {
  readonly attrs = new Map<string, unknown>();
}

export function isNumber(v: unknown): v is number | PyFloat | boolean {
  return typeof v === 'number' || v instanceof PyFloat || typeof v === 'boolean';
}

export function num(v: unknown): number {
  if (v instanceof PyFloat) return v.v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as number;
}

export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));
}

export function isInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v);
}

export type Dict = Map<unknown, unknown> | Record<string, unknown>;

export function isDict(v: unknown): v is Dict {
  if (v instanceof Map) return true;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function dictKeys(d: Dict): unknown[] {
  return d instanceof Map ? [...d.keys()] : Object.keys(d);
}

export function dictEntries(d: Dict): Array<[unknown, unknown]> {
  return d instanceof Map ? [...d.entries()] : Object.entries(d);
}

export function dictSize(d: Dict): number {
  return d instanceof Map ? d.size : Object.keys(d).length;
}

const MISSING = Symbol('missing');

/** d[key] or MISSING; own properties only, so `__proto__` and `constructor` are plain keys. */
export function dictGet(d: Dict, key: unknown): unknown {
  if (d instanceof Map) {
    if (d.has(key)) return d.get(key);
    if (typeof key === 'number' || key instanceof PyFloat || typeof key === 'boolean') {
      const n = num(key);
      for (const [k, v] of d) if (isNumber(k) && num(k) === n) return v;
    }
    return MISSING;
  }
  const k = typeof key === 'string' ? key : isInt(key) ? String(key) : undefined;
  return k !== undefined && Object.prototype.hasOwnProperty.call(d, k) ? d[k] : MISSING;
}

export function hasMissing(v: unknown): v is typeof MISSING {
  return v === MISSING;
}

export function dictSet(d: Dict, key: unknown, value: unknown): void {
  if (d instanceof Map) d.set(key, value);
  else Object.defineProperty(d, String(key), { value, enumerable: true, writable: true, configurable: true });
}

/** A new engine dict from entries (insertion-ordered). */
export function newDict(entries: Iterable<[unknown, unknown]> = []): Map<unknown, unknown> {
  return new Map(entries);
}

/** Python's type name, for messages (`'dict object' has no attribute 'x'`). */
export function typeName(v: unknown): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (isFloat(v)) return 'float';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'string') return 'str';
  if (isTuple(v)) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (isDict(v)) return 'dict';
  if (v instanceof Undef) return 'Undefined';
  if (v instanceof Namespace) return 'Namespace';
  if (v instanceof PyCallable || typeof v === 'function') return 'function';
  return 'object';
}


/** Python's bool(); an undefined value is an error (StrictUndefined). */
export function truthy(v: unknown): boolean {
  if (v instanceof Undef) undefinedUse(v);
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (v instanceof PyFloat) return v.v !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return dictSize(v) > 0;
  return true;
}

export function floatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e16 || abs < 1e-4)) return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  const s = String(n);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

function stringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** Python's repr(). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return stringRepr(v);
  if (v instanceof PyFloat || typeof v === 'number') return isFloat(v) ? floatRepr(num(v)) : String(v);
  if (Array.isArray(v)) {
    const inner = v.map(pyRepr).join(', ');
    return isTuple(v) ? `(${inner}${v.length === 1 ? ',' : ''})` : `[${inner}]`;
  }
  if (isDict(v)) return `{${dictEntries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  if (v instanceof Undef) undefinedUse(v);
  if (v instanceof Namespace) return `<Namespace ${pyRepr(v.attrs)}>`;
  if (v instanceof PyCallable || typeof v === 'function') return `<function ${(v as { name: string }).name}>`;
  return String(v);
}

/** Python's str(). */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** Python's ==. True == 1, 1 == 1.0; an undefined operand is an error (StrictUndefined). */
export function pyEq(a: unknown, b: unknown): boolean {
  if (a instanceof Undef || b instanceof Undef) undefinedUse(a, b);
  if (a === b) return true;
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  if (a === undefined) return b === null;
  if (b === undefined) return a === null;
  if (Array.isArray(a) && Array.isArray(b)) {
    return isTuple(a) === isTuple(b) && a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  }
  if (isDict(a) && isDict(b)) {
    const ea = dictEntries(a);
    if (ea.length !== dictSize(b)) return false;
    return ea.every(([k, v]) => {
      const w = dictGet(b, k);
      return !hasMissing(w) && pyEq(v, w);
    });
  }
  return false;
}

/** Python's <, <=, >, >=: numbers, strings and sequences; anything else is a TypeError. */
export function pyCompare(a: unknown, b: unknown, op: string): boolean {
  const c = order(a, b, op);
  switch (op) {
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    default: return c >= 0;
  }
}

function order(a: unknown, b: unknown, op: string): number {
  if (a instanceof Undef || b instanceof Undef) undefinedUse(a, b);
  if (isNumber(a) && isNumber(b)) return num(a) - num(b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (pyEq(a[i], b[i])) continue;
      return order(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  throw invalidOperation(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

/** The items of an iterable: list, tuple, string (characters), dict (keys). */
export function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isDict(v)) return dictKeys(v);
  if (v instanceof Undef) undefinedUse(v);
  throw invalidOperation(`'${typeName(v)}' object is not iterable`);
}

export function pyLen(v: unknown): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isDict(v)) return dictSize(v);
  if (v instanceof Undef) undefinedUse(v);
  throw invalidOperation(`object of type '${typeName(v)}' has no len()`);
}

/** Python's `in`. */
export function contains(container: unknown, item: unknown): boolean {
  if (container instanceof Undef) undefinedUse(container);
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw invalidOperation(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((x) => pyEq(x, item));
  if (isDict(container)) return !hasMissing(dictGet(container, item));
  throw invalidOperation(`argument of type '${typeName(container)}' is not iterable`);
}

/** Values handed to JavaScript (filters, globals, evalExpr's result): floats unboxed, undefined as undefined. */
export function toJs(v: unknown): unknown {
  if (v instanceof PyFloat) return v.v;
  if (v instanceof Undef) return undefined;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = toJs(v[i]);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    if (!out) return v;
    return isTuple(v) ? tuple(out) : out;
  }
  if (v instanceof Map) {
    let changed = false;
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) {
      const y = toJs(x);
      if (y !== x || k instanceof PyFloat) changed = true;
      out.set(toJs(k), y);
    }
    return changed ? out : v;
  }
  return v;
}

/** A value from JavaScript: undefined stays undefined (so `| default` applies to it). */
export function fromJs(v: unknown, name: string): unknown {
  return v === undefined ? new Undef(name) : v;
}
