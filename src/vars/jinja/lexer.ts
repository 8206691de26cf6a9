import { syntaxError } from './errors.js';

/** Lexing options, as Ansible configures Jinja2. */
export interface LexOptions {
  trimBlocks: boolean;
  lstripBlocks: boolean;
}

export type TokenType =
  | 'data' | 'var_begin' | 'var_end' | 'block_begin' | 'block_end'
  | 'name' | 'string' | 'int' | 'float' | 'op' | 'eof';

export interface Token {
  type: TokenType;
  value: string;
  /** Offsets in the template source. */
  start: number;
  end: number;
}

const OPERATORS = ['**', '//', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '~', '(', ')', '[', ']', '{', '}', ',', '.', ':', '|', '=', '<', '>', ';'];
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(\d[\d_]*)(\.\d[\d_]*)?([eE][+-]?\d+)?/y;
const RAW_BLOCK = /\{%([-+]?)\s*raw\s*([-+]?)%\}/y;
const END_RAW = /\{%([-+]?)\s*endraw\s*([-+]?)%\}/g;

/** Python's unicode-escape decoding of a string literal's body, as Jinja2 reads literals. */
export function decodeString(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|N\{[^}]*\}|[\s\S])/g, (m, e: string) => {
    switch (e[0]) {
      case 'x': case 'u': case 'U':
        return String.fromCodePoint(parseInt(e.slice(1), 16));
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'a': return '\x07';
      case 'b': return '\b';
      case '\\': return '\\';
      case "'": return "'";
      case '"': return '"';
      case '\n': return '';
      default:
        return /^[0-7]/.test(e) ? String.fromCharCode(parseInt(e, 8)) : m;
    }
  });
}

/**
 * Splits a template into data and tag tokens, with Jinja2's whitespace control: `-` strips
 * whitespace on its side, trim_blocks drops the first newline after a block or comment
 * tag, `+` disables either. Raw blocks become data.
 */
export function tokenize(src: string, opts: LexOptions): Token[] {
  const out: Token[] = [];
  let pos = 0;
  let trimNext = false; // the previous tag ended with '-'
  let trimNewline = false; // trim_blocks after the previous block/comment tag
  const pushData = (text: string, start: number, stripRight: boolean) => {
    if (trimNext) {
      const stripped = text.replace(/^\s+/, '');
      start += text.length - stripped.length;
      text = stripped;
    } else if (trimNewline) {
      if (text.startsWith('\r\n')) { text = text.slice(2); start += 2; }
      else if (text.startsWith('\n')) { text = text.slice(1); start += 1; }
    }
    if (stripRight) text = text.replace(/\s+$/, '');
    trimNext = false;
    trimNewline = false;
    if (text) out.push({ type: 'data', value: text, start, end: start + text.length });
  };
  while (pos < src.length) {
    let next = src.indexOf('{', pos);
    while (next >= 0 && !'{%#'.includes(src[next + 1] ?? '')) next = src.indexOf('{', next + 1);
    if (next < 0) {
      pushData(src.slice(pos), pos, false);
      break;
    }
    const kind = src[next + 1]!;
    const mark = src[next + 2];
    const stripLeft = mark === '-';
    let text = src.slice(pos, next);
    // lstrip_blocks: a block or comment tag alone on its line takes the line's indent with it
    if (opts.lstripBlocks && kind !== '{' && mark !== '+') text = text.replace(/(^|\n)[ \t]+$/, '$1');
    pushData(text, pos, stripLeft);
    const afterOpen = next + 2 + (mark === '-' || mark === '+' ? 1 : 0);
    if (kind === '#') {
      const close = src.indexOf('#}', afterOpen);
      if (close < 0) throw syntaxError('unexpected end of comment', [next, src.length]);
      trimNext = src[close - 1] === '-';
      trimNewline = opts.trimBlocks && src[close - 1] !== '+';
      pos = close + 2;
      continue;
    }
    if (kind === '%') {
      RAW_BLOCK.lastIndex = next;
      const raw = RAW_BLOCK.exec(src);
      if (raw) {
        END_RAW.lastIndex = raw.index + raw[0].length;
        const end = END_RAW.exec(src);
        if (!end) throw syntaxError('unexpected end of raw block', [next, src.length]);
        trimNext = raw[2] === '-';
        trimNewline = false; // Jinja2 applies trim_blocks after endraw, not after raw
        pushData(src.slice(raw.index + raw[0].length, end.index), raw.index + raw[0].length, end[1] === '-');
        trimNext = end[2] === '-';
        trimNewline = opts.trimBlocks && end[2] !== '+';
        pos = end.index + end[0].length;
        continue;
      }
    }
    const isVar = kind === '{';
    out.push({ type: isVar ? 'var_begin' : 'block_begin', value: src.slice(next, afterOpen), start: next, end: afterOpen });
    pos = lexCode(src, afterOpen, isVar ? '}}' : '%}', out);
    const endTok = out[out.length - 1]!;
    trimNext = endTok.value.startsWith('-');
    trimNewline = !isVar && opts.trimBlocks && !endTok.value.startsWith('+');
  }
  out.push({ type: 'eof', value: '', start: src.length, end: src.length });
  return out;
}

/** The tokens of a bare expression (evalExpr), ending in eof. */
export function tokenizeExpr(src: string): Token[] {
  const out: Token[] = [];
  lexCode(src, 0, null, out);
  out.push({ type: 'eof', value: '', start: src.length, end: src.length });
  return out;
}

/** Lexes expression tokens up to the closing delimiter at bracket depth 0 (or the end, for none); returns the offset after it. */
function lexCode(src: string, pos: number, close: string | null, out: Token[]): number {
  let depth = 0;
  const endType = close === '}}' ? 'var_end' : 'block_end';
  while (pos < src.length) {
    const c = src[pos]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { pos++; continue; }
    if (depth === 0 && close !== null) {
      for (const m of ['-', '+', '']) {
        if (src.startsWith(m + close, pos)) {
          out.push({ type: endType, value: m + close, start: pos, end: pos + m.length + 2 });
          return pos + m.length + 2;
        }
      }
    }
    if (c === '"' || c === "'") {
      let i = pos + 1;
      while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) throw syntaxError('unexpected end of string', [pos, src.length]);
      out.push({ type: 'string', value: decodeString(src.slice(pos + 1, i)), start: pos, end: i + 1 });
      pos = i + 1;
      continue;
    }
    NUMBER.lastIndex = pos;
    const num = /\d/.test(c) ? NUMBER.exec(src) : null;
    if (num) {
      const isFloat = num[2] !== undefined || num[3] !== undefined;
      out.push({ type: isFloat ? 'float' : 'int', value: num[0].replace(/_/g, ''), start: pos, end: pos + num[0].length });
      pos += num[0].length;
      continue;
    }
    NAME.lastIndex = pos;
    const name = NAME.exec(src);
    if (name) {
      out.push({ type: 'name', value: name[0], start: pos, end: pos + name[0].length });
      pos += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, pos));
    if (!op) throw syntaxError(`unexpected character ${JSON.stringify(c)}`, [pos, pos + 1]);
    if ('([{'.includes(op)) depth++;
    else if (')]}'.includes(op)) depth = Math.max(0, depth - 1);
    out.push({ type: 'op', value: op, start: pos, end: pos + op.length });
    pos += op.length;
  }
  if (close === null) return pos;
  // point at the last token, as the unclosed tag's last words are what the author sees
  const last = out[out.length - 1];
  throw syntaxError(`unexpected end of input, expected ${close === '}}' ? 'end of variable block' : 'end of block'}`, last ? [last.start, last.end] : [src.length, src.length]);
}
