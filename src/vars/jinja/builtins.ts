/** Jinja2's builtin filters and tests (jinja2/filters.py, jinja2/tests.py), on the Python value model. */
import { invalidOperation } from './errors.js';
import { percentFormat } from './format.js';
import { methodOf } from './methods.js';
import {
  dictEntries, dictGet, hasMissing, isDict, isFloat, isInt, isNumber, iterate, Namespace, newDict, num, pyCompare,
  pyEq, PyCallable, pyFloat, pyLen, pyRepr, pyStr, truthy, tuple, Undef, undefinedUse, type Kwargs,
} from './values.js';

/** What a builtin needs from the running engine. */
export interface Runtime {
  filter(name: string, value: unknown, args: unknown[], kwargs: Kwargs): unknown;
  test(name: string, value: unknown, args: unknown[], kwargs: Kwargs): boolean;
  getattr(obj: unknown, name: string): unknown;
  getitem(obj: unknown, key: unknown): unknown;
  isFilter(name: string): boolean;
  isTest(name: string): boolean;
}

export type Builtin<R> = (rt: Runtime, value: unknown, args: unknown[], kwargs: Kwargs) => R;

/** Positional or keyword argument, as Python binds them. */
function arg(args: unknown[], kwargs: Kwargs, i: number, name: string, fallback: unknown): unknown {
  if (kwargs.has(name)) return kwargs.get(name);
  return i < args.length ? args[i] : fallback;
}

function need(v: unknown): unknown {
  if (v instanceof Undef) undefinedUse(v);
  return v;
}

/** `attribute='a.b.0'`: Jinja2's make_attrgetter. */
function attrGetter(rt: Runtime, attribute: unknown, fallback?: unknown): (x: unknown) => unknown {
  const parts = attribute === undefined || attribute === null ? [] : String(attribute).split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return (x) => {
    let v = x;
    for (const p of parts) v = rt.getitem(v, p);
    if (v instanceof Undef && fallback !== undefined) return fallback;
    return v;
  };
}

const fold = (v: unknown, caseSensitive: boolean) => (!caseSensitive && typeof v === 'string' ? v.toLowerCase() : v);

function sortKey(a: unknown, b: unknown): number {
  return pyEq(a, b) ? 0 : pyCompare(a, b, '<') ? -1 : 1;
}

function roundHalfEven(n: number, digits: number): number {
  // Python's round() on the decimal text of the float, as Python does it exactly
  const s = n.toFixed(Math.min(100, digits + 20));
  const m = Math.pow(10, digits);
  const scaled = Number((Number(s) * m).toPrecision(15));
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  const r = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return r / m;
}

function selectOrReject(rt: Runtime, value: unknown, args: unknown[], keep: boolean, byAttr: boolean): unknown[] {
  const items = iterate(need(value));
  let get = (x: unknown) => x;
  let rest = args;
  if (byAttr) {
    get = attrGetter(rt, args[0]);
    rest = args.slice(1);
  }
  const [testName, ...testArgs] = rest;
  const pass = (x: unknown) => (testName === undefined ? truthy(get(x)) : rt.test(String(testName), get(x), testArgs, new Map()));
  return items.filter((x) => pass(x) === keep);
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML[c]!);

/** Jinja2's htmlsafe_json_dumps with sort_keys, as its tojson filter does. */
function jsonDumps(v: unknown, indent: number | undefined, level = 0): string {
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (isNumber(v)) return isFloat(v) ? pyRepr(v) : String(num(v));
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const nl = indent === undefined ? '' : '\n' + ' '.repeat(indent * (level + 1));
  const end = indent === undefined ? '' : '\n' + ' '.repeat(indent * level);
  const sep = indent === undefined ? ', ' : ',';
  if (Array.isArray(v)) return v.length ? `[${nl}${v.map((x) => jsonDumps(x, indent, level + 1)).join(sep + nl)}${end}]` : '[]';
  if (isDict(v)) {
    const entries = dictEntries(v).sort(([a], [b]) => sortKey(a, b));
    return entries.length ? `{${nl}${entries.map(([k, x]) => `${jsonDumps(pyStr(k), undefined)}: ${jsonDumps(x, indent, level + 1)}`).join(sep + nl)}${end}}` : '{}';
  }
  if (v instanceof Undef) undefinedUse(v);
  throw invalidOperation(`Object of type ${typeof v} is not JSON serializable`);
}

