/**
 * Errors of the Jinja engine. The message has the shape minijinja's debug messages have
 * (kind and detail, `(in NAME:LINE)`, the failing line and a caret span under it), which
 * template.ts reads; the fields carry the same facts for code that wants them directly.
 * The message never holds variable values: they may be secrets.
 */
export class JinjaError extends Error {
  /** 1-based line and column of the failing code in its template, when known. */
  line?: number;
  col?: number;
  /** The source text the error points at (the undefined expression, the bad token). */
  spanText?: string;
  constructor(
    readonly kind: string,
    readonly detail: string,
    /** Offset range of the failing code in the template source, when known. */
    public span?: [number, number],
  ) {
    super(detail ? `${kind}: ${detail}` : kind);
    this.name = 'JinjaError';
  }

  /** Fills in where the error happened (once: the innermost location wins). */
  locate(templateName: string, source: string): this {
    if (this.line !== undefined || this.message.includes(' (in ')) return this;
    const head = this.detail ? `${this.kind}: ${this.detail}` : this.kind;
    if (!this.span) {
      this.message = `${head} (in ${templateName})`;
      return this;
    }
    const [start, end] = this.span;
    const before = source.slice(0, start);
    const line = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    const lineEnd = source.indexOf('\n', start) < 0 ? source.length : source.indexOf('\n', start);
    const text = source.slice(lineStart, lineEnd);
    const col0 = start - lineStart;
    const width = Math.max(1, Math.min(end, lineEnd) - start);
    this.line = line;
    this.col = col0 + 1;
    this.spanText = source.slice(start, Math.min(end, lineEnd));
    const prefix = `${String(line).padStart(4)} > `;
    this.message = `${head} (in ${templateName}:${line})\n${prefix}${text}\n${'     i'.padEnd(prefix.length + col0)}${'^'.repeat(width)} ${this.kind}`;
    return this;
  }
}

export const syntaxError = (detail: string, span?: [number, number]) => new JinjaError('syntax error', detail, span);
export const invalidOperation = (detail: string, span?: [number, number]) => new JinjaError('invalid operation', detail, span);
export const undefinedValue = (span?: [number, number]) => new JinjaError('undefined value', '', span);
