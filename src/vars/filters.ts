import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { containsSecret } from '../vault/redact.js';
import { fromEngine, pythonStr } from './python-repr.js';
import { pyCompile as pyRegex, pySubn } from './python-re.js';

/** A filter or test as minijinja-js calls it: the value, positional args, then kwargs as a Map. */
export type JinjaFunction = (value: unknown, ...args: unknown[]) => unknown;

/** Raised by a filter; turned into a template error naming the filter. */
export class FilterError extends Error {}

/** Splits minijinja's trailing kwargs Map off the positional arguments. */
function kwargs(args: unknown[], names: readonly string[]): Record<string, unknown> {
  const last = args[args.length - 1];
  if (last instanceof Map && [...last.keys()].every((k) => names.includes(String(k)))) {
    args.pop();
    return fromEngine(last) as Record<string, unknown>;
  }
  return {};
}

/** Positional or keyword argument `i`/`name`, as Python allows both. */
function arg<T>(args: unknown[], kw: Record<string, unknown>, i: number, name: string, fallback: T): T {
  if (name in kw) return kw[name] as T;
  return i < args.length ? (args[i] as T) : fallback;
}

/** Ansible's to_bool: only yes/on/1/true (any case) and true/1 are true. */
export function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1;
  if (typeof value === 'string') return ['yes', 'on', '1', 'true', 'y', 't'].includes(value.trim().toLowerCase());
  return false;
}

/** Python's json.dumps: ', ' and ': ' separators, ASCII-only output. */
export function pythonJson(value: unknown, indent?: number, sortKeys = false, level = 0): string {
  const v = fromEngine(value);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number') return JSON.stringify(v);
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const pad = indent === undefined ? '' : '\n' + ' '.repeat(indent * (level + 1));
  const end = indent === undefined ? '' : '\n' + ' '.repeat(indent * level);
  const sep = indent === undefined ? ', ' : ',';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${pad}${v.map((x) => pythonJson(x, indent, sortKeys, level + 1)).join(sep + pad)}${end}]`;
  }
  let entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  if (sortKeys) entries = entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${pad}${entries.map(([k, x]) => `${pythonJson(k)}: ${pythonJson(x, indent, sortKeys, level + 1)}`).join(sep + pad)}${end}}`;
}

/** shlex.quote, which Ansible's `quote` filter uses (it differs from our own quoter). */
function shlexQuote(s: string): string {
  if (s === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/** Python's %-formatting, for the `format` filter. */
function percentFormat(fmt: string, values: unknown[]): string {
  let i = 0;
  return String(fmt).replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdifrx%])/g, (_m, _flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const v = values[i++];
    let out: string;
    if (conv === 'd' || conv === 'i') out = String(Math.trunc(Number(v)));
    else if (conv === 'f') out = Number(v).toFixed(prec === undefined ? 6 : Number(prec));
    else if (conv === 'x') out = Math.trunc(Number(v)).toString(16);
    else out = pythonStr(v);
    return width ? out.padStart(Number(width)) : out;
  });
}

function toPlainList(value: unknown): unknown[] {
  const v = fromEngine(value);
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (v && typeof v === 'object') return Object.keys(v);
  throw new FilterError(`expected a list, got ${pythonStr(v)}`);
}

function deepMerge(a: unknown, b: unknown, recursive: boolean, listMerge: string): unknown {
  if (!recursive || !isDict(a) || !isDict(b)) {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (listMerge === 'append') return [...a, ...b];
      if (listMerge === 'prepend') return [...b, ...a];
      if (listMerge === 'append_rp') return [...a.filter((x) => !b.includes(x)), ...b];
      if (listMerge === 'prepend_rp') return [...b, ...a.filter((x) => !b.includes(x))];
      if (listMerge === 'keep') return a;
    }
    if (!recursive && isDict(a) && isDict(b)) return { ...a, ...b };
    return b;
  }
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? deepMerge(out[k], v, recursive, listMerge) : v;
  return out;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function hashOf(algorithm: string, value: unknown): string {
  const algo = String(algorithm).toLowerCase();
  if (!['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'].includes(algo)) throw new FilterError(`unsupported hash '${algo}'`);
  return createHash(algo).update(pythonStr(fromEngine(value)), 'utf8').digest('hex');
}

