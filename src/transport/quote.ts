/**
 * The one POSIX-shell quoter. Every value that reaches a remote shell goes through here:
 * commands are argv arrays joined by `shellJoin`, or `sh` template strings whose
 * interpolations are quoted.
 */
export function quote(value: string): string {
  if (value === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** An argv array as one shell command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/** Marks a piece of shell text as trusted (already built from quoted parts). */
export class RawShell {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * Template tag: literal parts are trusted shell, every interpolation is quoted
 * (arrays become quoted words; RawShell passes through).
 */
export function sh(parts: TemplateStringsArray, ...values: Array<string | number | readonly string[] | RawShell>): string {
  let out = parts[0]!;
  values.forEach((v, i) => {
    if (v instanceof RawShell) out += v.text;
    else if (Array.isArray(v)) out += shellJoin(v as readonly string[]);
    else out += quote(String(v));
    out += parts[i + 1]!;
  });
  return out;
}
