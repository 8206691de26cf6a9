import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** A place in a user's file; line and col are 1-based. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** Exit codes, as ansible-playbook's (plus 8 for --detailed-exitcode drift). */
export const ExitCode = {
  ok: 0,
  error: 1,
  hostFailed: 2,
  unreachable: 3,
  invalid: 4,
  badOptions: 5,
  changed: 8,
  interrupted: 99,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  pos?: SourcePos | undefined;
  hint?: string | undefined;
  cause?: unknown;
}

/** Base of every error we expect a user to see; never printed with a stack trace. */
export class SenexError extends Error {
  readonly pos: SourcePos | undefined;
  readonly hint: string | undefined;
  constructor(
    readonly code: string,
    message: string,
    details: ErrorDetails = {},
    readonly exitCode: ExitCode = ExitCode.error,
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SenexError';
    this.pos = details.pos;
    this.hint = details.hint;
  }
}

/** A playbook, role, inventory or vars file is wrong: nothing has run yet (exit 4). */
export class ValidationError extends SenexError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, message, details, ExitCode.invalid);
    this.name = 'ValidationError';
  }
}

/** Command-line options are wrong (exit 5). */
export class OptionsError extends SenexError {
  constructor(message: string, hint?: string) {
    super('E_OPTIONS', message, { hint }, ExitCode.badOptions);
    this.name = 'OptionsError';
  }
}

/** Several validation errors, reported together so one run shows them all. */
export class ValidationErrors extends SenexError {
  constructor(readonly errors: SenexError[]) {
    super('E_INVALID', `${errors.length} error${errors.length === 1 ? '' : 's'} found; nothing was run`, {}, ExitCode.invalid);
    this.name = 'ValidationErrors';
  }
}

/** Collects errors during loading so that all of them are shown at once. */
export class ErrorSink {
  readonly errors: SenexError[] = [];
  add(e: unknown): void {
    if (e instanceof ValidationErrors) this.errors.push(...e.errors);
    else if (e instanceof SenexError) this.errors.push(e);
    else throw e;
  }
  /** Runs fn; a user error is recorded and `fallback` returned, anything else propagates. */
  guard<T>(fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (e) {
      this.add(e);
      return fallback;
    }
  }
  throwIfAny(): void {
    if (this.errors.length === 1) throw this.errors[0];
    if (this.errors.length > 1) throw new ValidationErrors(this.errors);
  }
}

export function formatPos(pos: SourcePos): string {
  const file = relative(process.cwd(), pos.file) || pos.file;
  return `${file.startsWith('..') ? pos.file : file}:${pos.line}:${pos.col}`;
}

const sourceCache = new Map<string, string[] | null>();
function sourceLines(file: string): string[] | null {
  if (!sourceCache.has(file)) {
    try {
      sourceCache.set(file, readFileSync(file, 'utf8').split('\n'));
    } catch {
      sourceCache.set(file, null);
    }
  }
  return sourceCache.get(file) ?? null;
}

/** Two lines of context around pos, a '>' on the line and a caret under the column. */
export function codeFrame(pos: SourcePos): string {
  const lines = sourceLines(pos.file);
  if (!lines || pos.line < 1 || pos.line > lines.length) return '';
  const from = Math.max(1, pos.line - 2);
  const to = Math.min(lines.length, pos.line + 1);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    const mark = n === pos.line ? '>' : ' ';
    out.push(`${mark} ${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === pos.line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, pos.col - 1))}^`);
  }
  return out.join('\n');
}

/** One rendering of every user-facing error: where, what, the code frame, what to do. */
export function formatError(e: unknown): string {
  if (e instanceof ValidationErrors) {
    return [...e.errors.map(formatError), `${e.message}.`].join('\n\n');
  }
  if (e instanceof SenexError) {
    const where = e.pos ? `${formatPos(e.pos)}: ` : '';
    const parts = [`${where}error: ${e.message}`];
    if (e.pos) {
      const frame = codeFrame(e.pos);
      if (frame) parts.push(frame);
    }
    if (e.hint) parts.push(`hint: ${e.hint}`);
    return parts.join('\n');
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return `internal error (a bug in senex-play; please report it with this text):\n${msg}`;
}

/** One line of a user's file (1-based), for locating values inside it. */
export function sourceLine(file: string, line: number): string | undefined {
  return sourceLines(file)?.[line - 1];
}
