/**
 * Lexical work on Jinja2 template source that the engine needs before rendering: find the
 * `{{ }}` blocks (balanced braces, strings, raw blocks, comments) and the names they read.
 */

export interface Block {
  kind: 'expr' | 'stmt' | 'comment' | 'raw';
  start: number;
  end: number; // exclusive
  /** For expr/stmt: the code between the delimiters, without whitespace-control marks. */
  code: string;
  /** Offset of `code` in the source. */
  codeStart: number;
  open: string; // e.g. '{{-'
  close: string; // e.g. '-}}'
}

const RAW_OPEN = /^\{%[-+]?\s*raw\s*[-+]?%\}/;
const RAW_CLOSE = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;

export function isTemplated(s: string): boolean {
  return s.includes('{{') || s.includes('{%') || s.includes('{#');
}

/**
 * A template that renders to exactly `text` (Ansible's `!unsafe`: a value never templated).
 * Raw blocks hold the text, except where a raw block could not: a newline (trim_blocks would
 * eat it after a block tag) and `{%` (it could close the raw block) are printed as string
 * literals without any backslash (playbook values have their literals' backslashes doubled).
 */
export function literalTemplate(text: string): string {
  if (!isTemplated(text)) return text;
  return text
    .split(/(\n|\{%)/)
    .filter((part) => part !== '')
    .map((part) => (part === '\n' || part === '{%' ? `{{ '${part}' }}` : `{% raw %}${part}{% endraw %}`))
    .join('');
}

/** Scans to the closing delimiter at brace depth 0, outside string literals. */
function scanCode(src: string, from: number, close: string): number {
  let depth = 0;
  for (let i = from; i < src.length; i++) {
    const c = src[i]!;
    if (c === '"' || c === "'") {
      const q = c;
      for (i++; i < src.length && src[i] !== q; i++) if (src[i] === '\\') i++;
      continue;
    }
    if (depth === 0 && src.startsWith(close, i)) return i;
    if (depth === 0 && (c === '-' || c === '+') && src.startsWith(close, i + 1)) return i;
    if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') depth = Math.max(0, depth - 1);
  }
  return -1;
}

/** The template's blocks in order; text between them is not listed. */
export function blocks(src: string): Block[] {
  const out: Block[] = [];
  let i = 0;
  while (i < src.length) {
    const next = src.indexOf('{', i);
    if (next < 0 || next + 1 >= src.length) break;
    const two = src.slice(next, next + 2);
    if (two === '{#') {
      const end = src.indexOf('#}', next + 2);
      const stop = end < 0 ? src.length : end + 2;
      out.push({ kind: 'comment', start: next, end: stop, code: '', codeStart: next, open: '{#', close: '#}' });
      i = stop;
    } else if (two === '{%' && RAW_OPEN.test(src.slice(next))) {
      RAW_CLOSE.lastIndex = next;
      const m = RAW_CLOSE.exec(src);
      const stop = m ? m.index + m[0].length : src.length;
      out.push({ kind: 'raw', start: next, end: stop, code: '', codeStart: next, open: '', close: '' });
      i = stop;
    } else if (two === '{{' || two === '{%') {
      const close = two === '{{' ? '}}' : '%}';
      let codeStart = next + 2;
      let open = two;
      if (src[codeStart] === '-' || src[codeStart] === '+') {
        open += src[codeStart];
        codeStart++;
      }
      const end = scanCode(src, codeStart, close);
      if (end < 0) break; // unterminated: let the engine report the syntax error
      const trimMark = src[end] === '-' || src[end] === '+' ? src[end]! : '';
      const stop = end + trimMark.length + 2;
      out.push({ kind: two === '{{' ? 'expr' : 'stmt', start: next, end: stop, code: src.slice(codeStart, end), codeStart, open, close: trimMark + close });
      i = stop;
    } else {
      i = next + 1;
    }
  }
  return out;
}

/**
 * Routes every `{{ expr }}` through `filter`, so output is printed as Python would. A plain
 * variable path also passes whether it is defined and where it stands, since the filter
 * sees undefined and none alike. Line breaks are kept, so line numbers stay true.
 */
export function wrapOutputs(src: string, filter: string): string {
  let out = '';
  let last = 0;
  for (const b of blocks(src)) {
    if ((b.kind !== 'expr' && b.kind !== 'stmt') || b.code.trim() === '') continue;
    const fixed = pythonEscapes(b.code);
    if (b.kind === 'stmt') {
      if (fixed === b.code) continue;
      out += src.slice(last, b.start) + `${b.open}${fixed}${b.close}`;
    } else {
      const code = fixed.trim();
      // The code goes along for every output: the filter taints what a computation printed (taint.ts).
      const args = isVariablePath(code) ? `(${code}) is defined, ${JSON.stringify(code)}, ${lineCol(src, b.codeStart + b.code.indexOf(b.code.trim()))}` : `true, ${JSON.stringify(code)}`;
      out += src.slice(last, b.start) + `${b.open} (${fixed}) | ${filter}(${args}) ${b.close}`;
    }
    last = b.end;
  }
  return out + src.slice(last);
}

const STRING_LITERAL = /"(?:[^"\\]|\\[\s\S])*"|'(?:[^'\\]|\\[\s\S])*'/g;

