/** The Python methods templates call on values: `'a,b'.split(',')`, `d.items()`, `l.append(x)`. */
import { invalidOperation } from './errors.js';
import { strFormat } from './format.js';
import {
  contains, dictEntries, dictGet, dictKeys, dictSet, hasMissing, isDict, isTuple, iterate, newDict, num, pyEq, pyRepr,
  PyCallable, tuple, typeName, type Dict, type Kwargs,
} from './values.js';

type Method = (self: never, args: unknown[], kwargs: Kwargs) => unknown;

const WS = ' \t\n\r\x0b\x0c';

function stripChars(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? WS : String(chars);
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.includes(s[a]!)) a++;
  if (right) while (b > a && set.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

function split(s: string, sep: unknown, maxsplit: number): string[] {
  if (sep === undefined || sep === null) {
    const out: string[] = [];
    let rest = s.replace(/^\s+/, '');
    while (rest) {
      if (maxsplit >= 0 && out.length === maxsplit) {
        out.push(rest);
        break;
      }
      const m = /\s+/.exec(rest);
      if (!m) {
        out.push(rest);
        break;
      }
      out.push(rest.slice(0, m.index));
      rest = rest.slice(m.index + m[0].length);
    }
    return out;
  }
  const sp = String(sep);
  if (sp === '') throw invalidOperation('empty separator');
  const parts = s.split(sp);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sp)];
}

function rsplit(s: string, sep: unknown, maxsplit: number): string[] {
  if (maxsplit < 0) return split(s, sep, -1);
  if (sep === undefined || sep === null) {
    const words = split(s, null, -1);
    if (words.length <= maxsplit + 1) return words;
    const tail = words.slice(words.length - maxsplit);
    const headEnd = s.replace(/\s+$/, '');
    let cut = headEnd.length;
    for (let i = 0; i < maxsplit; i++) cut = headEnd.slice(0, cut).replace(/\s*\S+$/, '').length;
    return [headEnd.slice(0, cut).replace(/\s+$/, ''), ...tail];
  }
  const sp = String(sep);
  const parts = s.split(sp);
  if (parts.length <= maxsplit + 1) return parts;
  return [parts.slice(0, parts.length - maxsplit).join(sp), ...parts.slice(parts.length - maxsplit)];
}

const affix = (s: string, arg: unknown, test: (s: string, a: string) => boolean) =>
  Array.isArray(arg) ? arg.some((a) => test(s, String(a))) : test(s, String(arg));

const capitalize = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1).toLowerCase() : s);

