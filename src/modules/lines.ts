/** Splits text into lines that keep their terminators (Python's readlines on bytes). */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** A line without its terminator. */
export function bare(line: string): string {
  return line.replace(/\r?\n$/, '');
}

export const EOL = '\n';