/**
 * Ansible doubles every backslash in the string literals of a playbook value's `{{ }}`
 * blocks before Jinja2 reads them (its templar's `_escape_backslashes`): `"{{ x |
 * regex_replace('(a)', '\\1') }}"` in YAML reaches Jinja2 as `'\\1'`, a backreference, not
 * chr(1). Template files and conditions (`when:`) are read as Jinja2 reads them, without it.
 */
export function playbookBackslashes(src: string): string {
  if (!src.includes('\\') || !src.includes('{{')) return src;
  let out = '';
  let last = 0;
  for (const b of blocks(src)) {
    if (b.kind !== 'expr' || !b.code.includes('\\')) continue;
    out += src.slice(last, b.codeStart) + b.code.replace(STRING_LITERAL, (lit) => lit.replace(/\\/g, '\\\\'));
    last = b.codeStart + b.code.length;
  }
  return out + src.slice(last);
}

/**
 * Jinja2 decodes string literals with Python's unicode-escape: `'\\d'` stays
 * backslash-d, `'\\2'` is chr(2), `'\\x41'` is A. minijinja knows fewer escapes and
 * rejects the rest; rewrite each into one it reads the same way.
 */
export function pythonEscapes(code: string): string {
  if (!code.includes('\\')) return code;
  const u = (n: number) => `\\u${n.toString(16).padStart(4, '0')}`;
  return code.replace(STRING_LITERAL, (lit) =>
    lit.replace(/\\([0-7]{1,3}|x[0-9a-fA-F]{2}|[\s\S])/g, (m, e: string) => {
      if (/^[0-7]/.test(e)) return u(parseInt(e, 8));
      if (e.startsWith('x') && e.length === 3) return u(parseInt(e.slice(1), 16));
      if (e === 'a') return u(7);
      if (e === 'v') return u(11);
      return '\\\'"nrtbfu\n'.includes(e) ? m : `\\\\${e}`;
    }),
  );
}

function lineCol(src: string, offset: number): string {
  const before = src.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}, ${offset - before.lastIndexOf('\n')}`;
}

/** The code of the single `{{ expr }}` that makes up the whole string, if it is one. */
export function soleExpression(src: string): string | undefined {
  const bs = blocks(src);
  if (bs.length !== 1) return undefined;
  const b = bs[0]!;
  if (b.kind !== 'expr' || b.start !== 0 || b.end !== src.length) return undefined;
  return b.code.trim() || undefined;
}

const KEYWORDS = new Set([
  'and', 'or', 'not', 'in', 'is', 'if', 'else', 'elif', 'endif', 'for', 'endfor', 'set', 'endset', 'true', 'false', 'none',
  'True', 'False', 'None', 'macro', 'endmacro', 'call', 'endcall', 'filter', 'endfilter', 'with', 'endwith', 'block',
  'endblock', 'include', 'import', 'from', 'as', 'recursive', 'loop', 'raw', 'endraw', 'extends', 'without', 'context', 'ignore', 'missing',
]);

/** A plain variable path (`a`, `a.b`, `a['b'][0]`), whose undefined value is an error, not an empty string. */
export function isVariablePath(code: string): boolean {
  return /^\s*[A-Za-z_][\w]*(\s*(\.\s*\w+|\[[^\]]*\]))*\s*$/.test(code);
}

/**
 * Names an expression reads without guarding them by `is defined`, `is undefined`,
 * `is none` or `| default`; strict Jinja2 would fail on those if they are undefined.
 */
export function unguardedNames(code: string): string[] {
  const out: string[] = [];
  for (const name of referencedNames(code, true)) {
    const guard = new RegExp(`\\b${name}\\b[\\w.\\[\\]'"]*\\s*(is\\s+(not\\s+)?(defined|undefined)\\b|\\|\\s*(default|d)\\b)`);
    if (!guard.test(code)) out.push(name);
  }
  return out;
}

/** Top-level names an expression may read (over-approximate: attribute names and filters are left out). */
export function namesInCode(code: string, into: Set<string>): void {
  const noStrings = code.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const re = /([.|]\s*|\bis\s+(?:not\s+)?)?\b([A-Za-z_][A-Za-z0-9_]*)\b(\s*=(?!=))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(noStrings))) {
    if (m[1] || m[3] || KEYWORDS.has(m[2]!)) continue;
    into.add(m[2]!);
  }
}

/** Names a template (or a `when:` expression, with `bare`) may read from its context. */
export function referencedNames(src: string, bare = false): Set<string> {
  const names = new Set<string>();
  if (bare) namesInCode(src, names);
  else for (const b of blocks(src)) if (b.kind === 'expr' || b.kind === 'stmt') namesInCode(b.code, names);
  return names;
}