function toInt(v: unknown, fallback: unknown, base: number): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isNumber(v)) return Math.trunc(num(v));
  if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    if (base !== 10) {
      const body = s.replace(/^0[xob]/i, '');
      const n = parseInt(body, base);
      return Number.isNaN(n) ? fallback : n;
    }
    if (/^[+-]?\d+$/.test(s)) return Number(s);
    const f = Number(s);
    return s !== '' && Number.isFinite(f) ? Math.trunc(f) : fallback;
  }
  return fallback;
}

function toFloat(v: unknown, fallback: unknown): unknown {
  if (isNumber(v)) return pyFloat(num(v));
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (/^[+-]?(inf|infinity)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
    if (s === 'nan') return NaN;
    const f = Number(s);
    return s !== '' && !Number.isNaN(f) ? pyFloat(f) : fallback;
  }
  return fallback;
}

function wordwrap(s: string, width: number, breakLong: boolean, wrap: string): string {
  const lines: string[] = [];
  for (const para of s.split(/\r?\n/)) {
    let line = '';
    for (const word of para.split(/[ \t]+/).filter(Boolean)) {
      let w = word;
      if (!line) {
        while (breakLong && w.length > width) {
          lines.push(w.slice(0, width));
          w = w.slice(width);
        }
        line = w;
      } else if (line.length + 1 + w.length <= width) line += ' ' + w;
      else {
        lines.push(line);
        while (breakLong && w.length > width) {
          lines.push(w.slice(0, width));
          w = w.slice(width);
        }
        line = w;
      }
    }
    lines.push(line);
  }
  return lines.join(wrap);
}

function minmax(rt: Runtime, value: unknown, args: unknown[], kwargs: Kwargs, max: boolean): unknown {
  const items = iterate(need(value));
  if (!items.length) return new Undef('No aggregated item, sequence was empty.');
  const cs = Boolean(arg(args, kwargs, 0, 'case_sensitive', false));
  const get = attrGetter(rt, arg(args, kwargs, 1, 'attribute', null));
  return items.reduce((best, x) => {
    const c = sortKey(fold(get(x), cs), fold(get(best), cs));
    return (max ? c > 0 : c < 0) ? x : best;
  });
}

