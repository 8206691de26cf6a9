/** Python's string formatting: `'%s' % x` and `'{}'.format(x)`, with their format specs. */
import { invalidOperation } from './errors.js';
import { dictGet, floatRepr, hasMissing, isDict, isFloat, isTuple, num, pyRepr, pyStr, type Kwargs } from './values.js';

function pad(s: string, width: number, align: string, fill: string): string {
  if (s.length >= width) return s;
  const n = width - s.length;
  if (align === '<') return s + fill.repeat(n);
  if (align === '^') return fill.repeat(Math.floor(n / 2)) + s + fill.repeat(n - Math.floor(n / 2));
  if (align === '=') {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + fill.repeat(n) + s.slice(sign.length);
  }
  return fill.repeat(n) + s;
}

/** toFixed with Python's rounding: an exact tie (2.25 to one place) goes to the even digit. */
function fixed(n: number, prec: number): string {
  const scaled = n * 10 ** prec;
  if (prec <= 15 && !Number.isInteger(scaled) && Number.isInteger(scaled * 2) && Math.abs(scaled) < 2 ** 52) {
    const down = Math.floor(scaled);
    const even = down % 2 === 0 ? down : down + 1;
    return (even / 10 ** prec).toFixed(prec);
  }
  return n.toFixed(prec);
}

function expo(n: number, prec: number, upper: boolean): string {
  const s = n.toExponential(prec).replace(/e([+-])(\d)$/, 'e$10$2');
  return upper ? s.toUpperCase() : s;
}

function general(n: number, prec: number, alt: boolean): string {
  const p = prec === 0 ? 1 : prec;
  const exp = n === 0 ? 0 : Math.floor(Math.log10(Math.abs(n)));
  let s = exp < -4 || exp >= p ? expo(n, p - 1, false) : n.toFixed(Math.max(0, p - 1 - exp));
  if (!alt) s = s.replace(/\.?0+(?=e|$)/, (m) => (m.startsWith('.') || s.includes('.') ? '' : m));
  return s;
}

/** One number conversion (d, f, e, g, x, o, %) with sign handling. */
function number(v: unknown, type: string, prec: number | undefined, sign: string, alt: boolean): string {
  const n = num(v);
  if (typeof n !== 'number' || Number.isNaN(n) && type === 'd') throw invalidOperation(`a number is required, not ${pyRepr(v)}`);
  const neg = n < 0 || Object.is(n, -0);
  const a = Math.abs(n);
  let body: string;
  switch (type) {
    case 'd': case 'i': case 'u': case 'n': body = String(Math.trunc(a)); break;
    case 'f': case 'F': body = fixed(a, prec ?? 6); break;
    case 'e': case 'E': body = expo(a, prec ?? 6, type === 'E'); break;
    case 'g': case 'G': body = general(a, prec ?? 6, alt); break;
    case 'x': body = (alt ? '0x' : '') + Math.trunc(a).toString(16); break;
    case 'X': body = (alt ? '0X' : '') + Math.trunc(a).toString(16).toUpperCase(); break;
    case 'o': body = (alt ? '0o' : '') + Math.trunc(a).toString(8); break;
    case 'b': body = (alt ? '0b' : '') + Math.trunc(a).toString(2); break;
    case '%': body = fixed(a * 100, prec ?? 6) + '%'; break;
    default: body = isFloat(v) ? floatRepr(a) : String(a);
  }
  return (neg ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '') + body;
}