const title = (s: string) => s.toLowerCase().replace(/(^|[^A-Za-z0-9'])([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase()).replace(/([A-Za-z])'([a-z])/g, (_m, a: string, b: string) => `${a}'${b}`);

const STR: Record<string, Method> = {
  split: (s: string, [sep, max]) => split(s, sep, max === undefined ? -1 : num(max)),
  rsplit: (s: string, [sep, max]) => rsplit(s, sep, max === undefined ? -1 : num(max)),
  splitlines: (s: string, [keep]) => (s === '' ? [] : (keep ? s.match(/[^\n]*\n|[^\n]+$/g) ?? [] : s.replace(/\r?\n$/, '').split(/\r?\n/))),
  strip: (s: string, [chars]) => stripChars(s, chars, true, true),
  lstrip: (s: string, [chars]) => stripChars(s, chars, true, false),
  rstrip: (s: string, [chars]) => stripChars(s, chars, false, true),
  startswith: (s: string, [p]) => affix(s, p, (x, a) => x.startsWith(a)),
  endswith: (s: string, [p]) => affix(s, p, (x, a) => x.endsWith(a)),
  lower: (s: string) => s.toLowerCase(),
  upper: (s: string) => s.toUpperCase(),
  title: (s: string) => title(s),
  capitalize: (s: string) => capitalize(s),
  swapcase: (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''),
  replace: (s: string, [a, b, count]) => {
    const parts = s.split(String(a));
    const n = count === undefined || num(count) < 0 ? parts.length : num(count) + 1;
    return [parts.slice(0, n).join(String(b)), ...parts.slice(n)].join(String(a));
  },
  find: (s: string, [sub]) => s.indexOf(String(sub)),
  rfind: (s: string, [sub]) => s.lastIndexOf(String(sub)),
  index: (s: string, [sub]) => {
    const i = s.indexOf(String(sub));
    if (i < 0) throw invalidOperation('substring not found');
    return i;
  },
  count: (s: string, [sub]) => (String(sub) === '' ? s.length + 1 : s.split(String(sub)).length - 1),
  join: (s: string, [items]) => iterate(items).map((x) => {
    if (typeof x !== 'string') throw invalidOperation(`sequence item: expected str instance, ${typeName(x)} found`);
    return x;
  }).join(s),
  format: (s: string, args, kwargs) => strFormat(s, args, kwargs, (obj, key) => (/^\d+$/.test(key) && Array.isArray(obj) ? obj[Number(key)] : isDict(obj) ? dictGet(obj, key) : undefined)),
  isdigit: (s: string) => /^[0-9]+$/.test(s),
  isnumeric: (s: string) => /^[0-9]+$/.test(s),
  isdecimal: (s: string) => /^[0-9]+$/.test(s),
  isalpha: (s: string) => /^\p{L}+$/u.test(s),
  isalnum: (s: string) => /^[\p{L}0-9]+$/u.test(s),
  isspace: (s: string) => /^\s+$/.test(s),
  islower: (s: string) => /[a-z]/.test(s) && s === s.toLowerCase(),
  isupper: (s: string) => /[A-Z]/.test(s) && s === s.toUpperCase(),
  zfill: (s: string, [w]) => {
    const sign = /^[+-]/.test(s) ? s[0]! : '';
    return sign + s.slice(sign.length).padStart(num(w) - sign.length, '0');
  },
  ljust: (s: string, [w, fill]) => s.padEnd(num(w), fill === undefined ? ' ' : String(fill)),
  rjust: (s: string, [w, fill]) => s.padStart(num(w), fill === undefined ? ' ' : String(fill)),
  center: (s: string, [w, fill]) => {
    const f = fill === undefined ? ' ' : String(fill);
    const n = num(w) - s.length;
    if (n <= 0) return s;
    const left = Math.floor(n / 2) + (n % 2 && num(w) % 2 ? 1 : 0);
    return f.repeat(left) + s + f.repeat(n - left);
  },
  partition: (s: string, [sep]) => {
    const i = s.indexOf(String(sep));
    return tuple(i < 0 ? [s, '', ''] : [s.slice(0, i), String(sep), s.slice(i + String(sep).length)]);
  },
  rpartition: (s: string, [sep]) => {
    const i = s.lastIndexOf(String(sep));
    return tuple(i < 0 ? ['', '', s] : [s.slice(0, i), String(sep), s.slice(i + String(sep).length)]);
  },
  removeprefix: (s: string, [p]) => (s.startsWith(String(p)) ? s.slice(String(p).length) : s),
  removesuffix: (s: string, [p]) => (String(p) && s.endsWith(String(p)) ? s.slice(0, -String(p).length) : s),
  encode: (s: string) => s,
  decode: (s: string) => s,
};

const LIST: Record<string, Method> = {
  append: (l: unknown[], [x]) => (l.push(x), null),
  extend: (l: unknown[], [xs]) => (l.push(...iterate(xs)), null),
  insert: (l: unknown[], [i, x]) => (l.splice(num(i) < 0 ? Math.max(0, l.length + num(i)) : num(i), 0, x), null),
  pop: (l: unknown[], [i]) => {
    if (!l.length) throw invalidOperation('pop from empty list');
    const at = i === undefined ? l.length - 1 : num(i) < 0 ? l.length + num(i) : num(i);
    return l.splice(at, 1)[0];
  },
  remove: (l: unknown[], [x]) => {
    const i = l.findIndex((y) => pyEq(y, x));
    if (i < 0) throw invalidOperation('list.remove(x): x not in list');
    l.splice(i, 1);
    return null;
  },
  index: (l: unknown[], [x]) => {
    const i = l.findIndex((y) => pyEq(y, x));
    if (i < 0) throw invalidOperation(`${pyRepr(x)} is not in list`);
    return i;
  },
  count: (l: unknown[], [x]) => l.filter((y) => pyEq(y, x)).length,
  reverse: (l: unknown[]) => (l.reverse(), null),
  copy: (l: unknown[]) => l.slice(),
  clear: (l: unknown[]) => (l.splice(0), null),
};

const TUPLE_METHODS: Record<string, Method> = { index: LIST.index!, count: LIST.count! };

const DICT: Record<string, Method> = {
  items: (d: Dict) => dictEntries(d).map(([k, v]) => tuple([k, v])),
  keys: (d: Dict) => dictKeys(d),
  values: (d: Dict) => dictEntries(d).map(([, v]) => v),
  get: (d: Dict, [k, fallback]) => {
    const v = dictGet(d, k);
    return hasMissing(v) ? (fallback === undefined ? null : fallback) : v;
  },
  update: (d: Dict, [other], kwargs) => {
    if (other !== undefined) for (const [k, v] of isDict(other) ? dictEntries(other) : (iterate(other) as Array<[unknown, unknown]>)) dictSet(d, k, v);
    for (const [k, v] of kwargs) dictSet(d, k, v);
    return null;
  },
  copy: (d: Dict) => newDict(dictEntries(d)),
  pop: (d: Dict, [k, fallback]) => {
    const v = dictGet(d, k);
    if (hasMissing(v)) {
      if (fallback === undefined) throw invalidOperation(`KeyError: ${pyRepr(k)}`);
      return fallback;
    }
    if (d instanceof Map) d.delete(k);
    else delete (d as Record<string, unknown>)[String(k)];
    return v;
  },
  setdefault: (d: Dict, [k, fallback]) => {
    const v = dictGet(d, k);
    if (!hasMissing(v)) return v;
    dictSet(d, k, fallback ?? null);
    return fallback ?? null;
  },
  __contains__: (d: Dict, [k]) => contains(d, k),
};

/** The bound method `name` of `obj`, if Python has one. */
export function methodOf(obj: unknown, name: string): PyCallable | undefined {
  let table: Record<string, Method> | undefined;
  if (typeof obj === 'string') table = STR;
  else if (Array.isArray(obj)) table = isTuple(obj) ? TUPLE_METHODS : LIST;
  else if (isDict(obj)) table = DICT;
  if (!table || !Object.prototype.hasOwnProperty.call(table, name)) return undefined;
  const m = table[name]!;
  return new PyCallable(name, (args, kwargs) => m(obj as never, args, kwargs));
}