/** Filters Ansible adds to Jinja2 (or that Jinja2 has and minijinja lacks or prints differently). */
export const filters: Record<string, JinjaFunction> = {
  bool: (v) => toBool(v),
  string: (v) => pythonStr(fromEngine(v)),
  to_json: (v, ...args) => {
    const kw = kwargs(args, ['indent', 'sort_keys']);
    const indent = kw.indent as number | undefined;
    return pythonJson(v, indent, Boolean(kw.sort_keys));
  },
  to_nice_json: (v, ...args) => {
    const kw = kwargs(args, ['indent', 'sort_keys']);
    return pythonJson(v, arg(args, kw, 0, 'indent', 4), kw.sort_keys === undefined ? true : Boolean(kw.sort_keys));
  },
  from_json: (v) => fromJson(String(v)),
  to_yaml: (v) => yamlStringify(fromEngine(v), { sortMapEntries: true, flowCollectionPadding: false }),
  to_nice_yaml: (v, ...args) => {
    const kw = kwargs(args, ['indent']);
    return yamlStringify(fromEngine(v), { sortMapEntries: true, indent: arg(args, kw, 0, 'indent', 4), indentSeq: false });
  },
  regex_replace: (v, ...args) => {
    const kw = kwargs(args, ['pattern', 'replacement', 'ignorecase', 'multiline', 'count']);
    const re = pyRegex(arg(args, kw, 0, 'pattern', ''), (kw.ignorecase ? 'i' : '') + (kw.multiline ? 'm' : ''));
    return pySubn(re, arg(args, kw, 1, 'replacement', ''), pythonStr(v), Number(kw.count ?? 0))[0];
  },
  regex_search: (v, ...args) => {
    const kw = kwargs(args, ['ignorecase', 'multiline']);
    const re = pyRegex(String(args[0]), (kw.ignorecase ? 'i' : '') + (kw.multiline ? 'm' : ''));
    const m = re.exec(pythonStr(v));
    if (!m) return null;
    const groups = args.slice(1).map(String);
    if (groups.length === 0) return m[0];
    return groups.map((g) => (g.startsWith('\\') ? m[Number(g.slice(1))] : m.groups?.[g.replace(/^\?P?<|>$/g, '')]) ?? null);
  },
  regex_findall: (v, ...args) => {
    const kw = kwargs(args, ['ignorecase', 'multiline']);
    const re = pyRegex(String(args[0]), 'g' + (kw.ignorecase ? 'i' : '') + (kw.multiline ? 'm' : ''));
    return [...pythonStr(v).matchAll(re)].map((m) => (m.length > 2 ? m.slice(1) : (m[1] ?? m[0])));
  },
  regex_escape: (v) => pythonStr(v).replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`),
  b64encode: (v) => Buffer.from(pythonStr(v), 'utf8').toString('base64'),
  b64decode: (v) => Buffer.from(pythonStr(v), 'base64').toString('utf8'),
  quote: (v) => shlexQuote(pythonStr(v)),
  basename: (v) => pyBasename(pythonStr(v)),
  dirname: (v) => pyDirname(pythonStr(v)),
  path_join: (v) => posix.join(...toPlainList(v).map(String)),
  mandatory: (v, ...args) => {
    if (v === undefined) throw new FilterError(String(args[0] ?? 'mandatory variable is not defined'));
    return v;
  },
  ternary: (v, ...args) => {
    if ((v === null || v === undefined) && args.length > 2) return args[2];
    return truthy(v) ? args[0] : args[1];
  },
  combine: (v, ...args) => {
    const kw = kwargs(args, ['recursive', 'list_merge']);
    const dicts = [v, ...args].map(fromEngine).flatMap((d) => (Array.isArray(d) ? d : [d]));
    return dicts.reduce((acc, d) => deepMerge(acc, d, Boolean(kw.recursive), String(kw.list_merge ?? 'replace')), {});
  },
  dict2items: (v, ...args) => {
    const kw = kwargs(args, ['key_name', 'value_name']);
    const d = fromEngine(v);
    if (!isDict(d)) throw new FilterError(`dict2items requires a dictionary, got ${pythonStr(d)}`);
    return Object.entries(d).map(([k, x]) => ({ [String(kw.key_name ?? 'key')]: k, [String(kw.value_name ?? 'value')]: x }));
  },
  items2dict: (v, ...args) => {
    const kw = kwargs(args, ['key_name', 'value_name']);
    const out: Record<string, unknown> = {};
    for (const item of toPlainList(v) as Array<Record<string, unknown>>) out[String(item[String(kw.key_name ?? 'key')])] = item[String(kw.value_name ?? 'value')];
    return out;
  },
  flatten: (v, ...args) => {
    const kw = kwargs(args, ['levels', 'skip_nulls']);
    const levels = arg<number | null>(args, kw, 0, 'levels', null);
    const flat = (xs: unknown[], depth: number): unknown[] =>
      xs.flatMap((x) => (Array.isArray(x) && (levels === null || depth < levels) ? flat(x, depth + 1) : x === null && kw.skip_nulls !== false ? [] : [x]));
    return flat(toPlainList(v), 0);
  },
  unique: (v) => {
    const seen: unknown[] = [];
    for (const x of toPlainList(v)) if (!seen.some((s) => JSON.stringify(s) === JSON.stringify(x))) seen.push(x);
    return seen;
  },
  union: (v, other) => filters.unique!([...toPlainList(v), ...toPlainList(other)]),
  intersect: (v, other) => filters.unique!(toPlainList(v).filter((x) => toPlainList(other).includes(x))),
  difference: (v, other) => filters.unique!(toPlainList(v).filter((x) => !toPlainList(other).includes(x))),
  symmetric_difference: (v, other) => {
    const a = toPlainList(v);
    const b = toPlainList(other);
    return filters.unique!([...a.filter((x) => !b.includes(x)), ...b.filter((x) => !a.includes(x))]);
  },
  split: (v, sep) => (sep === undefined || sep === null ? pythonStr(v).trim().split(/\s+/) : pythonStr(v).split(String(sep))),
  format: (v, ...args) => percentFormat(pythonStr(v), args.map(fromEngine)),
  hash: (v, algo) => hashOf(String(algo ?? 'sha1'), v),
  md5: (v) => hashOf('md5', v),
  sha1: (v) => hashOf('sha1', v),
  checksum: (v) => hashOf('sha1', v),
  type_debug: (v) => pythonType(fromEngine(v)),
};

function pyBasename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
function pyDirname(p: string): string {
  const i = p.lastIndexOf('/') + 1;
  const head = p.slice(0, i);
  return head && head !== '/'.repeat(head.length) ? head.replace(/\/+$/, '') : head;
}

function pythonType(v: unknown): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  return Array.isArray(v) ? 'list' : 'dict';
}

/** Python truthiness, which `when:` and `ternary` use. */
export function truthy(v: unknown): boolean {
  const x = fromEngine(v);
  if (x === null || x === undefined || x === false || x === 0 || x === '') return false;
  if (Array.isArray(x)) return x.length > 0;
  if (typeof x === 'object') return Object.keys(x).length > 0;
  return true;
}

function resultFlag(v: unknown, key: string): boolean {
  const r = fromEngine(v);
  if (!isDict(r)) throw new FilterError(`the '${key}' test expects a registered task result`);
  return Boolean(r[key]);
}

/** Compares dotted versions like LooseVersion (numeric parts numerically). */
export function compareVersions(a: string, b: string): number {
  const parts = (s: string) => String(s).split(/[.\-+~_]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

function versionTest(v: unknown, other: unknown, ...args: unknown[]): boolean {
  const kw = kwargs(args, ['operator', 'strict', 'version_type']);
  const op = String(arg(args, kw, 0, 'operator', 'eq'));
  const c = compareVersions(pythonStr(v), pythonStr(other));
  const ops: Record<string, boolean> = {
    '<': c < 0, lt: c < 0, '<=': c <= 0, le: c <= 0, '>': c > 0, gt: c > 0, '>=': c >= 0, ge: c >= 0,
    '==': c === 0, '=': c === 0, eq: c === 0, '!=': c !== 0, '<>': c !== 0, ne: c !== 0,
  };
  if (!(op in ops)) throw new FilterError(`unknown version operator '${op}'`);
  return ops[op]!;
}

/** Tests Ansible adds (`is changed`, `is version(...)`, `is match(...)`...). */
export const tests: Record<string, JinjaFunction> = {
  changed: (v) => resultFlag(v, 'changed'),
  failed: (v) => resultFlag(v, 'failed'),
  succeeded: (v) => !resultFlag(v, 'failed'),
  success: (v) => !resultFlag(v, 'failed'),
  skipped: (v) => resultFlag(v, 'skipped'),
  match: (v, pattern, ...args) => {
    const kw = kwargs(args, ['ignorecase', 'multiline']);
    return pyRegex(`^(?:${String(pattern)})`, (kw.ignorecase ? 'i' : '') + (kw.multiline ? 'm' : '')).test(pythonStr(v));
  },
  search: (v, pattern, ...args) => {
    const kw = kwargs(args, ['ignorecase', 'multiline']);
    return pyRegex(String(pattern), (kw.ignorecase ? 'i' : '') + (kw.multiline ? 'm' : '')).test(pythonStr(v));
  },
  regex: (v, pattern) => pyRegex(String(pattern), '').test(pythonStr(v)),
  version: versionTest,
  version_compare: versionTest,
  truthy: (v) => truthy(v),
  falsy: (v) => !truthy(v),
  subset: (v, other) => toPlainList(v).every((x) => toPlainList(other).includes(x)),
  superset: (v, other) => toPlainList(other).every((x) => toPlainList(v).includes(x)),
  contains: (v, x) => toPlainList(v).includes(fromEngine(x)),
};

/**
 * JSON.parse's message quotes a few characters around the error: a prefix of a secret is no
 * longer the secret and the mask would miss it. Input holding a secret gets a message without it.
 */
function fromJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FilterError(containsSecret(text) ? `the input (${text.length} characters, holding a secret) is not valid JSON` : (e as Error).message);
  }
}