/** `'%-5s|%05.1f' % (a, b)`: Python's printf-style formatting. */
export function percentFormat(fmt: string, arg: unknown): string {
  const mapping = isDict(arg) ? arg : undefined;
  const args = isTuple(arg) ? (arg as unknown[]) : [arg];
  let i = 0;
  const out = fmt.replace(/%(?:\(([^)]*)\))?([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])/g, (_m, key: string | undefined, flags: string, w: string | undefined, p: string | undefined, type: string) => {
    if (type === '%') return '%';
    const take = () => {
      if (i >= args.length) throw invalidOperation('not enough arguments for format string');
      return args[i++];
    };
    const width = w === '*' ? Number(take()) : w ? Number(w) : 0;
    const prec = p === '*' ? Number(take()) : p !== undefined ? Number(p) : undefined;
    let v: unknown;
    if (key !== undefined && mapping) {
      v = dictGet(mapping, key);
      if (hasMissing(v)) throw invalidOperation(`format key ${pyRepr(key)} not found`);
    } else v = take();
    let s: string;
    if (type === 's') s = pyStr(v);
    else if (type === 'r' || type === 'a') s = pyRepr(v);
    else if (type === 'c') s = typeof v === 'string' ? v : String.fromCodePoint(num(v));
    else s = number(v, type, prec, flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '', flags.includes('#'));
    if ((type === 's' || type === 'r') && prec !== undefined) s = s.slice(0, prec);
    if (flags.includes('-')) return pad(s, width, '<', ' ');
    if (flags.includes('0') && !'srca'.includes(type)) return pad(s, width, '=', '0');
    return pad(s, width, '>', ' ');
  });
  if (!mapping && i < args.length && !(args.length === 1 && i === 0 && !fmt.includes('%'))) {
    if (i < args.length) throw invalidOperation('not all arguments converted during string formatting');
  }
  return out;
}

/** A value formatted by a `str.format` spec (`>10`, `.2f`, `05d`, `,`). */
export function formatSpec(v: unknown, spec: string): string {
  const m = /^(?:(.)?([<>=^]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s.exec(spec);
  if (!m) throw invalidOperation(`invalid format specifier '${spec}'`);
  const [, fill0, align0, sign = '', alt, zero, w, group, p, type] = m;
  const width = w ? Number(w) : 0;
  const prec = p !== undefined ? Number(p) : undefined;
  let s: string;
  const numeric = typeof v === 'number' || typeof v === 'boolean' || isFloat(v);
  if (type === 's' || (!type && !numeric)) {
    s = pyStr(v);
    if (prec !== undefined) s = s.slice(0, prec);
  } else if (type === 'c') s = String.fromCodePoint(num(v));
  else {
    s = number(v, type ?? (isFloat(v) && prec !== undefined ? 'g' : ''), prec, sign, Boolean(alt));
    if (group) s = s.replace(/^([-+ ]?)(\d+)/, (_x, sg: string, digits: string) => sg + digits.replace(/\B(?=(\d{3})+(?!\d))/g, group));
  }
  const align = align0 ?? (zero ? '=' : numeric && type !== 's' ? '>' : '<');
  return pad(s, width, align, fill0 ?? (zero && !align0 ? '0' : ' '));
}

/** `'{} {name} {0[1]}'.format(...)`. */
export function strFormat(fmt: string, args: unknown[], kwargs: Kwargs, getField: (obj: unknown, key: string) => unknown): string {
  let auto = 0;
  return fmt.replace(/\{\{|\}\}|\{([^{}!:]*)(?:!([rsa]))?(?::([^{}]*))?\}/g, (m, field: string | undefined, conv: string | undefined, spec: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const [head = '', ...rest] = (field ?? '').split(/(?=[.[])/);
    let v: unknown;
    if (head === '') v = args[auto++];
    else if (/^\d+$/.test(head)) v = args[Number(head)];
    else {
      if (!kwargs.has(head)) throw invalidOperation(`format key '${head}' is missing`);
      v = kwargs.get(head);
    }
    if (v === undefined && head === '' ) throw invalidOperation('Replacement index out of range for positional args tuple');
    for (const part of rest) v = getField(v, part.startsWith('.') ? part.slice(1) : part.slice(1, -1));
    if (conv === 'r' || conv === 'a') v = pyRepr(v);
    else if (conv === 's') v = pyStr(v);
    return formatSpec(v, spec ?? '');
  });
}