function urlQuote(s: string, safe: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.~-]/.test(c) || safe.includes(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

export const builtinFilters: Record<string, Builtin<unknown>> = {
  abs: (_rt, v) => {
    need(v);
    return isFloat(v) ? pyFloat(Math.abs(num(v))) : Math.abs(num(v));
  },
  attr: (rt, v, [name]) => (isDict(v) && !methodOf(v, String(name)) ? new Undef(`'dict object' has no attribute '${String(name)}'`) : rt.getattr(v, String(name))),
  batch: (_rt, v, args, kw) => {
    const items = iterate(need(v));
    const n = Number(arg(args, kw, 0, 'linecount', 1));
    const fill = arg(args, kw, 1, 'fill_with', undefined);
    const out: unknown[][] = [];
    for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
    if (fill !== undefined && out.length && out[out.length - 1]!.length < n) while (out[out.length - 1]!.length < n) out[out.length - 1]!.push(fill);
    return out;
  },
  capitalize: (_rt, v) => {
    const s = pyStr(need(v));
    return s ? s[0]!.toUpperCase() + s.slice(1).toLowerCase() : s;
  },
  center: (_rt, v, args, kw) => {
    const s = pyStr(need(v));
    const w = Number(arg(args, kw, 0, 'width', 80));
    const n = w - s.length;
    if (n <= 0) return s;
    const left = Math.floor(n / 2) + (n % 2 && w % 2 ? 1 : 0);
    return ' '.repeat(left) + s + ' '.repeat(n - left);
  },
  count: (_rt, v) => pyLen(v),
  default: (_rt, v, args, kw) => {
    const fallback = arg(args, kw, 0, 'default_value', '');
    const boolean = Boolean(arg(args, kw, 1, 'boolean', false));
    return v instanceof Undef || v === undefined || (boolean && !truthy(v)) ? fallback : v;
  },
  dictsort: (_rt, v, args, kw) => {
    const cs = Boolean(arg(args, kw, 0, 'case_sensitive', false));
    const by = String(arg(args, kw, 1, 'by', 'key'));
    const reverse = Boolean(arg(args, kw, 2, 'reverse', false));
    const d = need(v);
    if (!isDict(d)) throw invalidOperation('You can only sort by either "key" or "value"');
    const idx = by === 'value' ? 1 : 0;
    const out = dictEntries(d).map(([k, x]) => tuple([k, x])).sort((a, b) => sortKey(fold(a[idx], cs), fold(b[idx], cs)));
    return reverse ? out.reverse() : out;
  },
  escape: (_rt, v) => escapeHtml(pyStr(need(v))),
  filesizeformat: (_rt, v, args, kw) => {
    const bytes = num(need(v));
    const binary = Boolean(arg(args, kw, 0, 'binary', false));
    const base = binary ? 1024 : 1000;
    const units = binary ? ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] : ['kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
    if (bytes === 1) return '1 Byte';
    if (bytes < base) return `${Math.trunc(bytes)} Bytes`;
    let i = 0;
    let unit = base * base;
    while (i < units.length - 1 && bytes >= unit) {
      i++;
      unit *= base;
    }
    return `${(base * bytes / unit).toFixed(1)} ${units[i]}`;
  },
  first: (_rt, v) => {
    const items = iterate(need(v));
    return items.length ? items[0] : new Undef('No first item, sequence was empty.');
  },
  float: (_rt, v, args, kw) => toFloat(v, arg(args, kw, 0, 'default', pyFloat(0))),
  forceescape: (_rt, v) => escapeHtml(pyStr(need(v))),
  format: (_rt, v, args, kw) => percentFormat(pyStr(need(v)), kw.size ? newDict(kw) : tuple(args)),
  groupby: (rt, v, args, kw) => {
    const get = attrGetter(rt, arg(args, kw, 0, 'attribute', null), arg(args, kw, 1, 'default', undefined));
    const cs = Boolean(arg(args, kw, 2, 'case_sensitive', false));
    const items = iterate(need(v)).slice().sort((a, b) => sortKey(fold(get(a), cs), fold(get(b), cs)));
    const groups: unknown[][] = [];
    for (const x of items) {
      const key = fold(get(x), cs);
      const last = groups[groups.length - 1];
      if (last && pyEq(fold(last[0], cs), key)) (last[1] as unknown[]).push(x);
      else groups.push([get(x), [x]]);
    }
    return groups.map((g) => {
      const t = tuple(g);
      Object.defineProperty(t, 'grouper', { value: g[0] });
      Object.defineProperty(t, 'list', { value: g[1] });
      return t;
    });
  },
  indent: (_rt, v, args, kw) => {
    const s = pyStr(need(v));
    const w = arg(args, kw, 0, 'width', 4);
    const first = Boolean(arg(args, kw, 1, 'first', false));
    const blank = Boolean(arg(args, kw, 2, 'blank', false));
    const pad = typeof w === 'string' ? w : ' '.repeat(num(w));
    const lines = s.split('\n');
    const out = lines.map((l, i) => (i === 0 ? (first && (blank || l) ? pad + l : l) : blank || l ? pad + l : l));
    return out.join('\n');
  },
  int: (_rt, v, args, kw) => toInt(v, arg(args, kw, 0, 'default', 0), Number(arg(args, kw, 1, 'base', 10))),
  items: (_rt, v) => {
    if (v instanceof Undef) return [];
    if (!isDict(v)) throw invalidOperation('Can only get item pairs from a mapping.');
    return dictEntries(v).map(([k, x]) => tuple([k, x]));
  },
  join: (rt, v, args, kw) => {
    const sep = pyStr(arg(args, kw, 0, 'd', ''));
    const get = attrGetter(rt, arg(args, kw, 1, 'attribute', null));
    return iterate(need(v)).map((x) => pyStr(need(get(x)))).join(sep);
  },
  last: (_rt, v) => {
    const items = iterate(need(v));
    return items.length ? items[items.length - 1] : new Undef('No last item, sequence was empty.');
  },
  length: (_rt, v) => pyLen(v),
  list: (_rt, v) => iterate(need(v)).slice(),
  lower: (_rt, v) => pyStr(need(v)).toLowerCase(),
  map: (rt, v, args, kw) => {
    const items = iterate(need(v));
    if (kw.has('attribute')) {
      const get = attrGetter(rt, kw.get('attribute'), kw.has('default') ? kw.get('default') : undefined);
      return items.map(get);
    }
    const [name, ...rest] = args;
    if (name === undefined) return items.slice();
    const fkw = new Map(kw);
    return items.map((x) => rt.filter(String(name), x, rest, fkw));
  },
  max: (rt, v, args, kw) => minmax(rt, v, args, kw, true),
  min: (rt, v, args, kw) => minmax(rt, v, args, kw, false),
  pprint: (_rt, v) => pyRepr(need(v)),
  random: (_rt, v) => {
    const items = iterate(need(v));
    return items[Math.floor(Math.random() * items.length)];
  },
  reject: (rt, v, args) => selectOrReject(rt, v, args, false, false),
  rejectattr: (rt, v, args) => selectOrReject(rt, v, args, false, true),
  replace: (_rt, v, args, kw) => {
    const s = pyStr(need(v));
    const old = pyStr(arg(args, kw, 0, 'old', ''));
    const repl = pyStr(arg(args, kw, 1, 'new', ''));
    const count = arg(args, kw, 2, 'count', null);
    const parts = s.split(old);
    const n = count === null ? parts.length : num(count) + 1;
    return [parts.slice(0, n).join(repl), ...parts.slice(n)].join(old);
  },
  reverse: (_rt, v) => (typeof v === 'string' ? [...v].reverse().join('') : iterate(need(v)).slice().reverse()),
  round: (_rt, v, args, kw) => {
    const prec = Number(arg(args, kw, 0, 'precision', 0));
    const method = String(arg(args, kw, 1, 'method', 'common'));
    const n = num(need(v));
    const m = Math.pow(10, prec);
    if (method === 'ceil') return pyFloat(Math.ceil(n * m) / m);
    if (method === 'floor') return pyFloat(Math.floor(n * m) / m);
    if (method !== 'common') throw invalidOperation('method must be common, ceil or floor');
    return pyFloat(roundHalfEven(n, prec));
  },
  safe: (_rt, v) => v,
  select: (rt, v, args) => selectOrReject(rt, v, args, true, false),
  selectattr: (rt, v, args) => selectOrReject(rt, v, args, true, true),
  slice: (_rt, v, args, kw) => {
    const items = iterate(need(v));
    const slices = Number(arg(args, kw, 0, 'slices', 1));
    const fill = arg(args, kw, 1, 'fill_with', undefined);
    const per = Math.floor(items.length / slices);
    const extra = items.length % slices;
    const out: unknown[][] = [];
    let offset = 0;
    for (let i = 0; i < slices; i++) {
      const start = offset + i * per;
      if (i < extra) offset++;
      const part = items.slice(start, offset + (i + 1) * per);
      if (fill !== undefined && i >= extra) part.push(fill);
      out.push(part);
    }
    return out;
  },
  sort: (rt, v, args, kw) => {
    const reverse = Boolean(arg(args, kw, 0, 'reverse', false));
    const cs = Boolean(arg(args, kw, 1, 'case_sensitive', false));
    const get = attrGetter(rt, arg(args, kw, 2, 'attribute', null));
    const out = iterate(need(v)).slice().sort((a, b) => sortKey(fold(get(a), cs), fold(get(b), cs)));
    return reverse ? out.reverse() : out;
  },
  string: (_rt, v) => pyStr(need(v)),
  striptags: (_rt, v) => pyStr(need(v)).replace(/<!--[\s\S]*?-->|<[^>]*>/g, '').replace(/\s+/g, ' ').trim(),
  sum: (rt, v, args, kw) => {
    const get = attrGetter(rt, arg(args, kw, 0, 'attribute', null));
    let total: unknown = arg(args, kw, 1, 'start', 0);
    for (const x of iterate(need(v))) {
      const y = get(x);
      total = isFloat(total) || isFloat(y) ? pyFloat(num(total) + num(y)) : num(total) + num(y);
    }
    return total;
  },
  title: (_rt, v) => pyStr(need(v)).replace(/[\w']+/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()),
  tojson: (_rt, v, args, kw) => {
    const indent = arg(args, kw, 0, 'indent', null);
    return jsonDumps(need(v), indent === null ? undefined : num(indent)).replace(/[<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  },
  trim: (_rt, v, args, kw) => {
    const s = pyStr(need(v));
    const chars = arg(args, kw, 0, 'chars', null);
    if (chars === null) return s.trim();
    const set = String(chars);
    let a = 0;
    let b = s.length;
    while (a < b && set.includes(s[a]!)) a++;
    while (b > a && set.includes(s[b - 1]!)) b--;
    return s.slice(a, b);
  },
  truncate: (_rt, v, args, kw) => {
    const s = pyStr(need(v));
    const length = Number(arg(args, kw, 0, 'length', 255));
    const killwords = Boolean(arg(args, kw, 1, 'killwords', false));
    const end = pyStr(arg(args, kw, 2, 'end', '...'));
    const leeway = Number(arg(args, kw, 3, 'leeway', 5) ?? 5);
    if (s.length <= length + leeway) return s;
    if (killwords) return s.slice(0, length - end.length) + end;
    const cut = s.slice(0, length - end.length);
    const space = cut.lastIndexOf(' ');
    return (space >= 0 ? cut.slice(0, space) : cut) + end;
  },
  unique: (rt, v, args, kw) => {
    const cs = Boolean(arg(args, kw, 0, 'case_sensitive', false));
    const get = attrGetter(rt, arg(args, kw, 1, 'attribute', null));
    const seen: unknown[] = [];
    const out: unknown[] = [];
    for (const x of iterate(need(v))) {
      const key = fold(get(x), cs);
      if (seen.some((s) => pyEq(s, key))) continue;
      seen.push(key);
      out.push(x);
    }
    return out;
  },
  upper: (_rt, v) => pyStr(need(v)).toUpperCase(),
  urlencode: (_rt, v) => {
    const x = need(v);
    if (typeof x === 'string') return urlQuote(x, '/');
    const pairs = isDict(x) ? dictEntries(x) : (iterate(x) as Array<[unknown, unknown]>);
    return pairs.map(([k, y]) => `${urlQuote(pyStr(k), '')}=${urlQuote(pyStr(y), '')}`).join('&');
  },
  wordcount: (_rt, v) => (pyStr(need(v)).match(/\w+/g) ?? []).length,
  wordwrap: (_rt, v, args, kw) => wordwrap(
    pyStr(need(v)),
    Number(arg(args, kw, 0, 'width', 79)),
    Boolean(arg(args, kw, 1, 'break_long_words', true)),
    pyStr(arg(args, kw, 2, 'wrapstring', null) ?? '\n'),
  ),
  xmlattr: (_rt, v, args, kw) => {
    const d = need(v);
    if (!isDict(d)) throw invalidOperation('xmlattr requires a mapping');
    const s = dictEntries(d)
      .filter(([, x]) => x !== null && !(x instanceof Undef))
      .map(([k, x]) => `${escapeHtml(pyStr(k))}="${escapeHtml(pyStr(x))}"`)
      .join(' ');
    return s && arg(args, kw, 0, 'autospace', true) ? ' ' + s : s;
  },
};
builtinFilters.d = builtinFilters.default!;
builtinFilters.e = builtinFilters.escape!;

const cmp = (op: string): Builtin<boolean> => (_rt, v, [other]) => (op === '==' ? pyEq(v, other) : op === '!=' ? !pyEq(v, other) : pyCompare(v, other, op));

export const builtinTests: Record<string, Builtin<boolean>> = {
  boolean: (_rt, v) => typeof v === 'boolean',
  callable: (_rt, v) => v instanceof PyCallable || typeof v === 'function',
  defined: (_rt, v) => !(v instanceof Undef) && v !== undefined,
  undefined: (_rt, v) => v instanceof Undef || v === undefined,
  none: (_rt, v) => v === null,
  divisibleby: (_rt, v, [n]) => num(need(v)) % num(n) === 0,
  eq: cmp('=='), equalto: cmp('=='), '==': cmp('=='),
  ne: cmp('!='), '!=': cmp('!='),
  lt: cmp('<'), lessthan: cmp('<'), '<': cmp('<'),
  le: cmp('<='), '<=': cmp('<='),
  gt: cmp('>'), greaterthan: cmp('>'), '>': cmp('>'),
  ge: cmp('>='), '>=': cmp('>='),
  escaped: () => false,
  even: (_rt, v) => num(need(v)) % 2 === 0,
  odd: (_rt, v) => Math.abs(num(need(v)) % 2) === 1,
  false: (_rt, v) => v === false,
  true: (_rt, v) => v === true,
  filter: (rt, v) => rt.isFilter(String(v)),
  test: (rt, v) => rt.isTest(String(v)),
  float: (_rt, v) => isFloat(v),
  integer: (_rt, v) => isInt(v),
  number: (_rt, v) => isNumber(v),
  string: (_rt, v) => typeof v === 'string',
  mapping: (_rt, v) => isDict(v) || v instanceof Namespace,
  iterable: (_rt, v) => typeof need(v) === 'string' || Array.isArray(v) || isDict(v),
  sequence: (_rt, v) => typeof need(v) === 'string' || Array.isArray(v) || isDict(v),
  in: (_rt, v, [seq]) => {
    if (typeof seq === 'string') return typeof v === 'string' && seq.includes(v);
    if (Array.isArray(seq)) return seq.some((x) => pyEq(x, v));
    if (isDict(seq)) return !hasMissing(dictGet(seq, v));
    throw invalidOperation(`argument of type '${typeof seq}' is not iterable`);
  },
  lower: (_rt, v) => typeof v === 'string' && v === v.toLowerCase(),
  upper: (_rt, v) => typeof v === 'string' && v === v.toUpperCase(),
  sameas: (_rt, v, [other]) => v === other || (v === null && other === undefined),
};

