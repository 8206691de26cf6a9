import { pythonStr, pythonRepr } from '../python-repr.js';
import { pyCompile } from '../python-re.js';
import { optionBool } from './options.js';
import { LookupError, type LookupPlugin } from './types.js';

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** LookupBase._flatten: one level of lists opened; a string is iterated as its characters, as Python would. */
function flattenOne(value: unknown): unknown[] {
  const items = typeof value === 'string' ? [...value] : Array.isArray(value) ? value : isMapping(value) ? Object.keys(value) : [value];
  return items.flatMap((t) => (Array.isArray(t) ? t : [t]));
}

/** listify_lookup_plugin_terms on a value already templated: a string (or scalar) is a list of one. */
export function listify(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

export const items: LookupPlugin = (terms) => terms.flatMap((t) => (Array.isArray(t) ? t : [t]));

export const list: LookupPlugin = (terms) => terms;

export const dict: LookupPlugin = (terms) =>
  terms.flatMap((term) => {
    if (!isMapping(term)) throw new LookupError('with_dict expects a dict');
    return Object.entries(term).map(([key, value]) => ({ key, value }));
  });

export const indexedItems: LookupPlugin = (terms) => terms.flatMap((t) => (Array.isArray(t) ? t : [t])).map((item, i) => [i, item]);

export const nested: LookupPlugin = (terms) => {
  const lists = terms.map(listify);
  if (lists.length === 0) throw new LookupError('with_nested requires at least one element in the nested list');
  let result: unknown[] = lists[0]!;
  for (const next of lists.slice(1)) result = result.flatMap((x) => next.map((y) => flattenOne([x, y])));
  return result.map(flattenOne);
};

export const together: LookupPlugin = (terms) => {
  const lists = terms.map(listify);
  if (lists.length === 0) throw new LookupError('with_together requires at least one element in each list');
  const length = Math.max(...lists.map((l) => l.length));
  return Array.from({ length }, (_, i) => flattenOne(lists.map((l) => (i < l.length ? l[i] : null))));
};

/** with_subelements: [list or dict, 'key.path', {skip_missing}] -> [element, subelement] pairs. */
export const subelements: LookupPlugin = (terms) => {
  const termsError = (msg = '') => new LookupError(`subelements lookup expects a list of two or three items, ${msg}`);
  if (terms.length < 2 || terms.length > 3) throw termsError();
  const [source, path, flags = {}] = terms;
  if (!(Array.isArray(source) || isMapping(source)) || typeof path !== 'string') throw termsError('first a dict or a list, second a string pointing to the subkey');
  if (!isMapping(flags) || Object.keys(flags).some((k) => k !== 'skip_missing')) throw termsError("the optional third item must be a dict with flags ['skip_missing']");
  if (isMapping(source) && source.skipped !== undefined && source.skipped !== false) return [];
  const elements = Array.isArray(source) ? source : Object.values(source);
  const keys = path.split('.');
  const skipMissing = optionBool(flags, 'skip_missing', false);
  const out: unknown[] = [];
  for (const element of elements) {
    if (!isMapping(element)) throw new LookupError(`subelements lookup expects a dictionary, got '${pythonStr(element)}'`);
    if (element.skipped !== undefined && element.skipped !== false) continue;
    // Ansible pops the list out of the element it yields: item.0 lacks the subkey.
    const first: Record<string, unknown> = structuredClone(element);
    let value: Record<string, unknown> = first;
    let sublist: unknown[] = [];
    for (const [i, key] of keys.entries()) {
      if (!(key in value)) {
        if (skipMissing) continue;
        throw new LookupError(`could not find '${key}' key in iterated item '${pythonRepr(value)}'`);
      }
      const v = value[key];
      if (i < keys.length - 1) {
        if (!isMapping(v)) {
          if (skipMissing) continue;
          throw new LookupError(`the key ${key} should point to a dictionary, got '${pythonStr(v)}'`);
        }
        value = v;
      } else {
        if (!Array.isArray(v)) throw new LookupError(`the key ${key} should point to a list, got '${pythonStr(v)}'`);
        sublist = v;
        delete value[key];
      }
    }
    for (const sub of sublist) out.push([first, sub]);
  }
  return out;
};

/** Python's int(x, 0): decimal, 0x hex, 0o / leading-0 octal. */
function pyInt(raw: string, what: string): number {
  const s = raw.trim().toLowerCase();
  const n = /^[+-]?0x[0-9a-f]+$/.test(s) ? parseInt(s, 16) : /^[+-]?0o?[0-7]+$/.test(s) && s.replace(/^[+-]/, '').length > 1 ? parseInt(s.replace('0o', '0').replace(/^([+-]?)0/, '$1'), 8) : /^[+-]?\d+$/.test(s) ? parseInt(s, 10) : NaN;
  if (Number.isNaN(n)) throw new LookupError(`can't parse ${what} as integer`);
  return n;
}

const SHORTCUT = /^(([0-9]+|0x[0-9a-f]+|0[0-7]+)-)?(([0-9]+|0x[0-9a-f]+|0[0-7]+))(\/([0-9]+|0x[0-9a-f]+|0[0-7]+))?(:(.+))?$/is;

/** The `%d`-style format of with_sequence, applied to one number. */
function formatNumber(format: string, n: number): string {
  return format.replace(/%([-+ 0#]*)(\d+)?([dixXo])/, (_m, flags: string, width: string | undefined, conv: string) => {
    let digits = conv === 'x' ? Math.abs(n).toString(16) : conv === 'X' ? Math.abs(n).toString(16).toUpperCase() : conv === 'o' ? Math.abs(n).toString(8) : String(Math.abs(n));
    if (flags.includes('#') && (conv === 'x' || conv === 'X')) digits = `0${conv}${digits}`;
    const sign = n < 0 ? '-' : flags.includes('+') ? '+' : '';
    const w = Number(width ?? 0);
    if (flags.includes('-')) return (sign + digits).padEnd(w);
    if (flags.includes('0')) return sign + digits.padStart(w - sign.length, '0');
    return (sign + digits).padStart(w);
  });
}

/** with_sequence: `[start-]end[/stride][:format]` or `start= end= count= stride= format=`. */
export const sequence: LookupPlugin = (terms) => {
  const out: string[] = [];
  for (const raw of terms) {
    const term = String(raw);
    let start = 1;
    let end: number | undefined;
    let count: number | undefined;
    let stride = 1;
    let format = '%d';
    const m = SHORTCUT.exec(term);
    if (m) {
      if (m[2] !== undefined) start = pyInt(m[2], `start=${m[2]}`);
      end = pyInt(m[4]!, `end=${m[4]}`);
      if (m[6] !== undefined) stride = pyInt(m[6], `stride=${m[6]}`);
      if (m[8] !== undefined) format = m[8];
    } else {
      const args = keyValues(term);
      for (const key of ['start', 'end', 'count', 'stride'] as const) {
        const v = args[key];
        delete args[key];
        if (v === undefined) continue;
        const n = pyInt(v, `${key}=${v}`);
        if (key === 'start') start = n;
        else if (key === 'end') end = n;
        else if (key === 'count') count = n;
        else stride = n;
      }
      if ('format' in args) {
        format = args.format!;
        delete args.format;
      }
      if (Object.keys(args).length) throw new LookupError(`unrecognized arguments to with_sequence: ${pythonRepr(Object.keys(args))}`);
    }
    if (count === undefined && end === undefined) throw new LookupError('must specify count or end in with_sequence');
    if (count !== undefined && end !== undefined) throw new LookupError("can't specify both count and end in with_sequence");
    if (count !== undefined) {
      if (count !== 0) end = start + count * stride - 1;
      else [start, end, stride] = [0, 0, 0];
    }
    if (stride > 0 && end! < start) throw new LookupError('to count backwards make stride negative');
    if (stride < 0 && end! > start) throw new LookupError("to count forward don't make stride negative");
    if ((format.match(/%/g) ?? []).length !== 1) throw new LookupError(`bad formatting string: ${format}`);
    if (stride === 0) continue;
    const stop = end! + (stride >= 0 ? 1 : -1);
    for (let i = start; stride > 0 ? i < stop : i > stop; i += stride) out.push(formatNumber(format, i));
  }
  return out;
};

/** Ansible's parse_kv for lookup terms: `k=v` words, quotes allowed. */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const words = text.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) out[w.slice(0, eq)] = w.slice(eq + 1).replace(/^(["'])([\s\S]*)\1$/, '$2');
    else (out._raw_params ??= w);
  }
  return out;
}

/** lookup('vars'): variables by name (templated), or `default`. */
export const vars: LookupPlugin = (terms, options, ctx) =>
  terms.map((term) => {
    if (typeof term !== 'string') throw new LookupError(`Invalid setting identifier, "${pythonStr(term)}" is not a string, its a ${typeof term}`);
    if (!ctx.has(term)) {
      if (options.default !== undefined && options.default !== null) return options.default;
      throw new LookupError(`No variable found with this name: ${term}`);
    }
    return ctx.get(term);
  });

/** lookup('varnames'): names of the variables matching Python regexes (re.search). */
export const varnames: LookupPlugin = (terms, _options, ctx) => {
  const names = [...ctx.names()];
  return terms.flatMap((term) => {
    if (typeof term !== 'string') throw new LookupError(`Invalid setting identifier, "${pythonStr(term)}" is not a string, it is a ${typeof term}`);
    let re: RegExp;
    try {
      re = pyCompile(term, '');
    } catch (e) {
      throw new LookupError(`Unable to use "${term}" as a search parameter: ${(e as Error).message}`);
    }
    return names.filter((n) => re.test(n));
  });
};
